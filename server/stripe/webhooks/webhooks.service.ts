/**
 * Stripe webhook ingestion and processing. Store first, then act, exactly once. This file composes the steps:
 * `ingest.ts` (1), `processing-queue.ts` (2: the queue and pacing), `attempt.ts` (2–4: one attempt, retries,
 * wake-ups) and `replay.ts` (3, 5: sweeps, start-up, replays).
 *
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
import type { Db } from '../../db/database.ts';
import { type Logger, silentLogger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { ProgramSecrets } from '../../programs/program-secrets.ts';
import { createStripeApi, type StripeApi } from '../stripe-api.ts';
import type { InboxRef } from '../stripe-events.repository.ts';
import { createAttempt, type HandedOver, inboxKey } from './attempt.ts';
import { createIngest } from './ingest.ts';
import { ACK_PACING, type AckPacing, createProcessingQueue } from './processing-queue.ts';
import { createReplay } from './replay.ts';
import { pruneUnreferred, UNREFERRED_RETENTION_DAYS } from '../unreferred-payments.repository.ts';

export { type AttemptResult, MAX_ATTEMPTS, RETRY_DELAYS_MS, type RetryScheduler, retryDelayMs } from './attempt.ts';
export { type IngestResult, jsonbSafe, SIGNATURE_TOLERANCE_SECONDS } from './ingest.ts';
export { ACK_PACING } from './processing-queue.ts';

/** Events processed at once by this process's in-memory queue (each holds one pooled connection). */
const DEFAULT_CONCURRENCY = 8;

/**
 * The webhooks service: one per process (its queue, caches and handed-over events are this process's).
 * @param deps.now the clock of signatures, attempts and schedules (default: the system clock)
 */
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
  ackPacing?: AckPacing;
  /** Opens the program's stored (encrypted) webhook secrets and Stripe API key. */
  programSecrets: ProgramSecrets;
}) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  const log = (ref: InboxRef, msg: string, err: unknown) =>
    logger.error({ stripeEventId: ref.eventId, programId: ref.programId, err }, msg);
  // Bounded in `ingest` (past it, a long backlog, processing reads the stored payload as any other worker does).
  const handedOver: HandedOver = new Map();

  const queue = createProcessingQueue<InboxRef>({
    key: inboxKey,
    run: (ref) => attempt.processEvent(ref),
    onError: (ref, err) => log(ref, `stripe event ${ref.eventId}: processing could not be recorded`, err),
    concurrency: deps.concurrency ?? DEFAULT_CONCURRENCY,
    pacing: deps.ackPacing ?? ACK_PACING,
  });
  const attempt = createAttempt({
    db,
    now,
    log,
    metrics: deps.metrics,
    stripeApi: deps.stripeApi ?? createStripeApi(),
    programSecrets: deps.programSecrets,
    handedOver,
    enqueue: queue.enqueue,
  });
  const ingest = createIngest({ db, now, programSecrets: deps.programSecrets, handedOver, queue });
  const replay = createReplay({ db, now, logger, processEvent: attempt.processEvent, queue });

  return {
    /**
     * Forget unreferred payments older than `UNREFERRED_RETENTION_DAYS` (at most 1,000 rows a call); the
     * `sweep-stripe-events` job calls it every minute, so a backlog goes down by 1,000 a minute.
     * @returns how many were forgotten
     */
    pruneUnreferred: () =>
      pruneUnreferred(db, new Date(now().getTime() - UNREFERRED_RETENTION_DAYS * 86_400_000), 1_000),
    ingest: ingest.ingest,
    processEvent: attempt.processEvent,
    resume: replay.resume,
    /** Resolves when this process has nothing queued or running (tests, shutdown). */
    idle: queue.idle,
    processPending: replay.processPending,
    replay: replay.replay,
    setRetryScheduler: attempt.setRetryScheduler,

    /** Stop taking work and wait for what is running (call before closing the pool). */
    async close(): Promise<void> {
      await ingest.idle();
      queue.close();
      handedOver.clear();
      await queue.idle();
    },
  };
}
export type StripeWebhooksService = ReturnType<typeof createStripeWebhooksService>;
