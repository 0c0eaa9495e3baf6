/**
 * Stripe webhook ingestion and processing. Store first, then act, exactly once:
 *
 * 1. The route (`ingest`) verifies the signature with each of the program's secrets (several during a
 *    rotation; Stripe's 5-minute tolerance on the signed timestamp), stores the event in the inbox
 *    (`INSERT … ON CONFLICT DO NOTHING`: a redelivery is a duplicate) and acknowledges at once. It does not wait
 *    for processing: Stripe wants a fast 2xx, and our target is an acknowledgement p99 ≤ 50 ms. Only while
 *    processing trails by more than half a second is the answer held, up to 25 ms (`ACK_PACING`, backpressure).
 * 2. Processing starts in this process right after the acknowledgement (a small in-memory queue), so a
 *    conversion exists milliseconds later without waiting for a job poll; it takes the event as `ingest` parsed it
 *    (the stored payload is read back only by retries, sweeps and other processes). Each attempt runs the event's handler
 *    and records the outcome on the inbox row in ONE transaction (effects and status commit together), under a
 *    row lock (`FOR UPDATE SKIP LOCKED`: one worker per event across processes).
 * 3. A failed attempt (an exception: database, Stripe API) or a deferral (a refund or dispute whose sale we have
 *    not recorded yet) is retried with backoff (`RETRY_DELAYS_MS`) by the Agenda job `process-stripe-event`,
 *    and, whatever happens to that job, by the `sweep-stripe-events` job that processes every due inbox row
 *    (it also covers a crash between the acknowledgement and processing). After `MAX_ATTEMPTS` a failing event
 *    is `failed` (status + error on the row) and stays re-processable (`npm run cli -- stripe replay`); so is a
 *    deferred event that never found what it waited for (a refund or dispute whose sale never came), unless its
 *    handler says that is the usual answer (`giveUp: 'ignored'`: an invoice of a subscription nobody referred).
 * 4. A sale recorded (or a customer bound) wakes the events waiting for its Stripe ids at once, whatever their
 *    status: refunds, disputes, `invoice_payment.paid` links, invoices of a subscription whose checkout came later.
 * 5. Start-up (`resume`, run by the scheduler) processes the stored events left due at once, and a redelivery of a
 *    stored event not processed yet makes it due now, instead of both waiting for the minute sweep.
 *
 * Events of types we do not handle are stored already `ignored` (`unhandled_type`): acknowledged, kept, no work.
 *
 * Speed (the acknowledgement is on Stripe's clock): the route reads the program's secrets from a short-lived
 * cache and stores through a group commit (`inbox-writer.ts`: one INSERT and one WAL flush per batch of
 * concurrent deliveries). Processing transactions commit with `synchronous_commit = off`: the inbox row they
 * start from was committed durably before the acknowledgement, and processing is idempotent, so a crash that
 * loses the last milliseconds of processing commits leaves those events `received` and the sweep runs them
 * again; nothing acknowledged is lost and nothing is counted twice (PostgreSQL flushes WAL in order, so no later
 * durable commit can depend on a lost one).
 * Signature scheme and tolerance: https://docs.stripe.com/webhooks#verify-events;
 * retries and ordering: https://docs.stripe.com/webhooks#retries, https://docs.stripe.com/webhooks#event-ordering
 */
import Stripe from 'stripe';
import { LRUCache } from 'lru-cache';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ProgramRow, StripeEventStatus } from '../db/schema.ts';
import { NotFoundError, ValidationError } from '../lib/errors.ts';
import * as programsRepo from '../programs/programs.repository.ts';
import type { ProgramSecrets } from '../programs/program-secrets.ts';
import { saleExistsForAny } from '../conversions/conversions.repository.ts';
import { stripeEventEnvelope, type StripeEventEnvelope } from './stripe-objects.ts';
import { handlerFor } from './handlers/index.ts';
import type { HandlerOutcome } from './handlers/handler.ts';
import { createStripeApi, type StripeApi } from './stripe-api.ts';
import { createInboxWriter } from './inbox-writer.ts';
import * as repo from './stripe-events.repository.ts';
import type { InboxRef } from './stripe-events.repository.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

