/** `affiliate create|approve` (print the one-time "set your password" link), `affiliate update|delete`. */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerAffiliateCommands(cli: Command, ctx: CliContext): void {
  const affiliate = cli.command('affiliate').description("a program's affiliates");
  affiliate
    .command('create')
    .description('create an affiliate (approved with --approve, which also prints a set-password link)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--email <email>', 'e-mail')
    .requiredOption('--name <name>', 'name')
    .option('--code <code>', 'referral code (generated when omitted)')
    .option('--approve', 'approve at once')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const a = await s.affiliates.create(program, {
          email: o.email,
          name: o.name,
          code: o.code,
          status: o.approve ? 'approved' : 'pending',
        });
        return o.approve ? { ...a, setPasswordUrl: await s.partner.issueSetPasswordLink(a) } : a;
      });
      print(out, Boolean(o.json));
    });
  affiliate
    .command('approve')
    .description('approve an affiliate and print their one-time set-password link')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const a = await s.affiliates.transition(program, o.id, 'approve');
        return { ...a, setPasswordUrl: await s.partner.issueSetPasswordLink(a) };
      });
      print(out, Boolean(o.json));
    });
  affiliate
    .command('update')
    .description("change an affiliate's e-mail, name or code")
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--email <email>', 'new e-mail')
    .option('--name <name>', 'new name')
    .option('--code <code>', 'new referral code (?ref=<old code> stops attributing)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const patch = { email: o.email, name: o.name, code: o.code };
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      print(await ctx.withProgram(o.program, (s, p) => s.affiliates.update(p, o.id, defined)), Boolean(o.json));
    });
  affiliate
    .command('delete')
    .description('delete an affiliate with nothing on record (one with clicks or sales: suspend it instead)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .action(async (o) => {
      await ctx.withProgram(o.program, (s, p) => s.affiliates.remove(p, o.id));
      console.log('affiliate deleted');
    });
}
