/**
 * The shape of one Stripe event handler. A handler runs inside the transaction that also marks the inbox
 * row, so an event's effects and its `processed` status commit together or not at all.
 */
import type { DbOrTrx } from '../../db/database.ts';
import type { ProgramRow } from '../../db/schema.ts';
import type { StripeEventEnvelope } from '../stripe-objects.ts';

export type HandlerOutcome =
  | { status: 'processed'; note?: string }
  /** Nothing to do for this event; `reason` is stored on the inbox row (e.g. `no_referral`). */
  | { status: 'ignored'; reason: string };

export type StripeEventHandler = (trx: DbOrTrx, program: ProgramRow, event: StripeEventEnvelope) => Promise<HandlerOutcome>;

export const ignored = (reason: string): HandlerOutcome => ({ status: 'ignored', reason });
