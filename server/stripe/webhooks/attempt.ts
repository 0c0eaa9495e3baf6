/**
 * Steps 2–4 of the webhooks pipeline (`webhooks.service.ts`), for one event: one processing attempt. It claims
 * the inbox row (`FOR UPDATE SKIP LOCKED`: one worker per event across processes), runs the event's handler and
 * records the outcome on the row in ONE transaction (effects and status commit together), then applies the retry
 * policy (`RETRY_DELAYS_MS`, `MAX_ATTEMPTS`; the Agenda job `process-stripe-event` through `setRetryScheduler`,
 * else the sweep) and wakes the events that waited for what this one recorded.
 */
import { sql } from 'kysely';
import { LRUCache } from 'lru-cache';
import { saleExistsForAny } from '../../conversions/conversions.repository.ts';
import type { Db } from '../../db/database.ts';
import type { ProgramRow, StripeEventStatus } from '../../db/schema.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { ProgramSecrets } from '../../programs/program-secrets.ts';
import * as programsRepo from '../../programs/programs.repository.ts';
import type { HandlerOutcome } from '../handlers/handler.ts';
import { handlerFor } from '../handlers/index.ts';
import type { StripeApi } from '../stripe-api.ts';
import type { InboxRef } from '../stripe-events.repository.ts';
import * as repo from '../stripe-events.repository.ts';
import { type StripeEventEnvelope, stripeEventEnvelope } from '../stripe-objects.ts';
import { isUnreferred, recordUnreferred } from '../unreferred-payments.repository.ts';

/** Attempts before an event is given up (`failed`, or its handler's `giveUp` for one that kept waiting). */
export const MAX_ATTEMPTS = 8;
/** Wait before attempt n + 1 after attempt n failed or was deferred: 2 s, 10 s, 1 min, 5 min, 30 min, 2 h, 6 h (≈ 9 h in all). */
export const RETRY_DELAYS_MS: readonly number[] = [2_000, 10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];
/** How long processing trusts a cached program row (its Stripe key, rates): a change applies within a second. */
const PROGRAM_TTL_MS = 1_000;

/** Milliseconds to wait after attempt `attempts` (1-based; clamped to the table) before the next one. */
export function retryDelayMs(attempts: number): number {
  return RETRY_DELAYS_MS[Math.min(Math.max(attempts, 1), RETRY_DELAYS_MS.length) - 1]!;
}

/** What one processing attempt ended with; `skipped` = not ours to run now (locked elsewhere, done, not due). */
export type AttemptResult = StripeEventStatus | 'skipped';

/** Schedules a retry of one event in `delayMs` (the Agenda job); set by the scheduler when jobs run here. */
export type RetryScheduler = (ref: InboxRef, delayMs: number) => Promise<void>;

/** The key of an inbox row in this process's maps and sets (program id and event id; NUL cannot occur in either). */
export const inboxKey = (r: InboxRef) => `${r.programId}\u0000${r.eventId}`;

/**
 * Events acknowledged by this process and queued here, as `ingest` parsed them (by `inboxKey`): processing then
 * neither reads the payload back (~5 KB of jsonb) nor parses it again. An attempt takes its event out.
 */
export type HandedOver = Map<string, StripeEventEnvelope>;

/**
 * The attempt half of the service.
 * @param deps.handedOver filled by `ingest`, emptied here
 * @param deps.enqueue queues an event for processing in this process (its woken events, a deferral that can run now)
 * @param deps.log logs an error about one event (with its ids)
 */
