/**
 * SQL for the Stripe event inbox: each event is stored once per program before anything acts on it (the group
 * commit of `inbox-writer.ts`), then
 * processed (in this process right after the acknowledgement, or by the `process-stripe-event` job), retried
 * with backoff, and kept with its outcome.
 */
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { StripeEventStatus } from '../db/schema.ts';

export interface InboxRef {
  programId: string;
  eventId: string;
}

/**
 * Claim a stored event for one processing attempt: lock its row (`SKIP LOCKED`), check it is due, count the attempt
 * and record it `processed` — the usual outcome — in ONE statement; `finishAttempt(…, { count: false })` in the same
 * transaction replaces that record when the attempt ends otherwise, and a rollback undoes it. Claiming first also
 * keeps the transaction short after the handler's writes (the per-affiliate totals rows they lock are held only
 * until the COMMIT that follows).
 * Due: status `received` or `retrying` (any status with `force`), and `next_attempt_at` passed (or `force` /
 * `ignoreSchedule`).
 * @returns the attempts counted so far (this one included), when the event was stored (`received_at`) and, with
 *   `withPayload`, the stored event; undefined when another worker holds the row, it is unknown, or it is not due
 */
export async function claimEvent(
  db: DbOrTrx,
  ref: InboxRef,
  at: Date,
  opts: { force?: boolean; ignoreSchedule?: boolean; withPayload: boolean },
): Promise<{ attempts: number; received_at: Date; payload?: unknown } | undefined> {
  const { rows } = await sql<{ attempts: number; received_at: Date; payload?: unknown }>`
    UPDATE stripe_events e
    SET status = 'processed', error = NULL, processed_at = ${at}, next_attempt_at = NULL, waiting_for = NULL, attempts = e.attempts + 1
    FROM (SELECT program_id, id FROM stripe_events WHERE program_id = ${ref.programId} AND id = ${ref.eventId} FOR UPDATE SKIP LOCKED) c
    WHERE e.program_id = c.program_id AND e.id = c.id
      AND (${opts.force === true} OR e.status IN ('received', 'retrying'))
      AND (${opts.force === true || opts.ignoreSchedule === true} OR e.next_attempt_at IS NULL OR e.next_attempt_at <= ${at})
    RETURNING e.attempts, e.received_at${opts.withPayload ? sql`, e.payload` : sql``}`.execute(db);
  return rows[0];
}

export function findEvent(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('stripe_events')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * Record the outcome of one processing attempt; counts the attempt unless `count: false` (it was counted by
 * `claimEvent`).
 */
export function finishAttempt(
  db: DbOrTrx,
  ref: InboxRef,
  o: {
    status: StripeEventStatus;
    error: string | null;
    at: Date;
    nextAttemptAt: Date | null;
    waitingFor: string[] | null;
  },
  opts: { count?: boolean } = {},
) {
  return db
    .updateTable('stripe_events')
    .set((eb) => ({
      status: o.status,
      error: o.error,
      processed_at: o.at,
      next_attempt_at: o.nextAttemptAt,
      waiting_for: o.waitingFor,
      ...(opts.count === false ? {} : { attempts: eb('attempts', '+', 1) }),
    }))
    .where('program_id', '=', ref.programId)
    .where('id', '=', ref.eventId)
    .returning(['attempts'])
    .executeTakeFirst();
}

/**
 * Stored events not processed yet, by status (`received`: first attempt pending; `retrying`: a retry pending), for
 * the `partnerkit_stripe_inbox_backlog` metric. Reads only the rows of the partial index `stripe_events_due_idx`.
 */
export async function countBacklog(db: DbOrTrx): Promise<{ received: number; retrying: number }> {
  const rows = await db
    .selectFrom('stripe_events')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['received', 'retrying'])
    .groupBy('status')
    .execute();
  const n = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
  return { received: n('received'), retrying: n('retrying') };
}

/** Events due for processing at `now` (`received` or `retrying`), oldest first. */
export async function listDue(db: DbOrTrx, now: Date, limit: number): Promise<InboxRef[]> {
  const rows = await db
    .selectFrom('stripe_events')
    .select(['program_id', 'id'])
    .where('status', 'in', ['received', 'retrying'])
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ programId: r.program_id, eventId: r.id }));
}

