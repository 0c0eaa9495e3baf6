/**
 * Payments made outside Checkout and Invoices — Stripe Elements, or the PaymentIntents / Charges API called by
 * the merchant — reported by `payment_intent.succeeded` and `charge.succeeded`. One sale per payment, keyed by
 * its payment intent (a charge without one — the legacy Charges API — by its charge id), so both events of one
 * payment, in either order, record it once.
 *
 * A payment intent that belongs to a Checkout Session or an invoice is that path's sale (its amount excludes tax,
 * its line items feed product rules); it must not become a second conversion, nor the first one with the wrong
 * facts:
 * - already recorded under the payment intent or charge id (Checkout records its payment intent): a duplicate;
 * - the payload says it paid an invoice (`invoice`, payloads before 2025-03-31): `invoice.paid` records it;
 * - with the program's restricted key, Stripe says which Checkout Session created it
 *   (`GET /v1/checkout/sessions?payment_intent=`) or which invoice it paid (`GET /v1/invoice_payments`): left to
 *   that path;
 * - without a key nothing in a current payload tells, so a payment younger than `CHECKOUT_GRACE_MS` is deferred:
 *   the Checkout Session or invoice it belongs to normally arrives within seconds and wakes it (its payment intent
 *   is among the ids the sale is known by), and it then ends as a duplicate. After the grace period, an invoice
 *   sale of the same customer, currency and gross amount within that period that knows no payment intent is taken
 *   to be this payment (it learns the payment intent id); otherwise the payment is a sale of its own.
 *
 * Attribution comes first (a payment nobody referred costs no Stripe call and no wait): metadata
 * `partnerkit_referral` on the payment intent (or charge) — the merchant tags the payment; the attribution window
 * must be open —, then the usual sources (`attribution.ts`: the customer bound by `customer.created` metadata or an
 * earlier sale, customer metadata read with the key, a lead's e-mail).
 * Amount: what was received (`amount_received`; a charge's `amount_captured`), tax included — these objects do not
 * break tax out. Zero earns nothing.
 * Sources: https://docs.stripe.com/api/events/types#event_types-payment_intent.succeeded,
 * https://docs.stripe.com/api/events/types#event_types-charge.succeeded, https://docs.stripe.com/changelog/basil
 */
import { z } from 'zod';
import { recordSale, REFERRAL_ID } from '../conversions/conversions.service.ts';
import { fillMissingKeys, findSaleByKeys } from '../conversions/conversions.repository.ts';
import { findReferral } from '../conversions/referrals-lookup.repository.ts';
import { attributePayment, REFERRAL_METADATA_KEY } from './attribution.ts';
import { currencyCode, minorUnits, stripeMetadata, stripeRef, unixSeconds } from './stripe-objects.ts';
import type { StripeEventEnvelope } from './stripe-objects.ts';
import {
  alreadyRecorded,
  ignored,
  presentIds,
  SHORT_WAIT,
  type HandlerContext,
  type HandlerOutcome,
} from './handlers/handler.ts';

/**
 * How long a payment intent without a key waits for its Checkout Session or invoice before it counts on its own.
 * The retries of a deferred event come after 2 s, 10 s and 1 min (`RETRY_DELAYS_MS`), so such a sale is recorded
 * about 72 s after it happened, or at once when its session or invoice arrives.
 */
export const CHECKOUT_GRACE_MS = 60_000;

/**
 * Without a key, a current-payload payment intent of a customer who has a subscription with us (a sale with a
 * subscription id) is most likely that subscription's invoice payment: it waits this long (Stripe's time of the
 * payment to our clock) for the `invoice.paid`, which Stripe may deliver much later than the payment intent when a
 * delivery failed and is retried. The invoice's sale wakes it at once (it waits for the customer id); after the
 * wait it counts on its own (a one-off payment of a subscriber). The retries that run it fall at about 6 min,
 * 36 min and 2.6 h (`RETRY_DELAYS_MS`).
 */
