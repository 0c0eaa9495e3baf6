/**
 * Jobs `process-stripe-event` and `sweep-stripe-events`: the retry path of Stripe webhook processing.
 *
 * Events are processed in the receiving process right after the acknowledgement (`stripe-webhooks.service.ts`);
 * these jobs are what makes that durable:
 * - `process-stripe-event` `{ programId, eventId }`: one event's retry, scheduled at the inbox row's backoff
 *   (`RETRY_DELAYS_MS`) when an attempt failed or waited for its sale. One job per event (`unique`), removed when
 *   done. Agenda's own backoff covers the rare case where the attempt could not even be recorded (database down).
 * - `sweep-stripe-events` (every minute): every inbox row that is due (`received` or `retrying` past
 *   `next_attempt_at`): events left by a process that stopped between the acknowledgement and processing, retries
 *   of web processes that run without jobs (`JOBS=off`), retries whose job was lost.
 * Both are idempotent: an attempt locks the row (`FOR UPDATE SKIP LOCKED`) and skips events already done.
 */
import { exponential, type Agenda } from 'agenda';
import type { StripeWebhooksService } from '../stripe/stripe-webhooks.service.ts';

export const PROCESS_STRIPE_EVENT = 'process-stripe-event';
export const SWEEP_STRIPE_EVENTS = 'sweep-stripe-events';
export const SWEEP_STRIPE_EVENTS_EVERY = '1 minute';

interface ProcessStripeEventData {
  programId: string;
  eventId: string;
}

export function defineProcessStripeEvent(
  agenda: Agenda,
  webhooks: StripeWebhooksService,
  log: (msg: string) => void,
): void {
  agenda.define<ProcessStripeEventData>(
    PROCESS_STRIPE_EVENT,
    async (job) => {
      const { programId, eventId } = job.attrs.data;
      const result = await webhooks.processEvent({ programId, eventId }, { ignoreSchedule: true });
      if (result === 'failed') log(`process-stripe-event: ${eventId} failed for good (see its inbox row)`);
    },
    { concurrency: 4, removeOnComplete: true, backoff: exponential({ delay: 5_000, factor: 3, maxRetries: 5 }) },
  );
  agenda.define(SWEEP_STRIPE_EVENTS, async () => {
    const n = await webhooks.processPending({ limit: 1000 });
    if (n > 0) log(`sweep-stripe-events: ${n} event attempt(s)`);
  });
  webhooks.setRetryScheduler(async (ref, delayMs) => {
    await agenda
      .create<ProcessStripeEventData>(PROCESS_STRIPE_EVENT, { programId: ref.programId, eventId: ref.eventId })
      .unique({ 'data.programId': ref.programId, 'data.eventId': ref.eventId })
      .schedule(new Date(Date.now() + delayMs))
      .save();
  });
}

/** Ensure the recurring sweep exists (upserted by name: several processes share one schedule). */
export async function scheduleStripeSweep(agenda: Agenda): Promise<void> {
  await agenda.every(SWEEP_STRIPE_EVENTS_EVERY, SWEEP_STRIPE_EVENTS, undefined, { skipImmediate: false });
}