/** Seconds a signed timestamp may be older than our clock (Stripe's default tolerance). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/** Attempts before an event is given up (`failed`, or its handler's `giveUp` for one that kept waiting). */
export const MAX_ATTEMPTS = 8;
/** Wait before attempt n + 1 after attempt n failed or was deferred: 2 s, 10 s, 1 min, 5 min, 30 min, 2 h, 6 h (≈ 9 h in all). */
export const RETRY_DELAYS_MS: readonly number[] = [2_000, 10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];
/** Events processed at once by this process's in-memory queue (each holds one pooled connection). */
const DEFAULT_CONCURRENCY = 8;
/**
 * How long the route trusts its cached view of a program's webhook secrets. A signature that matches none of
 * the cached secrets is checked again against the database, so a secret added for a rotation works at once.
 */
const SECRETS_TTL_MS = 5_000;
/**
 * Acknowledgement pacing (backpressure): while the oldest event waiting in this process's queue has waited longer
 * than `lagMs`, the acknowledgement of a newly stored event is held until processing takes an event off the queue
 * (one out lets one in) or catches up, at most `maxWaitMs`. The event is already stored durably; only the answer
 * waits. A sender with bounded concurrency (Stripe delivers to an endpoint over a limited number of connections;
 * the benchmark over 20) then slows towards the rate processing keeps, so conversions trail their acknowledgement by
 * about a second instead of by a backlog that grows with the burst. Measured (2-core bench, 3,000 sales over 20
 * connections, after the click run): without pacing the burst was acknowledged at ~1,300/s and left ~2,100 events
 * to process (every conversion present 2.6 s after the last event); with it, 750–950/s, ~950–1,100 left, 1.1–1.4 s,
 * acknowledgement p99 35–41 ms (25 ms cap; target 50 ms).
 */
export const ACK_PACING = { lagMs: 500, maxWaitMs: 25 };
/** Parsed events kept for processing in this process at most (~10–20 KB each); see `handedOver`. */
const HANDED_OVER_MAX = 2_000;
/** How long processing trusts a cached program row (its Stripe key, rates): a change applies within a second. */
const PROGRAM_TTL_MS = 1_000;

export function retryDelayMs(attempts: number): number {
  return RETRY_DELAYS_MS[Math.min(Math.max(attempts, 1), RETRY_DELAYS_MS.length) - 1]!;
}

export type IngestResult = {
  eventId: string;
  /**
   * `received`: stored now (or a failed one delivered again), processing follows; `ignored`: stored, a type we
   * do not act on; `duplicate`: already stored.
   */
  status: 'received' | 'ignored' | 'duplicate';
};

/** What one processing attempt ended with; `skipped` = not ours to run now (locked elsewhere, done, not due). */
export type AttemptResult = StripeEventStatus | 'skipped';

/** Schedules a retry of one event in `delayMs` (the Agenda job); set by the scheduler when jobs run here. */
export type RetryScheduler = (ref: InboxRef, delayMs: number) => Promise<void>;

const key = (r: InboxRef) => `${r.programId}\u0000${r.eventId}`;

/** JSON escapes jsonb may refuse: NUL, and surrogates (a lone one is refused; pairs are let through here too). */
const MAYBE_NOT_JSONB = /\\u(?:0000|d[89a-f])/i;

/**
 * A JSON string PostgreSQL's jsonb accepts, for hostile but signed bodies: NUL characters removed and lone
 * surrogates replaced by U+FFFD in every string and key; numbers jsonb cannot hold (non-finite) written as null.
 * Iterative (an explicit stack of what is left to write; neither recursion nor `JSON.stringify` over the whole
 * value, which recurses too), so nesting costs heap, never the call stack. The route already refuses bodies that
 * nest deeper than `MAX_JSON_DEPTH` (`lib/validate.ts`); this holds at any depth.
 */
export function jsonbSafe(value: unknown): string {
  const clean = (v: string) =>
    JSON.stringify((v.replaceAll('\u0000', '') as unknown as { toWellFormed(): string }).toWellFormed());
  const out: string[] = [];
  const todo: ({ text: string } | { value: unknown })[] = [{ value }];
  while (todo.length > 0) {
    const item = todo.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (typeof v === 'string') out.push(clean(v));
    else if (typeof v === 'number') out.push(Number.isFinite(v) ? JSON.stringify(v) : 'null');
    else if (typeof v === 'boolean') out.push(String(v));
    else if (Array.isArray(v)) {
      // Pushed in reverse: popped as `[`, v0, `,`, v1, …, `]`.
      todo.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] });
        if (i > 0) todo.push({ text: ',' });
      }
      todo.push({ text: '[' });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      todo.push({ text: '}' });
      for (let i = entries.length - 1; i >= 0; i--) {
        todo.push({ value: entries[i]![1] });
        todo.push({ text: `${i > 0 ? ',' : ''}${clean(entries[i]![0])}:` });
      }
      todo.push({ text: '{' });
    } else out.push('null');
  }
  return out.join('');
}

