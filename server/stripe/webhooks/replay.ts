/**
 * Steps 3 and 5 of the webhooks pipeline (`webhooks.service.ts`), in bulk: process the inbox rows that are due
 * (`processPending`, the `sweep-stripe-events` job), the stored events left due at start-up (`resume`), and stored
 * events again whatever their status (`replay`, `npm run cli -- stripe replay`).
 */
import type { Db } from '../../db/database.ts';
import type { StripeEventStatus } from '../../db/schema.ts';
import { ValidationError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { InboxRef } from '../stripe-events.repository.ts';
import * as repo from '../stripe-events.repository.ts';
import { type AttemptResult, inboxKey } from './attempt.ts';

/**
 * The bulk half of the service.
 * @param deps.processEvent one attempt (`attempt.ts`)
 * @param deps.queue this process's processing queue (`processing-queue.ts`)
 */
export function createReplay(deps: {
  db: Db;
  now: () => Date;
  logger: Logger;
  processEvent: (ref: InboxRef, opts?: { force?: boolean }) => Promise<AttemptResult>;
  queue: { enqueue(ref: InboxRef): void; idle(): Promise<void>; isClosed(): boolean };
}) {
  const { db, now, logger, processEvent, queue } = deps;

  /**
   * Process every inbox row due now (`received`, or `retrying` whose `next_attempt_at` has come), in this
   * process, until none is left that this call has not tried; then wait for what they woke up.
   * The `sweep-stripe-events` job runs it; tests call it to settle deterministically.
   * @returns how many attempts were made
   */
  async function processPending(opts: { limit?: number } = {}): Promise<number> {
    const limit = opts.limit ?? 500;
    await queue.idle();
    const tried = new Set<string>();
    for (;;) {
      const due = (await repo.listDue(db, now(), limit)).filter((r) => !tried.has(inboxKey(r)));
      if (due.length === 0) break;
      for (const r of due) {
        tried.add(inboxKey(r));
        queue.enqueue(r);
      }
      await queue.idle();
      if (tried.size >= limit) break;
    }
    await queue.idle();
    return tried.size;
  }

  return {
    /**
     * Start-up: process every stored event that is due now (acknowledged before a crash or a restart and never
     * processed, or a retry whose time has come) in the background, at once instead of at the next sweep.
     * Errors are logged, never thrown. Resolves when that first pass is done.
     */
    async resume(): Promise<void> {
      try {
        const n = await processPending({ limit: 1000 });
        if (n > 0) logger.info(`stripe events: ${n} stored event attempt(s) resumed at start-up`);
      } catch (err) {
        if (!queue.isClosed())
          logger.error({ err }, 'stripe events: resuming stored events failed (the sweep retries them)');
      }
    },

    processPending,

    /**
     * Process stored events again, whatever their status (handlers are idempotent: a replay of a processed event
     * changes nothing; a failed or ignored one may now succeed, e.g. after a promotion code was mapped).
     * @param q `eventId` (in one program, or in all), or `since` (received since), optionally `statuses`
     * @returns each event with the status its replay ended with
     * @throws ValidationError when neither `eventId` nor `since` is given
     */
    async replay(q: {
      eventId?: string;
      programId?: string;
      since?: Date;
      statuses?: StripeEventStatus[];
      limit?: number;
    }) {
      if (!q.eventId && !q.since) throw new ValidationError('Name an event (--event) or a start time (--since)');
      const rows = await repo.listForReplay(db, { ...q, limit: q.limit ?? 10_000 });
      const results: {
        programId: string;
        eventId: string;
        type: string;
        before: StripeEventStatus;
        after: AttemptResult;
      }[] = [];
      for (const r of rows) {
        const after = await processEvent(r, { force: true });
        results.push({ programId: r.programId, eventId: r.eventId, type: r.type, before: r.status, after });
      }
      await queue.idle();
      return results;
    },
  };
}
export type Replay = ReturnType<typeof createReplay>;
