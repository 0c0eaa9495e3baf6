/**
 * The shape of one Stripe event handler. A handler runs inside the transaction that also marks the inbox
 * row, so an event's effects and its outcome commit together or not at all. A handler never throws for a
 * payload it does not understand (it answers `ignored` with the reason); it throws only for failures worth a
 * retry (database, Stripe API), and the event is then retried with backoff.
 */
import type { DbOrTrx } from '../../db/database.ts';
import type { ProgramRow } from '../../db/schema.ts';
import type { StripeReader } from '../stripe-api.ts';
import type { StripeEventEnvelope } from '../stripe-objects.ts';
import { isUnreferred } from '../unreferred-payments.repository.ts';

export interface HandlerContext {
  trx: DbOrTrx;
  program: ProgramRow;
  /** Reads from the Stripe API with the program's restricted key; null when the program has none. */
  stripe: StripeReader | null;
  /** The service clock, for bookkeeping times (event times come from the event). */
  now: Date;
}

export type HandlerOutcome =
  /** Done. `wakes`: Stripe ids of a sale just recorded; refunds or disputes waiting for them run now. */
  | { status: 'processed'; wakes?: string[] }
  /**
   * Nothing to do for this event; `reason` is stored on the inbox row (e.g. `no_referral`). A duplicate sale
   * may still have taught the conversion new Stripe ids (`wakes`). `unreferred`: Stripe ids of a payment attributed
   * to no referral, remembered (`unreferred-payments.repository.ts`) so that its refunds and disputes end at once;
   * events waiting for them are woken. `waitingFor`: kept on the row, so a sale recorded later with one of these ids
   * still runs the event (a refund ignored because its payment looked unreferred).
   */
  | { status: 'ignored'; reason: string; wakes?: string[]; unreferred?: string[]; waitingFor?: string[] }
  /**
   * Not yet: the event is about a sale we have not recorded (a refund that arrived before its sale, an invoice of
   * a subscription whose checkout has not arrived). Retried with backoff, and at once when a sale known by one of
   * `waitingFor` (Stripe ids: payment intent, charge, invoice, session, subscription, customer) is recorded.
   * After the last attempt the event ends `giveUp` (default `failed`: it could never be applied; `ignored` when
   * never finding the sale is the usual answer, e.g. an invoice of a subscription no affiliate referred), keeping
   * `waiting_for`, so a sale recorded even later still runs it. `maxAttempts` (at most, and by default,
   * `MAX_ATTEMPTS`) shortens the backoff for events that usually never find what they wait for: their wake-up is
   * what runs them, the retries only cover a missed one.
   */
  | {
      status: 'deferred';
      reason: string;
      waitingFor: string[];
      giveUp?: 'failed' | 'ignored';
      maxAttempts?: number;
      /** Stripe ids remembered as a payment nobody referred when it gives up (see `ignored`). */
      unreferred?: string[];
    };

/**
 * Attempts (first try, then retries after 2 s and 10 s) of a deferral that usually never ends: an invoice of a
 * subscription nobody referred waits for a checkout that will not name a referral. What it waits for wakes it at
 * any later time anyway (`waiting_for` is kept).
 */
export const SHORT_WAIT = 3;

export type StripeEventHandler = (ctx: HandlerContext, event: StripeEventEnvelope) => Promise<HandlerOutcome>;

export const ignored = (reason: string): HandlerOutcome => ({ status: 'ignored', reason });

/**
 * The outcome for a sale found already recorded: `processed` when this very event recorded it (a replay of a
 * processed event — `stripe replay`, `POST /api/v1/stripe-events/:id/replay` —: its effects exist, nothing is
 * added and its inbox row stays `processed`), else `ignored` `duplicate_sale` (another event of the same payment).
 */
export const alreadyRecorded = (
  event: { id: string },
  sale: { stripe_event_id: string | null },
  wakes: string[],
): HandlerOutcome =>
  sale.stripe_event_id === event.id
    ? { status: 'processed', wakes }
    : { status: 'ignored', reason: 'duplicate_sale', wakes };

/** The Stripe ids among `ids` that are set, each once. */
export const presentIds = (...ids: (string | null | undefined)[]): string[] => [
  ...new Set(ids.filter((v): v is string => Boolean(v))),
];

/**
 * The outcome of an event about a payment whose sale is not recorded, when that payment is one we saw and
 * attributed to no referral: `ignored` (`sale_not_referred`), still run if a sale with one of `waitingFor` comes.
 * `null` when the payment is not known as unreferred (the caller defers, as before).
 * @param unreferred more ids of the same payment to remember as nobody's (what this event links to it)
 */
export async function ifUnreferred(
  ctx: HandlerContext,
  waitingFor: string[],
  unreferred?: string[],
): Promise<HandlerOutcome | null> {
  if (!(await isUnreferred(ctx.trx, ctx.program.id, waitingFor))) return null;
  return { status: 'ignored', reason: 'sale_not_referred', waitingFor, ...(unreferred?.length ? { unreferred } : {}) };
}

/** The first failing path of a zod error, for the inbox row: `malformed_charge: amount_refunded`. */
export const malformed = (what: string, issues: readonly { path: readonly PropertyKey[] }[]): HandlerOutcome =>
  ignored(`malformed_${what}: ${issues[0]?.path.map(String).join('.') || 'object'}`);

/**
 * The outcome of an event (refund, dispute, credit note, fraud warning) whose sale is not recorded: `ignored`
 * (`sale_not_referred`) when its payment is one nobody referred (`ifUnreferred`), else deferred (`sale_not_found`)
 * until a sale known by one of `waitingFor` is recorded.
 * @param opts what it ends as after its last attempt (default `failed`)
 */
export async function awaitSale(
  ctx: HandlerContext,
  waitingFor: string[],
  opts: { giveUp?: 'failed' | 'ignored' } = {},
): Promise<HandlerOutcome> {
  return (await ifUnreferred(ctx, waitingFor)) ?? { status: 'deferred', reason: 'sale_not_found', waitingFor, ...opts };
}
