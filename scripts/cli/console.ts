/**
 * `console invite|members|setup-link`: the merchant console's members (console.service), for an operator at the
 * server: add a member with a role (a new user gets a one-time `/app/#invite=…` link), list them, or print a fresh
 * first-run setup link while no program and no console user exist (the one in the start-up log stops working).
 */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerConsoleCommands(cli: Command, ctx: CliContext): void {
  const group = cli.command('console').description('the merchant console (/app/): members and first-run setup');
  group
    .command('invite')
    .description('give an e-mail a role in a program; prints the one-time invitation link for a new user')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--email <email>', 'the member’s e-mail address')
    .requiredOption('--role <role>', 'owner, admin or viewer')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(
        await ctx.withProgram(o.program, (s, p) => s.console.addMember(p.id, { email: o.email, role: o.role })),
        Boolean(o.json),
      );
    });
  group
    .command('members')
    .description('list a program’s console members and their roles')
    .requiredOption('--program <id>', 'program id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      print(await ctx.withProgram(o.program, (s, p) => s.console.members(p.id)), Boolean(o.json));
    });
  group
    .command('setup-link')
    .description('print a new one-time setup link (only before the first program and console user exist)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const setupUrl = await ctx.withServices((s) => s.console.issueSetupToken());
      if (!setupUrl) throw new Error('Setup is done (a program or a console user exists); log in at /app/login');
      print({ setupUrl }, Boolean(o.json));
    });
}
