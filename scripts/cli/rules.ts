/**
 * `rules preview`: what a sale or lead would earn and by which commission rule, through the same service function
 * as `POST /api/v1/commission-rules/preview` and the console's preview form (the engine real Stripe sales use).
 * Amounts are minor units (`--amount 10000` = 100.00 USD). Writes nothing.
 */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

const integer = (v: string) => (/^-?\d+$/.test(v) ? Number(v) : v);

export function registerRuleCommands(cli: Command, ctx: CliContext): void {
  const group = cli.command('rules').description("a program's commission rules");
  group
    .command('preview')
    .description('what a sale (or lead) would earn, and by which rule')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--currency <code>', 'ISO 4217 currency, e.g. usd')
    .option('--amount <minor>', 'sale amount in minor units, excluding tax (required for a sale)', integer)
    .option('--kind <kind>', 'sale or lead', 'sale')
    .option('--product <id>', 'Stripe product bought (prod_…)')
    .option('--price <id>', 'Stripe price bought (price_…)')
    .option('--affiliate <id>', 'the affiliate (aff_…); without it per-affiliate rules do not match')
    .option('--month <n>', "the customer's payment month (1 = first payment)", integer)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const preview = await ctx.withProgram(o.program, (s, program) =>
        s.commissionRules.preview(program, {
          kind: o.kind,
          amount: o.amount,
          currency: o.currency,
          productId: o.product,
          priceId: o.price,
          affiliateId: o.affiliate,
          recurringMonth: o.month,
        }),
      );
      if (o.json) print(preview, true);
      else console.log(preview.explanation);
    });
}
