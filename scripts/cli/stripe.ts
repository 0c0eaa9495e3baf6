/**
 * `stripe …`: the Stripe side of a program.
 * - `stripe replay --event evt_… | --since <date>`: process stored webhook events again (a permanent failure is
 *   re-processable once its cause is fixed; handlers are idempotent, so replaying a processed event changes nothing).
 * - `stripe events [--status failed]`: what the inbox holds, with each event's status and error.
 * - `stripe set-key --program <id> --key rk_…`: the restricted key used to fetch what a payload lacks.
 * - `stripe promotion-code add|list`: an affiliate's coupon codes mapped to Stripe promotion codes.
 */
import type { Command } from 'commander';
import type { StripeEventStatus } from '../../server/db/schema.ts';
import { print, type CliContext } from './context.ts';

const STATUSES: StripeEventStatus[] = ['received', 'processed', 'ignored', 'retrying', 'failed'];

function parseStatuses(value: string | undefined, fallback: StripeEventStatus[]): StripeEventStatus[] {
  if (!value) return fallback;
  const list = value.split(',').map((s) => s.trim()) as StripeEventStatus[];
  for (const s of list)
    if (!STATUSES.includes(s)) throw new Error(`Unknown status ${s} (one of ${STATUSES.join(', ')})`);
  return list;
}

function parseSince(value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime()))
    throw new Error(`--since must be an ISO date or time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z (got ${value})`);
  return d;
}

export function registerStripeCommands(cli: Command, ctx: CliContext): void {
  const stripe = cli.command('stripe').description('Stripe webhook events, keys and promotion codes');

  stripe
    .command('replay')
    .description('process stored webhook events again: one (--event) or every one received since a time (--since)')
    .option('--event <id>', 'a Stripe event id, evt_…')
    .option('--since <date>', 'events received since this ISO date/time')
    .option('--program <id>', 'only this program')
    .option('--status <list>', 'with --since: statuses to replay (default failed,retrying,received)')
    .option('--all', 'with --since: every status, processed and ignored included')
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (!o.event === !o.since) throw new Error('Give exactly one of --event evt_… or --since <date>');
      const results = await ctx.withServices((s) =>
        s.stripeWebhooks.replay({
          eventId: o.event,
          programId: o.program,
          since: o.since ? parseSince(o.since) : undefined,
          statuses: o.event || o.all ? undefined : parseStatuses(o.status, ['failed', 'retrying', 'received']),
        }),
      );
      if (o.json) {
        console.log(JSON.stringify(results, null, 2));
      } else {
        for (const r of results)
          console.log(`${r.eventId} ${r.type} (program ${r.programId}): ${r.before} → ${r.after}`);
        console.log(`${results.length} event(s) replayed`);
      }
      if (o.event && results.length === 0) throw new Error(`No stored event ${o.event}`);
    });

  stripe
    .command('events')
    .description('list stored webhook events, newest first, with status and error')
    .option('--program <id>', 'only this program')
    .option('--status <list>', 'only these statuses, e.g. failed,retrying')
    .option('--limit <n>', 'at most n events', '50')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const rows = await ctx.withServices(async (_s, db) => {
        let q = db
          .selectFrom('stripe_events')
          .select(['program_id', 'id', 'type', 'status', 'error', 'attempts', 'received_at', 'next_attempt_at'])
          .orderBy('received_at', 'desc')
          .limit(Math.min(Math.max(Number(o.limit) || 50, 1), 1000));
        if (o.program) q = q.where('program_id', '=', o.program);
        if (o.status) q = q.where('status', 'in', parseStatuses(o.status, STATUSES));
        return q.execute();
      });
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      for (const r of rows) {
        console.log(
          `${r.received_at.toISOString()} ${r.id} ${r.type} ${r.status}${r.error ? ` (${r.error})` : ''} attempts=${r.attempts}${r.next_attempt_at ? ` next=${r.next_attempt_at.toISOString()}` : ''}`,
        );
      }
    });

  stripe
    .command('set-key')
    .description("set the program's restricted Stripe key (read access to customers, subscriptions, charges, invoices)")
    .requiredOption('--program <id>', 'program id')
    .option('--key <rk>', 'rk_live_… / rk_test_…')
    .option('--clear', 'remove the key')
    .action(async (o) => {
      if (!o.key === !o.clear) throw new Error('Give --key rk_… or --clear');
      await ctx.withServices((s) => s.stripeSettings.setApiKey(o.program, o.clear ? null : o.key));
      console.log(o.clear ? 'Stripe key removed' : 'Stripe key set');
    });

  const promo = stripe
    .command('promotion-code')
    .description("affiliates' coupon codes mapped to Stripe promotion codes");
  promo
    .command('add')
    .description('map a Stripe promotion code (promo_…) to an affiliate')
    .requiredOption('--program <id>', 'program id')
    .requiredOption('--affiliate <id>', 'affiliate id')
    .requiredOption('--promotion-code <id>', "Stripe's promotion code id, promo_…")
    .option('--code <code>', 'what customers type, e.g. JANE20')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const created = await ctx.withProgram(o.program, async (s, program) => {
        return s.stripeSettings.addPromotionCode(program, {
          affiliateId: o.affiliate,
          stripePromotionCodeId: o.promotionCode,
          code: o.code,
        });
      });
      print(created, Boolean(o.json));
    });
  promo
    .command('list')
    .description("a program's promotion codes")
    .requiredOption('--program <id>', 'program id')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const list = await ctx.withProgram(o.program, async (s, program) => {
        return s.stripeSettings.listPromotionCodes(program, {});
      });
      if (o.json) return console.log(JSON.stringify(list, null, 2));
      for (const p of list)
        console.log(`${p.id} ${p.stripePromotionCodeId} ${p.code ?? ''} → affiliate ${p.affiliateId}`);
    });
}
