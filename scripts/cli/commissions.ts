/**
 * `commissions approve|reject <ids...>`: the merchant's decision on one or several commissions (at most 100), through
 * the same service function as `POST /api/v1/commissions/bulk` and the console's bulk buttons. Prints one line per
 * id (`changed`, `unchanged` when it already had that status, or the error); exits 1 when any id was refused.
 */
import type { Command } from 'commander';
import { print, type CliContext } from './context.ts';

export function registerCommissionCommands(cli: Command, ctx: CliContext): void {
  const group = cli.command('commissions').description("a program's commissions: approve or reject them");
  for (const action of ['approve', 'reject'] as const) {
    group
      .command(`${action} <ids...>`)
      .description(
        `${action} pending or held commissions (up to 100 ids)${action === 'reject' ? ', or approved ones no payout covers' : ''}`,
      )
      .requiredOption('--program <id>', 'program id')
      .option('--reason <text>', 'why, kept in the history')
      .option('--json', 'print JSON')
      .action(async (ids: string[], o) => {
        const results = await ctx.withProgram(o.program, (s, program) =>
          s.commissions.decideMany(program, { action, ids, reason: o.reason }),
        );
        if (o.json) print({ results }, true);
        else
          for (const r of results)
            console.log(
              `${r.id}: ${r.outcome === 'error' ? `error ${r.error!.code}: ${r.error!.message}` : `${r.outcome} (${r.commission!.status})`}`,
            );
        if (results.some((r) => r.outcome === 'error')) process.exitCode = 1;
      });
  }
}
