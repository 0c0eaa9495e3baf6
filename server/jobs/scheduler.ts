/**
 * Agenda on PostgreSQL (`@agendajs/postgres-backend`), sharing the app's `pg.Pool`: jobs live in the same
 * database (table `agenda_jobs`), wake up through LISTEN/NOTIFY, and lock with `FOR UPDATE SKIP LOCKED` so
 * several processes can run workers. One file per job in this folder.
 */
import { Agenda } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type pg from 'pg';
import type { CommissionsService } from '../commissions/commissions.service.ts';
import { APPROVE_COMMISSIONS, APPROVE_COMMISSIONS_EVERY, defineApproveCommissions } from './approve-commissions.ts';
import type { PayoutsService } from '../payouts/payouts.service.ts';
import { defineGeneratePayouts, GENERATE_PAYOUTS, GENERATE_PAYOUTS_EVERY } from './generate-payouts.ts';
import type { StripeWebhooksService } from '../stripe/webhooks/webhooks.service.ts';
import {
  defineProcessStripeEvent,
  PROCESS_STRIPE_EVENT,
  scheduleStripeSweep,
  SWEEP_STRIPE_EVENTS,
} from './process-stripe-event.ts';
import type { OutgoingWebhooksService } from '../outgoing-webhooks/webhook-endpoints.service.ts';
import { DELIVER_WEBHOOKS, defineDeliverWebhooks, PRUNE_WEBHOOKS, scheduleWebhookJobs } from './deliver-webhooks.ts';
import type { MailOutbox } from '../mail/outbox.service.ts';
import { defineSendEmails, SEND_EMAILS, SEND_EMAILS_EVERY } from './send-emails.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

