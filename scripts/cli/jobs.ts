/** `jobs run <name>`: run a scheduled job now, in this process. */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

const JOBS = ['approve-commissions', 'generate-payouts'];

export function registerJobCommands(cli: Command, ctx: CliContext): void {
  const jobs = cli.command('jobs').description('scheduled jobs');
  jobs
    .command('run')
    .description(`run a job now: ${JOBS.join(', ')}`)
    .argument('<name>', 'job name')
    .option('--skip-hold', 'approve-commissions: approve every pending commission, ignoring the hold period')
    .option('--force', "generate-payouts: pay out now, off the programs' schedules")
    .option('--program <id>', 'only this program')
    .action(async (name: string, o) => {
      if (name === 'approve-commissions') {
        const approved = await ctx.withServices((s) =>
          s.commissions.approveDue({ programId: o.program, skipHold: Boolean(o.skipHold) }),
        );
        console.log(`approve-commissions: ${approved} commission(s) approved`);
        return;
      }
      if (name === 'generate-payouts') {
        const run = await ctx.withServices((s) =>
          s.payouts.generateDue({ programId: o.program, force: Boolean(o.force) }),
        );
        console.log(
          `generate-payouts: ${run.payouts} payout(s) created${run.batches.length ? ` (batches ${run.batches.join(', ')})` : ''}`,
        );
        return;
      }
      throw new Error(`Unknown job ${name} (one of ${JOBS.join(', ')})`);
    });
}
