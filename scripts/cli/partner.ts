/**
 * `partner invite`, `partner reset-link`, `partner applications`: the partner side from the command line.
 * Links are printed (and, for invites, e-mailed when SMTP_URL is set), so a merchant without SMTP can hand
 * them over by hand.
 */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerPartnerCommands(cli: Command, ctx: CliContext): void {
  const partner = cli.command('partner').description('partner dashboard access');
  partner
    .command('invite')
    .description('issue a fresh one-time set-password link for an approved affiliate (e-mailed when SMTP_URL is set)')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const { setPasswordUrl, emailSent } = await s.partner.invite(program, o.id);
        return { affiliateId: o.id, setPasswordUrl, emailSent };
      });
      print(out, Boolean(o.json));
    });
  partner
    .command('reset-link')
    .description(
      'print a one-time password reset link (valid one hour) for an approved affiliate, without e-mailing it',
    )
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--id <affiliateId>', 'affiliate id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const a = await s.affiliates.get(program, o.id);
        if (a.status !== 'approved') throw new Error(`Affiliate ${o.id} is ${a.status}, not approved`);
        return {
          affiliateId: a.id,
          email: a.email,
          resetPasswordUrl: await s.partner.issueSetPasswordLink(a, 'reset_password'),
        };
      });
      print(out, Boolean(o.json));
    });
  partner
    .command('applications')
    .description('list pending applications with their website and how they promote')
    .requiredOption('--program <id>', 'program id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.withProgram(o.program, async (s, program) => {
        const pending = await s.affiliates.list(program, { status: 'pending', limit: 500 });
        const apps = await s.partner.applications(
          program,
          pending.map((a) => a.id),
        );
        return pending.map((a) => ({ id: a.id, name: a.name, email: a.email, ...(apps.get(a.id) ?? {}) }));
      });
      if (o.json) print(out, true);
      else if (out.length === 0) console.log('No pending applications.');
      else
        for (const a of out)
          console.log(`${a.id}  ${a.name} <${a.email}>  ${a.website ?? '-'}\n    ${a.promotionMethod ?? ''}`);
    });
}