export const SUBSCRIBER_INVOICE_WAIT_MS = 2 * 3_600_000;

export const paymentIntentObject = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('payment_intent'),
  amount: minorUnits,
  amount_received: minorUnits.nullish(),
  currency: currencyCode,
  customer: stripeRef,
  metadata: stripeMetadata,
  status: z.string().nullish(),
  latest_charge: stripeRef.optional(),
  receipt_email: z.string().max(512).nullish().catch(null),
  // before 2025-03-31 only
  invoice: stripeRef.optional(),
  created: unixSeconds.optional(),
});

export const succeededCharge = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('charge'),
  amount: minorUnits,
  amount_captured: minorUnits.nullish(),
  captured: z.boolean().nullish(),
  paid: z.boolean().nullish(),
  status: z.string().nullish(),
  currency: currencyCode,
  customer: stripeRef,
  payment_intent: stripeRef,
  metadata: stripeMetadata,
  receipt_email: z.string().max(512).nullish().catch(null),
  billing_details: z
    .looseObject({ email: z.string().max(512).nullish() })
    .nullish()
    .catch(null),
  // before 2025-03-31 only
  invoice: stripeRef.optional(),
  created: unixSeconds.optional(),
});

/** One direct payment, whichever event reported it. */
export interface DirectPayment {
  paymentIntentId: string | null;
  chargeId: string | null;
  /** The invoice it paid when the payload says (legacy); undefined = the payload cannot say. */
  invoiceId: string | null | undefined;
  amount: number;
  currency: string;
  customerId: string | null;
  metadata: Record<string, string>;
  email: string | null;
}

/**
 * Record a direct payment as a sale once (see the module header for what is left to Checkout and invoices).
 * @throws StripeApiError when a Stripe read fails (the event is retried)
 */
export async function recordDirectPayment(
  ctx: HandlerContext,
  event: StripeEventEnvelope,
  p: DirectPayment,
): Promise<HandlerOutcome> {
  const { trx, program } = ctx;
  if (p.amount <= 0) return ignored('zero_amount');
  if (p.invoiceId) return ignored('invoice_payment');
  const keys = { paymentIntentId: p.paymentIntentId, chargeId: p.chargeId };
  const wakes = [p.paymentIntentId, p.chargeId].filter((v): v is string => Boolean(v));

  const existing = await findSaleByKeys(trx, program.id, keys);
  if (existing) {
    await fillMissingKeys(trx, existing, { ...keys, customerId: p.customerId });
    return alreadyRecorded(event, existing, wakes);
  }

  const occurredAt = new Date(event.created * 1000);
  const tagged = p.metadata[REFERRAL_METADATA_KEY];
  let referral = null;
  let attributedBy: string | null = null;
  let failure: 'unknown_referral' | 'referral_expired' | null = null;
  if (tagged && REFERRAL_ID.test(tagged)) {
    const r = await findReferral(trx, program.id, tagged);
    if (!r) failure = 'unknown_referral';
    else if (r.expires_at < occurredAt) failure = 'referral_expired';
    else {
      referral = r;
      attributedBy = 'payment_metadata';
    }
  }
  if (!referral) {
    const attribution = await attributePayment(ctx, {
      occurredAt,
      customerId: p.customerId,
      email: p.email,
    });
    if (!attribution.referral) {
      const reason = attribution.reason === 'no_referral' ? (failure ?? 'no_referral') : attribution.reason;
      // Nobody's payment (a Checkout Session's that names its referral otherwise still records its sale, and a
      // refund ignored meanwhile is run again by it).
      if (reason !== 'no_referral' || !p.customerId) return { status: 'ignored', reason, unreferred: wakes };
      // Its `customer.created` with the referral may not have been processed yet (Stripe sends them in the same
      // burst, unordered): wait a little for the customer's binding, which wakes it.
      return {
        status: 'deferred',
        reason,
        waitingFor: presentIds(p.customerId, ...wakes),
        giveUp: 'ignored',
        maxAttempts: SHORT_WAIT,
        unreferred: wakes,
      };
    }
    referral = attribution.referral;
    attributedBy = attribution.source;
  }

  // Attributed: is it really a payment of its own (not a Checkout Session's or an invoice's)?
  if (p.paymentIntentId) {
    if (ctx.stripe) {
      if (await ctx.stripe.checkoutSessionForPaymentIntent(p.paymentIntentId)) return ignored('checkout_payment');
      if (await ctx.stripe.invoiceForPaymentIntent(p.paymentIntentId)) return ignored('invoice_payment');
    } else {
      const waited = ctx.now.getTime() - occurredAt.getTime();
      if (waited < CHECKOUT_GRACE_MS) {
        return { status: 'deferred', reason: 'awaiting_checkout_or_invoice', waitingFor: wakes };
      }
      const invoiceSale = await findInvoiceSaleLike(ctx, referral.id, p, occurredAt);
      if (invoiceSale) {
        await fillMissingKeys(trx, invoiceSale, keys);
        return { status: 'ignored', reason: 'duplicate_sale', wakes };
      }
      if (
        waited < SUBSCRIBER_INVOICE_WAIT_MS &&
        p.invoiceId === undefined &&
        attributedBy === 'customer' &&
        p.customerId &&
        (await hasSubscriptionSale(ctx, referral.id, p.customerId))
      ) {
        return { status: 'deferred', reason: 'awaiting_invoice', waitingFor: presentIds(p.customerId, ...wakes) };
      }
    }
  }

  const result = await recordSale(trx, program, referral, {
    amount: p.amount,
    currency: p.currency,
    occurredAt,
    source: 'stripe',
    grossAmount: p.amount,
    sequence: 1,
    attributedBy,
    stripeEventId: event.id,
    stripePaymentIntentId: p.paymentIntentId,
    stripeChargeId: p.chargeId,
    stripeCustomerId: p.customerId,
    customerEmail: p.email,
  });
  return result.duplicate ? alreadyRecorded(event, result.conversion, wakes) : { status: 'processed', wakes };
}

