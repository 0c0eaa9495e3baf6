/** `jobs run <name>`: run a scheduled job now, in this process. */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

export function registerJobCommands(cli: Command, ctx: CliContext): void {
  const jobs = cli.command('jobs').description('scheduled jobs');
  jobs
    .command('run')
    .description('run a job now: approve-commissions')
    .argument('<name>', 'job name')
    .option('--skip-hold', 'approve-commissions: approve every pending commission, ignoring the hold period')
    .option('--program <id>', 'only this program')
    .action(async (name: string, o) => {
      if (name !== 'approve-commissions') throw new Error(`Unknown job ${name}`);
      const approved = await ctx.withServices((s) => s.commissions.approveDue({ programId: o.program, skipHold: Boolean(o.skipHold) }));
      console.log(`approve-commissions: ${approved} commission(s) approved`);
    });
}
