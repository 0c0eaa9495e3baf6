/**
 * Jobs `deliver-webhooks` (every 5 s: one pass over the due outgoing webhook deliveries, `deliverDue`; passes
 * repeat while a pass was full) and `prune-webhooks` (hourly: events older than 30 days that nothing waits for are
 * forgotten with their deliveries and log). Safe on N instances: a pass claims rows with `FOR UPDATE SKIP LOCKED`.
 */
import type { Agenda, Job } from 'agenda';
import type { OutgoingWebhooksService } from '../outgoing-webhooks/webhook-endpoints.service.ts';
import { inJobContext, type Logger } from '../lib/logger.ts';

export const DELIVER_WEBHOOKS = 'deliver-webhooks';
export const DELIVER_WEBHOOKS_EVERY = '5 seconds';
export const PRUNE_WEBHOOKS = 'prune-webhooks';
export const PRUNE_WEBHOOKS_EVERY = '1 hour';
const PASS = 100;

export function defineDeliverWebhooks(agenda: Agenda, webhooks: OutgoingWebhooksService, logger: Logger): void {
  agenda.define(
    DELIVER_WEBHOOKS,
    inJobContext(DELIVER_WEBHOOKS, async () => {
      for (let i = 0; i < 10; i++) if ((await webhooks.deliverDue({ limit: PASS })) < PASS) break;
    }),
  );
  // Agenda saves a finished recurring job without notifying the workers (they would see its next run only at their
  // next poll, `processEvery`, 30 s); saving it again publishes it (as in process-stripe-event.ts).
  agenda.on(`complete:${DELIVER_WEBHOOKS}`, (job: Job) => {
    job.save().catch(() => {});
  });
  agenda.define(
    PRUNE_WEBHOOKS,
    inJobContext(PRUNE_WEBHOOKS, async () => {
      const n = await webhooks.pruneDelivered();
      if (n > 0) logger.info(`prune-webhooks: ${n} old webhook event(s) forgotten`);
    }),
  );
}

/** Ensure both recurring schedules exist (upserted by name: several processes share them). */
export async function scheduleWebhookJobs(agenda: Agenda): Promise<void> {
  await agenda.every(DELIVER_WEBHOOKS_EVERY, DELIVER_WEBHOOKS, undefined, { skipImmediate: false });
  await agenda.every(PRUNE_WEBHOOKS_EVERY, PRUNE_WEBHOOKS, undefined, { skipImmediate: false });
}
