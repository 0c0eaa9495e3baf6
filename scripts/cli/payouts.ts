/**
 * `payouts balances|list|create|process|complete|fail|export|pay-all|yearly`: the admin payout API from the command line,
 * over the same services (same locks, same validation). Amounts are minor units (1999 = 19.99 usd).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { neutraliseFormula } from '../../server/lib/csv.ts';
import { print, type CliContext } from './context.ts';

/** An integer option (commander hands strings). */
const int = (v: string) => {
  if (!/^\d+$/.test(v)) throw new Error(`${v} is not a whole number of minor units`);
  return Number(v);
};

export function registerPayoutCommands(cli: Command, ctx: CliContext): void {
  const payouts = cli.command('payouts').description("a program's balances and payouts");
  payouts
    .command('balances')
    .description('what each affiliate is owed, per currency (minor units)')
    .requiredOption('--program <id>', 'program id')
    .option('--affiliate <id>', 'one affiliate')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const rows = await ctx.withProgram(o.program, async (s, p) =>
        s.payouts.balances(p, { affiliateId: o.affiliate }),
      );
      if (o.json) print(rows, true);
      else
        for (const b of rows)
          console.log(
            `${b.affiliateId} ${b.currency}: balance ${b.balance} (approved ${b.approved}, clawbacks ${b.clawbacks}, pending ${b.pending}, on hold ${b.onHold}, in payouts ${b.inPayouts}, paid ${b.paid})`,
          );
    });
  payouts
    .command('list')
    .description('payouts, newest first')
    .requiredOption('--program <id>', 'program id')
    .option('--status <status>', 'pending | processing | completed | failed')
    .option('--batch <id>', 'one generate-payouts batch')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const rows = await ctx.withProgram(o.program, async (s, p) =>
        s.payouts.list(p, { status: o.status, batchId: o.batch }),
      );
      if (o.json) print(rows, true);
      else
        for (const p of rows)
          console.log(
            `${p.id} ${p.status} ${p.amount} ${p.currency} ${p.method} → ${p.affiliateId}${p.reference ? ` ref ${p.reference}` : ''}`,
          );
    });
  payouts
    .command('create')
    .description("pay an affiliate's balance by hand (never above it)")
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--affiliate <id>', 'affiliate id')
    .option('--currency <code>', "default: the program's currency")
    .option('--amount <minor>', 'exact amount in minor units (default: the whole balance)', int)
    .option(
      '--method <method>',
      'paypal | bank_transfer | store_credit | check | stripe_connect (default: the affiliate’s)',
    )
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, p) =>
        s.payouts.create(p, { affiliateId: o.affiliate, currency: o.currency, amount: o.amount, method: o.method }),
      );
      print(out, Boolean(o.json));
    });
  for (const [name, description] of [
    ['process', 'start paying (stripe_connect: make the Stripe transfer)'],
    ['complete', 'the money was sent: needs --reference'],
    ['fail', 'the payment did not happen: needs --reason; its commissions return to the balance'],
  ] as const) {
    payouts
      .command(name)
      .description(description)
      .argument('<payoutId>')
      .requiredOption('--program <id>', 'program id')
      .option('--reference <text>', 'complete: the payment reference')
      .option('--reason <text>', 'fail: why')
      .option('--json', 'print JSON')
      .action(async (id: string, o) => {
        const out = await ctx.withProgram(o.program, async (s, p) => {
          if (name === 'process') return s.payouts.process(p, id);
          if (name === 'complete') return s.payouts.complete(p, id, { reference: o.reference });
          return s.payouts.fail(p, id, { reason: o.reason });
        });
        print(out, Boolean(o.json));
      });
  }
  payouts
    .command('export')
    .description('payment file of open payouts: PayPal Payouts CSV or Wise batch CSV')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--format <format>', 'paypal | wise')
    .option('--batch <id>', 'one generate-payouts batch')
    .option('--currency <code>', 'one currency (PayPal takes one per file)')
    .option('--out <file>', 'write here instead of standard output')
    .action(async (o) => {
      const file = await ctx.withProgram(o.program, async (s, p) =>
        s.payouts.exportCsv(p, { format: o.format, batchId: o.batch, currency: o.currency }),
      );
      if (o.out) {
        writeFileSync(o.out, file.csv);
        console.error(`${file.count} payout(s) written to ${o.out}`);
      } else process.stdout.write(file.csv);
    });
  payouts
    .command('pay-all')
    .description(
      'create every due payout and pay it: Stripe transfers for stripe_connect, PayPal/Wise files for the others',
    )
    .requiredOption('--program <id>', 'program id')
    .option('--currency <code>', 'only this currency')
    .option('--dry-run', 'apply the rules and ask Stripe, but create and send nothing')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const r = await ctx.withProgram(o.program, async (s, p) =>
        s.payAll.payAll(p, { currency: o.currency, dryRun: Boolean(o.dryRun) }),
      );
      if (o.json) return print(r, true);
      const say = (
        what: string,
        l: { payoutId: string | null; affiliateId: string; amount: number; currency: string },
      ) => console.log(`${what} ${l.payoutId ?? '(dry run)'} ${l.amount} ${l.currency} → ${l.affiliateId}`);
      for (const l of r.paid) say(r.dryRun ? 'would pay' : 'paid', l);
      for (const l of r.exported) say(r.dryRun ? 'would export' : 'exported', l);
      for (const l of r.manual) say('pay by hand', l);
      for (const f of r.exports) console.log(`file: ${f.format} ${f.currency ?? ''} (${f.count}) ${f.url}`);
      for (const n of r.notPaid)
        console.log(`not paid ${n.affiliateId} ${n.amount} ${n.currency}: ${n.reason}: ${n.message}`);
    });
  payouts
    .command('yearly')
    .description('paid in a year (UTC, by payout completion) per affiliate and currency, for 1099-NEC; tax ids masked')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--year <yyyy>', 'calendar year')
    .option('--csv', 'print CSV (what GET /api/v1/earnings/yearly.csv answers)')
    .option('--out <file>', 'with --csv: write here instead of standard output')
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (o.csv) {
        const { rows } = await ctx.withProgram(o.program, async (s, p) =>
          s.earnings.yearlyCsvRows(p.id, { year: o.year }),
        );
        const [header, ...rest] = rows;
        const text = stringify([header!, ...rest.map((r) => r.map(neutraliseFormula))]);
        if (o.out) {
          writeFileSync(o.out, text);
          console.error(`${rest.length} row(s) written to ${o.out}`);
        } else process.stdout.write(text);
        return;
      }
      const r = await ctx.withProgram(o.program, async (s, p) => s.earnings.yearly(p.id, { year: o.year }));
      if (o.json) return print(r, true);
      for (const row of r.data)
        console.log(
          `${r.year} ${row.affiliateId} ${row.email} ${row.legalName ?? '(no legal name)'} ${row.country ?? '--'} ${row.taxId ?? '(no tax id)'}: ${row.totalPaid} ${row.currency} in ${row.payouts} payout(s)`,
        );
    });
}