/**
 * Whether the customer has a subscription's sale with us under its referral (see `SUBSCRIBER_INVOICE_WAIT_MS`); by
 * referral first: `conversions_referral_time_idx`.
 */
async function hasSubscriptionSale(ctx: HandlerContext, referralId: string, customerId: string): Promise<boolean> {
  const row = await ctx.trx
    .selectFrom('conversions')
    .select('id')
    .where('referral_id', '=', referralId)
    .where('program_id', '=', ctx.program.id)
    .where('stripe_customer_id', '=', customerId)
    .where('kind', '=', 'sale')
    .where('stripe_subscription_id', 'is not', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Without a key: an invoice sale that is most likely this payment — same referral and customer, currency and gross
 * amount, within the grace period of it, and no payment intent known (current invoice payloads do not name theirs).
 * One range of `conversions_referral_time_idx`.
 */
async function findInvoiceSaleLike(ctx: HandlerContext, referralId: string, p: DirectPayment, occurredAt: Date) {
  if (!p.customerId) return undefined;
  return ctx.trx
    .selectFrom('conversions')
    .selectAll()
    .where('referral_id', '=', referralId)
    .where('program_id', '=', ctx.program.id)
    .where('kind', '=', 'sale')
    .where('stripe_customer_id', '=', p.customerId)
    .where('stripe_invoice_id', 'is not', null)
    .where('stripe_payment_intent_id', 'is', null)
    .where('currency', '=', p.currency)
    .where('gross_amount', '=', p.amount)
    .where('occurred_at', '>=', new Date(occurredAt.getTime() - CHECKOUT_GRACE_MS))
    .where('occurred_at', '<=', new Date(occurredAt.getTime() + CHECKOUT_GRACE_MS))
    .orderBy('occurred_at')
    .limit(1)
    .executeTakeFirst();
}