export function createAttempt(deps: {
  db: Db;
  now: () => Date;
  log: (ref: InboxRef, msg: string, err: unknown) => void;
  metrics?: Metrics | null;
  stripeApi: StripeApi;
  programSecrets: ProgramSecrets;
  handedOver: HandedOver;
  enqueue: (ref: InboxRef) => void;
}) {
  const { db, now, log, stripeApi, handedOver, enqueue } = deps;
  let retryScheduler: RetryScheduler | null = null;

  /** Record the lag of an attempt that settled its event (`retrying` and `skipped` did not). */
  const settled = (status: AttemptResult, receivedAt: Date | undefined, at: Date): AttemptResult => {
    if (receivedAt && (status === 'processed' || status === 'ignored' || status === 'failed'))
      deps.metrics?.stripeProcessingLag.observe({ status }, Math.max(0, at.getTime() - receivedAt.getTime()) / 1000);
    return status;
  };

  const programCache = new LRUCache<string, ProgramRow>({ max: 10_000, ttl: PROGRAM_TTL_MS });
  async function programFor(programId: string): Promise<ProgramRow | undefined> {
    const hit = programCache.get(programId);
    if (hit) return hit;
    const row = await programsRepo.findProgramById(db, programId);
    if (row) programCache.set(programId, row);
    return row;
  }

  /**
   * Run `fn` in a transaction whose commit does not wait for the WAL flush (see `webhooks.service.ts`). `BEGIN` and
   * the settings travel in one round trip (the simple query protocol takes several statements): at a fraction of
   * a millisecond per round trip, an event's processing is counted in round trips.
   *
   * Its statements run on generic plans (`plan_cache_mode = force_generic_plan`): they are all look-ups and
   * inserts by key, planned once per connection. In the default mode PostgreSQL compares the generic plan's
   * estimated cost with the custom plans' and can settle on planning every execution, with the parameters'
   * values in hand; measured in the benchmark after a click burst (stale statistics on clicks and conversions):
   * every conversion insert was planned again, and those custom plans used `kind = 'sale'` to pick the partial
   * dashboard index `conversions_affiliate_sales_idx` and read ALL of the affiliate's sales (a BitmapAnd over
   * ~3,000 rows, growing with every sale) for a look-up the referral index answers in 3 buffers. PostgreSQL CPU
   * per sale 1.64 → 1.21 ms. A generic plan cannot prove a partial index's predicate from a parameter, so it
   * uses the indexes the statements were written for.
   */
  async function processingTransaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return db.connection().execute(async (conn) => {
      await sql`BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL plan_cache_mode = force_generic_plan`.execute(
        conn,
      );
      let result: T;
      try {
        result = await fn(conn);
      } catch (err) {
        await sql`ROLLBACK`.execute(conn).catch(() => {});
        throw err;
      }
      await sql`COMMIT`.execute(conn);
      return result;
    });
  }

  function scheduleRetry(ref: InboxRef, delayMs: number): void {
    if (!retryScheduler) return; // the sweep job of a worker process picks it up when due
    retryScheduler(ref, delayMs).catch((err) =>
      log(ref, `stripe event ${ref.eventId}: scheduling a retry failed`, err),
    );
  }

  /**
   * One processing attempt of a stored event (see the module header).
   * @param opts.force run even when already done (`processed` / `ignored` / `failed`): replays
   * @param opts.ignoreSchedule run even before `next_attempt_at` (the scheduled job of that retry)
   * @throws only when the outcome of a failed attempt cannot be recorded (the database is gone)
   */
  async function processEvent(
    ref: InboxRef,
    opts: { force?: boolean; ignoreSchedule?: boolean } = {},
  ): Promise<AttemptResult> {
    const k = inboxKey(ref);
    const inHand = handedOver.get(k);
    handedOver.delete(k);
    const program = await programFor(ref.programId);
    if (!program) return 'skipped';
    const at = now();
    let outcome: HandlerOutcome;
    let attempts = 0;
    let receivedAt: Date | undefined;
    let newlyUnreferred: string[] = [];
    try {
      const done = await processingTransaction(async (trx) => {
        // Claimed and recorded `processed` in one statement; another outcome is recorded over it below.
        const row = await repo.claimEvent(trx, ref, at, { ...opts, withPayload: !inHand });
        if (!row) return null;
        attempts = row.attempts;
        receivedAt = row.received_at;
        let event: StripeEventEnvelope | null = inHand ?? null;
        if (!inHand) {
          const parsed = stripeEventEnvelope.safeParse(row.payload);
          event = parsed.success ? parsed.data : null;
        }
        const handler = event ? handlerFor(event.type) : undefined;
        const result: HandlerOutcome = !event
          ? { status: 'ignored', reason: 'malformed_event' }
          : handler
            ? await handler(
                { trx, program, stripe: stripeApi.forKey(deps.programSecrets.apiKey(program)), now: at },
                event,
              )
            : { status: 'ignored', reason: 'unhandled_type' };
        if (result.status !== 'processed')
          await repo.finishAttempt(trx, ref, attemptRecord(result, attempts, at), { count: false });
        // A payment nobody referred (now, or after its deferral gave up): remembered with the outcome.
        const unreferred =
          result.status === 'ignored' || (result.status === 'deferred' && attempts >= deferralLimit(result))
            ? result.unreferred
            : undefined;
        if (unreferred?.length) newlyUnreferred = await recordUnreferred(trx, ref.programId, unreferred, ref.eventId);
        return result;
      });
      if (!done) return 'skipped';
      outcome = done;
    } catch (err) {
      return recordFailure(ref, err, at);
    }
    await afterCommit(program, ref, outcome, attempts, at, newlyUnreferred);
    return settled(recordStatus(outcome, attempts), receivedAt, at);
  }

  /** Attempts a deferred event waits through before it gives up (its wake-up still runs it later). */
  const deferralLimit = (o: HandlerOutcome & { status: 'deferred' }) =>
    Math.min(o.maxAttempts ?? MAX_ATTEMPTS, MAX_ATTEMPTS);

  function recordStatus(o: HandlerOutcome, attempts: number): StripeEventStatus {
    if (o.status === 'deferred') return attempts >= deferralLimit(o) ? (o.giveUp ?? 'failed') : 'retrying';
    return o.status;
  }

  function attemptRecord(o: HandlerOutcome, attempts: number, at: Date) {
    if (o.status === 'processed')
      return { status: 'processed' as const, error: null, at, nextAttemptAt: null, waitingFor: null };
    if (o.status === 'ignored') {
      const waitingFor = o.waitingFor?.length ? o.waitingFor : null;
      return { status: 'ignored' as const, error: o.reason.slice(0, 1000), at, nextAttemptAt: null, waitingFor };
    }
    // Deferred: keep `waiting_for` even after giving up, so a sale recorded later still wakes it.
    if (attempts >= deferralLimit(o)) {
      return {
        status: o.giveUp ?? ('failed' as const),
        error: `${o.reason} (gave up after ${attempts} attempts)`,
        at,
        nextAttemptAt: null,
        waitingFor: o.waitingFor,
      };
    }
    return {
      status: 'retrying' as const,
      error: o.reason,
      at,
      nextAttemptAt: new Date(at.getTime() + retryDelayMs(attempts)),
      waitingFor: o.waitingFor,
    };
  }

  /** The transaction rolled back: count the attempt, keep the error, retry later or give up (`failed`). */
  async function recordFailure(ref: InboxRef, err: unknown, at: Date): Promise<AttemptResult> {
    log(ref, `stripe event ${ref.eventId} failed`, err);
    const message = String((err as Error)?.message ?? err).slice(0, 1000);
    const row = await repo.findEvent(db, ref.programId, ref.eventId);
    const attempts = (row?.attempts ?? 0) + 1;
    const give = attempts >= MAX_ATTEMPTS;
    const delay = retryDelayMs(attempts);
    await repo.finishAttempt(db, ref, {
      status: give ? 'failed' : 'retrying',
      error: message,
      at,
      nextAttemptAt: give ? null : new Date(at.getTime() + delay),
      waitingFor: row?.waiting_for ?? null,
    });
    if (!give) scheduleRetry(ref, delay);
    return settled(give ? 'failed' : 'retrying', row?.received_at, at);
  }

  async function afterCommit(
    program: ProgramRow,
    ref: InboxRef,
    o: HandlerOutcome,
    attempts: number,
    at: Date,
    unreferred: string[],
  ): Promise<void> {
    if ((o.status === 'processed' || o.status === 'ignored') && o.wakes?.length) {
      for (const woken of await repo.wakeWaiting(db, program.id, o.wakes, at)) enqueue(woken);
    }
    // Refunds and disputes waiting for a payment now known as nobody's end now (`sale_not_referred`).
    // (Not this event: a deferral that gave up keeps waiting for its own ids.)
    if (unreferred.length)
      for (const woken of await repo.wakeWaiting(db, program.id, unreferred, at, ref.eventId)) enqueue(woken);
    if (o.status === 'deferred') {
      // The sale may have committed between our read and our deferral (its wake-up then missed us): look again.
      // So may a payment now known as nobody's (`ifUnreferred` would end it); not the ids this event itself marks.
      const others = o.unreferred ? o.waitingFor.filter((id) => !o.unreferred!.includes(id)) : o.waitingFor;
      if ((await saleExistsForAny(db, program.id, o.waitingFor)) || (await isUnreferred(db, program.id, others))) {
        if (await repo.requeue(db, ref, at, ['retrying', 'ignored', 'failed'])) enqueue(ref);
      } else if (attempts < deferralLimit(o)) {
        scheduleRetry(ref, retryDelayMs(attempts));
      }
    }
  }

  return {
    processEvent,
    /** Where retries are scheduled (the `process-stripe-event` job); null: the sweep job picks them up when due. */
    setRetryScheduler(fn: RetryScheduler | null): void {
      retryScheduler = fn;
    },
  };
}
export type Attempt = ReturnType<typeof createAttempt>;
