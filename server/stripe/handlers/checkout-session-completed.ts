/**
 * `checkout.session.completed`: a paid Checkout Session (mode `payment` or `subscription`) attributed to a
 * referral (`attribution.ts`) becomes one sale conversion and its commission. The amount is what was paid
 * excluding tax: `amount_total − total_details.amount_tax` (minor units, in the session's currency).
 *
 * - Unpaid sessions (`payment_status: unpaid`: a delayed payment method) are skipped; the sale arrives with
 *   `checkout.session.async_payment_succeeded` (same code, `checkout-session-async-payment-succeeded.ts`).
 * - A zero amount (a trial, a 100 % discount) earns nothing, but binds the Stripe customer to the referral, so
 *   the first paid invoice after the trial is the affiliate's.
 * - A subscription checkout and its first `invoice.paid` are the same sale: the session's invoice id, or the
 *   subscription's first-payment key, makes the second one a duplicate. Invoices of the subscription that came
 *   first (deferred: no referral yet) are woken by the sale's subscription and customer ids.
 * - Product / price rules need the line items, which the payload lacks: `checkout-line-items.ts` reads them with
 *   the restricted key (per-line rules), or flags the commission `line_items_unavailable`.
 * - Its payment intent's `payment_intent.succeeded` / `charge.succeeded` are this sale (`direct-payment.ts`).
 * Source: https://docs.stripe.com/api/events/types#event_types-checkout.session.completed
 */
import { recordSale } from '../../conversions/conversions.service.ts';
import { bindCustomer } from '../../conversions/referrals-lookup.repository.ts';
import { attributePayment } from '../attribution.ts';
import { checkoutLineItems } from '../checkout-line-items.ts';
import { checkoutSession } from '../stripe-objects.ts';
import {
  alreadyRecorded,
  ignored,
  malformed,
  presentIds,
  type HandlerOutcome,
  type StripeEventHandler,
} from './handler.ts';

export const handleCheckoutSession: StripeEventHandler = async (ctx, event): Promise<HandlerOutcome> => {
  const parsed = checkoutSession.safeParse(event.data.object);
  if (!parsed.success) return malformed('checkout_session', parsed.error.issues);
  const s = parsed.data;
  if (s.mode === 'setup') return ignored('setup_mode');
  if (s.payment_status === 'unpaid') return ignored('unpaid');
  if (!s.currency) return ignored('no_currency');

  const occurredAt = new Date(event.created * 1000);
  const email = s.customer_details?.email ?? s.customer_email ?? null;
  const attribution = await attributePayment(ctx, {
    occurredAt,
    clientReferenceId: s.client_reference_id,
    sessionMetadata: s.metadata,
    subscriptionId: s.subscription,
    customerId: s.customer,
    promotionCodeIds: s.discounts,
    email,
  });
  if (!attribution.referral)
    // Nobody's sale: its refunds and disputes, and its subscription's invoices, need not wait for it.
    return {
      status: 'ignored',
      reason: attribution.reason,
      unreferred: presentIds(s.id, s.payment_intent, s.invoice, s.subscription),
    };

  const gross = s.amount_total ?? 0;
  const amount = Math.max(0, gross - (s.total_details?.amount_tax ?? 0));
  if (amount === 0) {
    // A trial: its invoices (deferred if they came first) are the affiliate's through the bound customer.
    if (s.customer && (await bindCustomer(ctx.trx, attribution.referral.id, s.customer, email)))
      return {
        status: 'ignored',
        reason: 'zero_amount',
        wakes: [s.customer, s.subscription].filter((v): v is string => Boolean(v)),
      };
    return ignored('zero_amount');
  }
  const lines = await checkoutLineItems(ctx, s);
  const result = await recordSale(ctx.trx, ctx.program, attribution.referral, {
    amount,
    currency: s.currency,
    occurredAt,
    source: 'stripe',
    grossAmount: gross,
    sequence: 1,
    attributedBy: attribution.source,
    stripeEventId: event.id,
    stripeCheckoutSessionId: s.id,
    stripePaymentIntentId: s.payment_intent,
    stripeInvoiceId: s.invoice,
    stripeSubscriptionId: s.subscription,
    stripeCustomerId: s.customer,
    customerEmail: email,
    lineItems: lines.lineItems,
    lineItemsUnavailable: lines.unavailable,
  });
  // Refunds, disputes and `invoice_payment.paid` of its payment, and its subscription's invoices deferred because
  // they came before this checkout (the subscription now has its referral).
  const wakes = [s.id, s.payment_intent, s.invoice, s.subscription, s.customer].filter((v): v is string => Boolean(v));
  return result.duplicate ? alreadyRecorded(event, result.conversion, wakes) : { status: 'processed', wakes };
};

export const handleCheckoutSessionCompleted = handleCheckoutSession;
