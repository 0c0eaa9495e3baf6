/**
 * Jobs `process-stripe-event` and `sweep-stripe-events`: the retry path of Stripe webhook processing.
 *
 * Events are processed in the receiving process right after the acknowledgement (`stripe/webhooks/`);
 * these jobs are what makes that durable:
 * - `process-stripe-event` `{ programId, eventId }`: one event's retry, scheduled at the inbox row's backoff
 *   (`RETRY_DELAYS_MS`) when an attempt failed or waited for its sale. One job per event (`unique`), removed when
 *   done. Agenda's own backoff covers the rare case where the attempt could not even be recorded (database down).
 * - `sweep-stripe-events` (every minute): every inbox row that is due (`received` or `retrying` past
 *   `next_attempt_at`): events left by a process that stopped between the acknowledgement and processing, retries
 *   of web processes that run without jobs (`JOBS=off`), retries whose job was lost. It also forgets the ids of
 *   unreferred payments older than `UNREFERRED_RETENTION_DAYS` (`pruneUnreferred`, 1,000 a run).
 * - start-up: when the scheduler starts, the stored events that are due are processed at once (`scheduleStripeSweep`).
 * Both are idempotent: an attempt locks the row (`FOR UPDATE SKIP LOCKED`) and skips events already done.
 *
 * Retries scheduled while this process runs the event's own job reschedule that job (`job.schedule`): Agenda then
 * saves it with the new `next_run_at` when the handler returns, and does not remove it (it is then saved once more,
 * which notifies the workers as a new retry does). Scheduling them through Agenda's `unique` upsert instead (what
 * every other retry does) found the running job's own row: the backend's
 * `saveJob` SELECTs it, then UPDATEs it `RETURNING *`, while Agenda saves the finished job and removes it
 * (`removeOnComplete`). A removal between the two statements left `RETURNING` empty and `saveJob` threw
 * `Cannot read properties of undefined (reading 'id')` (@agendajs/postgres-backend 3.0.6, `rowToJob(undefined)`);
 * a removal after them deleted the retry. Both left the event to the minute sweep. The same race can still meet a
 * retry scheduled outside the job (the acknowledging process, the sweep, another process) just as the event's job
 * finishes elsewhere: that save is tried once more, when the row is gone and the upsert inserts a new one.
 */
import { exponential, type Agenda, type Job } from 'agenda';
import type { StripeWebhooksService } from '../stripe/webhooks/webhooks.service.ts';
import { inJobContext, type Logger } from '../lib/logger.ts';

export const PROCESS_STRIPE_EVENT = 'process-stripe-event';
export const SWEEP_STRIPE_EVENTS = 'sweep-stripe-events';
export const SWEEP_STRIPE_EVENTS_EVERY = '1 minute';

interface ProcessStripeEventData {
  programId: string;
  eventId: string;
}

export function defineProcessStripeEvent(agenda: Agenda, webhooks: StripeWebhooksService, logger: Logger): void {
  /** Event key → its `process-stripe-event` job while this process runs it. */
  const running = new Map<string, Job<ProcessStripeEventData>>();
  /** Jobs rescheduled by their own attempt, until Agenda has saved them. */
  const rescheduled = new WeakSet<Job>();
  // Agenda saves a finished job without notifying the workers (they would find it at their next poll, up to
  // `processEvery` late); saving it once more through the public API publishes it as any new retry is.
  agenda.on(`complete:${PROCESS_STRIPE_EVENT}`, (job: Job) => {
    if (!rescheduled.has(job)) return;
    rescheduled.delete(job);
    job
      .save()
      .catch((err: Error) =>
        logger.warn(
          { err, job: PROCESS_STRIPE_EVENT },
          `process-stripe-event: announcing a retry failed: ${err.message}`,
        ),
      );
  });
  const keyOf = (r: ProcessStripeEventData) => `${r.programId}\u0000${r.eventId}`;
  agenda.define<ProcessStripeEventData>(
    PROCESS_STRIPE_EVENT,
    inJobContext(PROCESS_STRIPE_EVENT, async (job: Job<ProcessStripeEventData>) => {
      const { programId, eventId } = job.attrs.data;
      const key = keyOf(job.attrs.data);
      running.set(key, job);
      try {
        const result = await webhooks.processEvent({ programId, eventId }, { ignoreSchedule: true });
        if (result === 'failed')
          logger.error(
            { stripeEventId: eventId, programId },
            `process-stripe-event: ${eventId} failed for good (see its inbox row)`,
          );
      } finally {
        if (running.get(key) === job) running.delete(key);
      }
    }),
    { concurrency: 4, removeOnComplete: true, backoff: exponential({ delay: 5_000, factor: 3, maxRetries: 5 }) },
  );
  agenda.define(
    SWEEP_STRIPE_EVENTS,
    inJobContext(SWEEP_STRIPE_EVENTS, async () => {
      const n = await webhooks.processPending({ limit: 1000 });
      if (n > 0) logger.info(`sweep-stripe-events: ${n} event attempt(s)`);
      const forgotten = await webhooks.pruneUnreferred();
      if (forgotten > 0) logger.info(`sweep-stripe-events: ${forgotten} old unreferred payment(s) forgotten`);
    }),
  );
  webhooks.setRetryScheduler(async (ref, delayMs) => {
    const at = new Date(Date.now() + delayMs);
    // Synchronously, before the attempt returns to the job's handler: Agenda saves `nextRunAt` when it returns.
    const own = running.get(keyOf(ref));
    if (own) {
      own.schedule(at);
      rescheduled.add(own);
      return;
    }
    const save = () =>
      agenda
        .create<ProcessStripeEventData>(PROCESS_STRIPE_EVENT, { programId: ref.programId, eventId: ref.eventId })
        .unique({ 'data.programId': ref.programId, 'data.eventId': ref.eventId })
        .schedule(at)
        .save();
    try {
      await save();
    } catch {
      // The job row the upsert found was removed before its UPDATE (see the module header): insert anew.
      await save();
    }
  });
  resumers.set(agenda, () => {
    void webhooks.resume();
  });
}

/** Agenda → the start-up pass of the webhooks service its jobs were defined for (`defineProcessStripeEvent`). */
const resumers = new WeakMap<Agenda, () => void>();

/**
 * Ensure the recurring sweep exists (upserted by name: several processes share one schedule), and start
 * processing the stored events that are due now at once (`StripeWebhooksService.resume`, in the background): events
 * acknowledged before a crash or a restart do not wait for the sweep's next run. Called when the scheduler starts.
 */
export async function scheduleStripeSweep(agenda: Agenda): Promise<void> {
  await agenda.every(SWEEP_STRIPE_EVENTS_EVERY, SWEEP_STRIPE_EVENTS, undefined, { skipImmediate: false });
  resumers.get(agenda)?.();
}