export function createStripeWebhooksService(deps: {
  db: Db;
  now?: () => Date;
  /** Processing lines carry `stripeEventId` and `programId` (they run after the request that stored the event). */
  logger?: Logger;
  /** Where processing lag goes (`partnerkit_stripe_event_processing_lag_seconds`); unset records none. */
  metrics?: Metrics | null;
  /** The Stripe API client factory (tests point it at a loopback fake). */
  stripeApi?: StripeApi;
  concurrency?: number;
  /** Acknowledgement pacing; default `ACK_PACING`. */
  ackPacing?: { lagMs: number; maxWaitMs: number };
  /** Opens the program's stored (encrypted) webhook secrets and Stripe API key. */
  programSecrets: ProgramSecrets;
}) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  const log = (ref: InboxRef, msg: string, err: unknown) =>
    logger.error({ stripeEventId: ref.eventId, programId: ref.programId, err }, msg);
  /** Record the lag of an attempt that settled its event (`retrying` and `skipped` did not). */
  const settled = (status: AttemptResult, receivedAt: Date | undefined, at: Date): AttemptResult => {
    if (receivedAt && (status === 'processed' || status === 'ignored' || status === 'failed'))
      deps.metrics?.stripeProcessingLag.observe({ status }, Math.max(0, at.getTime() - receivedAt.getTime()) / 1000);
    return status;
  };
  const stripeApi = deps.stripeApi ?? createStripeApi();
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  const pacing = deps.ackPacing ?? ACK_PACING;
  let retryScheduler: RetryScheduler | null = null;
  let closed = false;
  const inbox = createInboxWriter(db);
  /** Program id → its active webhook secrets (null: no such program). The promise is cached, so a burst of deliveries reads them once. */
  const secretsCache = new LRUCache<string, { secrets: Promise<string[] | null> }>({
    max: 10_000,
    ttl: SECRETS_TTL_MS,
  });

  const programCache = new LRUCache<string, ProgramRow>({ max: 10_000, ttl: PROGRAM_TTL_MS });
  async function programFor(programId: string): Promise<ProgramRow | undefined> {
    const hit = programCache.get(programId);
    if (hit) return hit;
    const row = await programsRepo.findProgramById(db, programId);
    if (row) programCache.set(programId, row);
    return row;
  }

  /**
   * Run `fn` in a transaction whose commit does not wait for the WAL flush (see the module header). `BEGIN` and
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

  function programSecrets(programId: string, fresh = false): Promise<string[] | null> {
    const hit = fresh ? undefined : secretsCache.get(programId);
    if (hit) return hit.secrets;
    const secrets = (async () => {
      const program = await programsRepo.findProgramById(db, programId);
      return program ? deps.programSecrets.webhookSecrets(programId) : null;
    })();
    secretsCache.set(programId, { secrets });
    secrets.catch(() => secretsCache.delete(programId));
    return secrets;
  }

  // Events acknowledged by this process and queued here, as `ingest` parsed them: processing then neither reads the
  // payload back (~5 KB of jsonb) nor parses it again. Bounded: past HANDED_OVER_MAX (a long backlog), processing
  // reads the stored payload as any other worker does.
  const handedOver = new Map<string, StripeEventEnvelope>();

  // The in-memory queue: events waiting (with when they were queued, `performance.now()`), events running (with
  // "run again when done" flags), idle waiters, acknowledgements held by pacing.
  const queue: { ref: InboxRef; queuedAt: number }[] = [];
  const queued = new Set<string>();
  const running = new Map<string, { again: boolean }>();
  let idleWaiters: (() => void)[] = [];
  let heldAcks: (() => void)[] = [];

  /** Whether processing trails: the oldest waiting event has waited longer than `pacing.lagMs`. */
  const lagging = () => queue.length > 0 && performance.now() - queue[0]!.queuedAt > pacing.lagMs;

  /** Release every held acknowledgement (`all`), or the longest-held one: one out of the queue lets one in. */
  function releaseAcks(all: boolean): void {
    for (const release of heldAcks.splice(0, all ? heldAcks.length : 1)) release();
  }

  /**
   * Hold an acknowledgement while processing trails: until processing takes an event off the queue for it (so
   * acknowledgements go at processing's pace) or catches up, at most `pacing.maxWaitMs`.
   */
  function paced(): Promise<void> | undefined {
    if (!lagging()) return undefined;
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        heldAcks = heldAcks.filter((r) => r !== release);
        resolve();
      }, pacing.maxWaitMs);
      heldAcks.push(release);
    });
  }

  function enqueue(ref: InboxRef): void {
    if (closed) return;
    const k = key(ref);
    const r = running.get(k);
    if (r) {
      r.again = true;
      return;
    }
    if (queued.has(k)) return;
    queued.add(k);
    queue.push({ ref, queuedAt: performance.now() });
    pump();
  }

  function pump(): void {
    while (running.size < concurrency && queue.length > 0) {
      const { ref } = queue.shift()!;
      if (heldAcks.length) releaseAcks(!lagging());
      const k = key(ref);
      queued.delete(k);
      const state = { again: false };
      running.set(k, state);
      processEvent(ref)
        .catch((err) => log(ref, `stripe event ${ref.eventId}: processing could not be recorded`, err))
        .finally(() => {
          running.delete(k);
          if (state.again) enqueue(ref);
          pump();
          if (running.size === 0 && queue.length === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  /** Resolves when this process's queue is empty and nothing is running. */
  function idle(): Promise<void> {
    if (running.size === 0 && queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  function scheduleRetry(ref: InboxRef, delayMs: number): void {
    if (!retryScheduler) return; // the sweep job of a worker process picks it up when due
    retryScheduler(ref, delayMs).catch((err) =>
      log(ref, `stripe event ${ref.eventId}: scheduling a retry failed`, err),
    );
  }

  /** Try every active secret; Stripe signs with each endpoint secret during a rotation. */
  function verifies(raw: Buffer, signature: string, secrets: string[]): boolean {
    const receivedAt = now().getTime(); // milliseconds, as stripe-node expects
    for (const secret of secrets) {
      try {
        Stripe.webhooks.signature!.verifyHeader(
          raw,
          signature,
          secret,
          SIGNATURE_TOLERANCE_SECONDS,
          undefined,
          receivedAt,
        );
        return true;
      } catch {
        // next secret
      }
    }
    return false;
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
    const k = key(ref);
    const inHand = handedOver.get(k);
    handedOver.delete(k);
    const program = await programFor(ref.programId);
    if (!program) return 'skipped';
    const at = now();
    let outcome: HandlerOutcome;
    let attempts = 0;
    let receivedAt: Date | undefined;
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
        return result;
      });
      if (!done) return 'skipped';
      outcome = done;
    } catch (err) {
      return recordFailure(ref, err, at);
    }
    await afterCommit(program, ref, outcome, attempts, at);
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
    if (o.status === 'ignored')
      return { status: 'ignored' as const, error: o.reason.slice(0, 1000), at, nextAttemptAt: null, waitingFor: null };
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
  ): Promise<void> {
    if ((o.status === 'processed' || o.status === 'ignored') && o.wakes?.length) {
      for (const woken of await repo.wakeWaiting(db, program.id, o.wakes, at)) enqueue(woken);
    }
    if (o.status === 'deferred') {
      // The sale may have committed between our read and our deferral (its wake-up then missed us): look again.
      if (await saleExistsForAny(db, program.id, o.waitingFor)) {
        if (await repo.requeue(db, ref, at, ['retrying', 'ignored', 'failed'])) enqueue(ref);
      } else if (attempts < deferralLimit(o)) {
        scheduleRetry(ref, retryDelayMs(attempts));
      }
    }
  }

  return {
    /**
     * Verify, store once, acknowledge; processing follows in this process (see the module header).
     * @param raw the exact request body bytes (the signature covers them)
     * @throws NotFoundError `unknown_program`; ValidationError `missing_signature`, `webhook_secret_missing`,
     *   `invalid_signature`, `invalid_event` (signed, but not a Stripe event) — nothing is stored in those cases
     */
    async ingest(programId: string, raw: Buffer, signature: string | undefined): Promise<IngestResult> {
      let secrets = await programSecrets(programId);
      if (!secrets) throw new NotFoundError('Program', 'unknown_program');
      if (!signature) throw new ValidationError('Missing Stripe-Signature header', 'missing_signature');
      if (secrets.length === 0) secrets = (await programSecrets(programId, true)) ?? [];
      if (secrets.length === 0) {
        throw new ValidationError(
          'This program has no Stripe webhook secret; add one with the CLI',
          'webhook_secret_missing',
        );
      }
      if (!verifies(raw, signature, secrets)) {
        // Maybe a secret added since we cached them (a rotation in progress): look once more.
        const fresh = (await programSecrets(programId, true)) ?? [];
        if (!verifies(raw, signature, fresh)) {
          throw new ValidationError(
            'The Stripe-Signature header does not match this program’s webhook secrets',
            'invalid_signature',
          );
        }
      }
      const text = raw.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ValidationError('The body is not JSON', 'invalid_event');
      }
      const parsed = stripeEventEnvelope.safeParse(body);
      if (!parsed.success) throw new ValidationError('The body is not a Stripe event', 'invalid_event');
      const event = parsed.data;
      const handled = handlerFor(event.type) !== undefined;
      const at = now();
      const stored = await inbox.submit({
        program_id: programId,
        id: event.id,
        type: event.type,
        api_version: event.api_version ?? null,
        livemode: event.livemode,
        payload: text,
        event_created_at: new Date(event.created * 1000),
        received_at: at,
        // Nothing will ever act on an unhandled type: it is stored with its outcome, no work queued.
        status: handled ? 'received' : 'ignored',
        error: handled ? null : 'unhandled_type',
        processed_at: handled ? null : at,
        next_attempt_at: handled ? at : null,
        fallbackPayload: () => jsonbSafe(body),
      });
      const ref = { programId, eventId: event.id };
      if (stored) {
        if (!handled) return { eventId: event.id, status: 'ignored' };
        // Not when jsonb may have refused the text and a cleaned copy was stored (`jsonbSafe`): processing reads that.
        if (handedOver.size < HANDED_OVER_MAX && !closed && !MAYBE_NOT_JSONB.test(text))
          handedOver.set(key(ref), event);
        enqueue(ref);
        await paced();
        return { eventId: event.id, status: 'received' };
      }
      // Stripe delivered it again: a failed, retrying or never processed (`received`: left by a crash) event is due
      // now (redelivery is a retry). A `received` one this process already has queued or running is left as it is.
      if (
        !queued.has(key(ref)) &&
        !running.has(key(ref)) &&
        (await repo.requeue(db, ref, at, ['failed', 'retrying', 'received']))
      ) {
        enqueue(ref);
        return { eventId: event.id, status: 'received' };
      }
      return { eventId: event.id, status: 'duplicate' };
    },

    processEvent,

    /**
     * Start-up: process every stored event that is due now (acknowledged before a crash or a restart and never
     * processed, or a retry whose time has come) in the background, at once instead of at the next sweep.
     * Errors are logged, never thrown. Resolves when that first pass is done.
     */
    async resume(): Promise<void> {
      try {
        const n = await this.processPending({ limit: 1000 });
        if (n > 0) logger.info(`stripe events: ${n} stored event attempt(s) resumed at start-up`);
      } catch (err) {
        if (!closed) logger.error({ err }, 'stripe events: resuming stored events failed (the sweep retries them)');
      }
    },

    /** Resolves when this process has nothing queued or running (tests, shutdown). */
    idle,

    /**
     * Process every inbox row due now (`received`, or `retrying` whose `next_attempt_at` has come), in this
     * process, until none is left that this call has not tried; then wait for what they woke up.
     * The `sweep-stripe-events` job runs it; tests call it to settle deterministically.
     * @returns how many attempts were made
     */
    async processPending(opts: { limit?: number } = {}): Promise<number> {
      const limit = opts.limit ?? 500;
      await idle();
      const tried = new Set<string>();
      for (;;) {
        const due = (await repo.listDue(db, now(), limit)).filter((r) => !tried.has(key(r)));
        if (due.length === 0) break;
        for (const r of due) {
          tried.add(key(r));
          enqueue(r);
        }
        await idle();
        if (tried.size >= limit) break;
      }
      await idle();
      return tried.size;
    },

    /**
     * Process stored events again, whatever their status (handlers are idempotent: a replay of a processed event
     * changes nothing; a failed or ignored one may now succeed, e.g. after a promotion code was mapped).
     * @param q `eventId` (in one program, or in all), or `since` (received since), optionally `statuses`
     * @returns each event with the status its replay ended with
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
      await idle();
      return results;
    },

    /** Where the scheduler's `process-stripe-event` job takes retries (unset: the sweep job does). */
    setRetryScheduler(fn: RetryScheduler | null): void {
      retryScheduler = fn;
    },

    /** Stop taking work and wait for what is running (call before closing the pool). */
    async close(): Promise<void> {
      await inbox.idle();
      closed = true;
      queue.length = 0;
      queued.clear();
      releaseAcks(true);
      handedOver.clear();
      await idle();
    },
  };
}
export type StripeWebhooksService = ReturnType<typeof createStripeWebhooksService>;