/**
 * Make refunds and disputes that wait for one of `keys` due now (a sale known by one of them was just
 * recorded). Also those that gave up waiting (`failed` or `ignored` with `waiting_for` kept).
 *
 * This runs after every sale and almost always finds nothing, so its cost must not grow with the inbox whatever
 * the planner estimates. The look-up has one condition, the array overlap, which only the GIN index on
 * `waiting_for` (or, on a table small enough, a scan) can serve; the program is checked here, not in SQL. With
 * `program_id = $program` in the statement, the planner may walk the program's primary-key range instead (every
 * event of the program, filtered): measured in the benchmark once the table's layout changed its estimates
 * (~1,300 buffers and ~0.9 ms per sale after 3,500 events), and likely with many programs, where few events per
 * program is the estimate, for the one merchant with millions. The rare waiting events are then requeued one
 * by one by primary key.
 * @returns the events made due now
 */
export async function wakeWaiting(
  db: DbOrTrx,
  programId: string,
  keys: readonly string[],
  now: Date,
  /** An event not to wake (the one whose outcome named these ids, when it also waits for them). */
  exceptEventId?: string,
): Promise<InboxRef[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<{ program_id: string; id: string }>`
    SELECT program_id, id FROM stripe_events
    WHERE waiting_for IS NOT NULL AND waiting_for && ${sql.val([...keys])}::text[]`.execute(db);
  const woken: InboxRef[] = [];
  for (const r of rows) {
    if (r.program_id !== programId) continue; // the same Stripe id in another program's account
    if (r.id === exceptEventId) continue;
    const ref = { programId: r.program_id, eventId: r.id };
    if (await requeue(db, ref, now, ['retrying', 'ignored', 'failed'])) woken.push(ref);
  }
  return woken;
}

/**
 * Make an event in one of `statuses` due now: a failed, retrying or never processed event delivered again by
 * Stripe, or a waiting one woken by its sale. It becomes `retrying`, except a `received` one (its first attempt is
 * still to come), which stays `received`.
 * @returns whether the event was in one of `statuses` (and is due now)
 */
export async function requeue(
  db: DbOrTrx,
  ref: InboxRef,
  now: Date,
  statuses: readonly StripeEventStatus[],
): Promise<boolean> {
  const res = await db
    .updateTable('stripe_events')
    .set((eb) => ({
      status: eb
        .case()
        .when('status', '=', 'received')
        .then('received' as const)
        .else('retrying' as const)
        .end(),
      next_attempt_at: now,
    }))
    .where('program_id', '=', ref.programId)
    .where('id', '=', ref.eventId)
    .where('status', 'in', [...statuses])
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Events to replay: by id (in any program, or one), or received since a time, in the given statuses. */
export async function listForReplay(
  db: DbOrTrx,
  q: { eventId?: string; programId?: string; since?: Date; statuses?: readonly StripeEventStatus[]; limit: number },
): Promise<{ programId: string; eventId: string; type: string; status: StripeEventStatus }[]> {
  let query = db.selectFrom('stripe_events').select(['program_id', 'id', 'type', 'status']);
  if (q.eventId) query = query.where('id', '=', q.eventId);
  if (q.programId) query = query.where('program_id', '=', q.programId);
  if (q.since) query = query.where('received_at', '>=', q.since);
  if (q.statuses) query = query.where('status', 'in', [...q.statuses]);
  const rows = await query.orderBy('received_at').orderBy('id').limit(q.limit).execute();
  return rows.map((r) => ({ programId: r.program_id, eventId: r.id, type: r.type, status: r.status }));
}

/** One page of a program's stored events, newest first (admin API `GET /api/v1/stripe-events`). */
export function listEvents(
  db: DbOrTrx,
  programId: string,
  filter: { statuses?: StripeEventStatus[]; type?: string; receivedBefore?: Date; limit: number; offset?: number },
) {
  let q = db
    .selectFrom('stripe_events')
    .select(['id', 'type', 'status', 'error', 'attempts', 'received_at', 'processed_at', 'next_attempt_at'])
    .where('program_id', '=', programId)
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .offset(filter.offset ?? 0);
  if (filter.statuses?.length) q = q.where('status', 'in', filter.statuses);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.receivedBefore) q = q.where('received_at', '<', filter.receivedBefore);
  return q.execute();
}