export interface Scheduler {
  agenda: Agenda;
  /** Start workers and ensure the recurring schedules exist (idempotent across processes). */
  start(): Promise<void>;
  /** Wait for running jobs (at most `timeoutMs`), then stop taking new ones. The pool stays open. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * `log(msg, err)` at most once per `everyMs` per message, then with how many were left out. A database outage
 * makes Agenda fail every ~100 ms.
 */
function throttled(log: (msg: string, err: Error) => void, everyMs = 10_000): (msg: string, err: Error) => void {
  const last = new Map<string, { at: number; skipped: number }>();
  return (msg, err) => {
    const now = Date.now();
    const seen = last.get(msg);
    if (seen && now - seen.at < everyMs) {
      seen.skipped++;
      return;
    }
    log(seen?.skipped ? `${msg} (${seen.skipped} more errors)` : msg, err);
    last.set(msg, { at: now, skipped: 0 });
  };
}

/**
 * Agenda over `deps.pool` with the app's jobs defined; errors of the database (LISTEN connection, job locking) are
 * logged, never thrown (see inside).
 */
export function createScheduler(deps: {
  pool: pg.Pool;
  commissions: CommissionsService;
  payouts?: PayoutsService;
  stripeWebhooks?: StripeWebhooksService;
  /** Outgoing webhooks: jobs `deliver-webhooks` and `prune-webhooks`. */
  outgoingWebhooks?: OutgoingWebhooksService;
  /** The e-mail outbox (`send-emails` job); unset sends none. */
  mailOutbox?: MailOutbox;
  /** Job lines carry `job` and `jobId` (`inJobContext`); default: nothing is logged. */
  logger?: Logger;
  /** Where failed runs are counted (`partnerkit_job_failures_total`); unset counts none. */
  metrics?: Metrics | null;
  /** How often due jobs are looked for (Agenda's `processEvery`: ms or e.g. `'30 seconds'`), default 30 s; tests poll faster. */
  processEvery?: number | string;
}): Scheduler {
  const logger = deps.logger ?? silentLogger;
  // `agenda_jobs` is made by migration 0012 (under the migrator's lock): the backend's own DDL, run by every
  // process on every start outside any lock, collided when several started at once and left `start()` hanging.
  const backend = new PostgresBackend({ pool: deps.pool, ensureSchema: false });
  // PostgreSQL going away must never crash the process (node_modules/@agendajs/postgres-backend, agenda 6.2):
  // - The LISTEN connection (`PostgresNotificationChannel`, a client checked out of our pool) has an 'error' handler
  //   that re-emits on the channel and, if it was connected, releases the client destroyed and schedules a reconnect;
  //   each failed reconnect emits 'error' again and retries (`connect()` resets the attempt count, so it retries every
  //   ~100 ms and never gives up) until PostgreSQL is back, when LISTEN resumes by itself. Without a listener on the
  //   channel, its 'error' was uncaught. Polling (`processEvery`) covers the gap.
  // - Agenda itself emits 'error' when locking or running a job fails on the database (`JobProcessor`); it has a
  //   no-op listener of its own (`agenda/dist/index.js`), so those failures went unseen. Jobs run again on the next
  //   poll.
  // Both are logged at most once per 10 s (with a count), and the channel's state changes are logged.
  const channel = backend.notificationChannel;
  const logError = throttled((msg, err) => logger.warn({ err }, `${msg}: ${err.message}`));
  channel?.on('error', (err: Error) => logError('Agenda notification channel', err));
  let lastState = channel?.state;
  channel?.on('stateChange', (state) => {
    if (state === 'connected' && (lastState === 'reconnecting' || lastState === 'error'))
      logger.info('Agenda notification channel: LISTEN connection re-established');
    else if (state === 'reconnecting' && lastState === 'connected')
      logger.warn('Agenda notification channel: LISTEN connection lost; reconnecting until the database is back');
    lastState = state;
  });
  const agenda = new Agenda({
    backend,
    processEvery: deps.processEvery ?? '30 seconds',
    defaultLockLifetime: 5 * 60_000,
  });
  agenda.on('error', (err: Error) => logError('Agenda', err));
  defineApproveCommissions(agenda, deps.commissions, logger);
  if (deps.payouts) defineGeneratePayouts(agenda, deps.payouts, logger);
  if (deps.stripeWebhooks) defineProcessStripeEvent(agenda, deps.stripeWebhooks, logger);
  if (deps.outgoingWebhooks) defineDeliverWebhooks(agenda, deps.outgoingWebhooks, logger);
  if (deps.mailOutbox) defineSendEmails(agenda, deps.mailOutbox, logger);
  // A run that threw, in this process (`remote`: another process's run, relayed by Agenda; that one counts it).
  const jobs = [APPROVE_COMMISSIONS];
  if (deps.payouts) jobs.push(GENERATE_PAYOUTS);
  if (deps.stripeWebhooks) jobs.push(PROCESS_STRIPE_EVENT, SWEEP_STRIPE_EVENTS);
  if (deps.outgoingWebhooks) jobs.push(DELIVER_WEBHOOKS, PRUNE_WEBHOOKS);
  if (deps.mailOutbox) jobs.push(SEND_EMAILS);
  for (const job of jobs) deps.metrics?.jobFailures.inc({ job }, 0);
  agenda.on('fail', (err, job, remote) => {
    if (remote) return;
    deps.metrics?.jobFailures.inc({ job: job.attrs.name });
    logger.error({ err, job: job.attrs.name, jobId: String(job.attrs._id) }, `job ${job.attrs.name} failed`);
  });
  let started = false;
  return {
    agenda,
    async start() {
      await agenda.start();
      started = true;
      // `every` upserts one recurring job per name, so several processes share one schedule.
      await agenda.every(APPROVE_COMMISSIONS_EVERY, APPROVE_COMMISSIONS, undefined, { skipImmediate: false });
      if (deps.payouts) await agenda.every(GENERATE_PAYOUTS_EVERY, GENERATE_PAYOUTS, {}, { skipImmediate: false });
      if (deps.stripeWebhooks) await scheduleStripeSweep(agenda);
      if (deps.outgoingWebhooks) await scheduleWebhookJobs(agenda);
      if (deps.mailOutbox) await agenda.every(SEND_EMAILS_EVERY, SEND_EMAILS, undefined, { skipImmediate: false });
    },
    async stop(timeoutMs = 10_000) {
      deps.stripeWebhooks?.setRetryScheduler(null);
      if (!started) return;
      started = false;
      await agenda.drain({ timeout: timeoutMs, closeConnection: false });
    },
  };
}
