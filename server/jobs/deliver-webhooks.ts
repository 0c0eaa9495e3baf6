/**
 * Jobs `deliver-webhooks` (every 5 s: passes over the due outgoing webhook deliveries, `deliverDue`, repeated
 * while a pass was full, for at most 15 s) and `prune-webhooks` (hourly: events older than 30 days that nothing waits for are
 * forgotten with their deliveries and log). Safe on N instances: a pass claims rows with `FOR UPDATE SKIP LOCKED`.
 */
import type { Agenda, Job } from 'agenda';
import type { OutgoingWebhooksService } from '../outgoing-webhooks/webhook-endpoints.service.ts';
import { inJobContext, type Logger } from '../lib/logger.ts';

export const DELIVER_WEBHOOKS = 'deliver-webhooks';
export const DELIVER_WEBHOOKS_EVERY = '5 seconds';
export const PRUNE_WEBHOOKS = 'prune-webhooks';
export const PRUNE_WEBHOOKS_EVERY = '1 hour';
const PASS = 32;
/** A run stops starting passes after this long, ms (a run of a killed process blocks the job until its lock expires). */
const RUN_BUDGET_MS = 15_000;
/**
 * The job's Agenda lock, ms: short, so a run of a killed process holds the job up for at most this long. A run that
 * outlives it may meet a second one: harmless, the two claim disjoint deliveries (`SKIP LOCKED`, leases).
 */
const LOCK_LIFETIME_MS = 20_000;

export function defineDeliverWebhooks(agenda: Agenda, webhooks: OutgoingWebhooksService, logger: Logger): void {
  agenda.define(
    DELIVER_WEBHOOKS,
    inJobContext(DELIVER_WEBHOOKS, async () => {
      const began = Date.now();
      while (Date.now() - began < RUN_BUDGET_MS) if ((await webhooks.deliverDue({ limit: PASS })) < PASS) break;
    }),
    { lockLifetime: LOCK_LIFETIME_MS },
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
