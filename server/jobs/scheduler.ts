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
import type { StripeWebhooksService } from '../stripe/stripe-webhooks.service.ts';
import { defineProcessStripeEvent, scheduleStripeSweep } from './process-stripe-event.ts';

export interface Scheduler {
  agenda: Agenda;
  /** Start workers and ensure the recurring schedules exist (idempotent across processes). */
  start(): Promise<void>;
  /** Wait for running jobs (at most `timeoutMs`), then stop taking new ones. The pool stays open. */
  stop(timeoutMs?: number): Promise<void>;
}

export function createScheduler(deps: {
  pool: pg.Pool;
  commissions: CommissionsService;
  payouts?: PayoutsService;
  stripeWebhooks?: StripeWebhooksService;
  log: (msg: string) => void;
}): Scheduler {
  const backend = new PostgresBackend({ pool: deps.pool });
  // The LISTEN connection's errors are emitted on the channel: without a listener one crashed the process
  // (seen at shutdown, when PostgreSQL ends the connection Agenda had just released). The channel reconnects by
  // itself; polling (`processEvery`) covers the gap.
  backend.notificationChannel?.on('error', (err) => deps.log(`Agenda notification channel: ${err.message}`));
  const agenda = new Agenda({
    backend,
    processEvery: '30 seconds',
    defaultLockLifetime: 5 * 60_000,
  });
  defineApproveCommissions(agenda, deps.commissions, deps.log);
  if (deps.payouts) defineGeneratePayouts(agenda, deps.payouts, deps.log);
  if (deps.stripeWebhooks) defineProcessStripeEvent(agenda, deps.stripeWebhooks, deps.log);
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
    },
    async stop(timeoutMs = 10_000) {
      deps.stripeWebhooks?.setRetryScheduler(null);
      if (!started) return;
      started = false;
      await agenda.drain({ timeout: timeoutMs, closeConnection: false });
    },
  };
}
