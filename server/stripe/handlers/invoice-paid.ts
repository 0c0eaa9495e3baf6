/**
 * `invoice.paid`: a paid invoice is a sale — a subscription's first payment (the same sale as its Checkout
 * Session, counted once) or a renewal (a recurring commission, `sequence` > 1), or a one-off invoice.
 *
 * - Both payload generations: the subscription from `parent.subscription_details.subscription` (2025-03-31+)
 *   or `subscription`; the payment from `payment_intent` / `charge` (before 2025-03-31) or `payments`.
 * - Amount excluding tax: `amount_paid` scaled by `(total − tax) / total` (tax from `total_taxes`, else `tax`),
 *   so a partly credit-paid invoice counts only what was paid. Zero earns nothing (trials, 100 % coupons; the
 *   fixture `invoice_paid.json` is one).
 * - Renewals of a subscription that ended (`customer.subscription.deleted`) before the invoice was created earn
 *   nothing.
 * - Any order (Stripe does not order deliveries, and a checkout and its first invoice come in the same burst):
 *   an invoice of a subscription we cannot attribute yet (its checkout, which names the referral, has not been
 *   processed) is deferred, waiting for the subscription, customer and invoice ids; the checkout's sale (or a
 *   customer binding) wakes it, and it is then the same sale (first payment) or a renewal. Never finding a referral
 *   is the usual answer for a subscription nobody referred: after `SHORT_WAIT` attempts it ends `ignored`
 *   (`no_referral`), still woken if its checkout comes later.
 * - Renewal numbers follow Stripe's order, not arrival: `sequence` = 1 + the first payment + the renewals paid
 *   before this one; later renewals already recorded move up by one. The subscription's first payment is locked
 *   first, so renewals of one subscription are numbered one at a time; the database keeps the numbers unique
 *   (migration 0013). A renewal is never merged into the first payment (its payment ids stay its own).
 * Source: https://docs.stripe.com/api/events/types#event_types-invoice.paid, https://docs.stripe.com/changelog/basil
 */
import { prorate } from '../../commissions/money.ts';
import { recordSale } from '../../conversions/conversions.service.ts';
import {
  fillMissingKeys,
  findSaleByKeys,
  renewalSequence,
  shiftRenewals,
} from '../../conversions/conversions.repository.ts';
import { attributePayment } from '../attribution.ts';
import { invoicePromotionCodeLoader } from '../invoice-promotion-codes.ts';
import {
  invoice,
  invoiceLineItems,
  invoicePaymentIds,
  invoiceSubscriptionId,
  invoiceSubscriptionMetadata,
  invoiceTax,
} from '../stripe-objects.ts';
import { isUnreferred } from '../unreferred-payments.repository.ts';
import { alreadyRecorded, ignored, malformed, presentIds, SHORT_WAIT, type StripeEventHandler } from './handler.ts';

export const handleInvoicePaid: StripeEventHandler = async (ctx, event) => {
  const parsed = invoice.safeParse(event.data.object);
  if (!parsed.success) return malformed('invoice', parsed.error.issues);
  const inv = parsed.data;
  const { trx, program } = ctx;

  const total = inv.total ?? inv.amount_paid;
  const tax = invoiceTax(inv);
  const amount =
    total > 0 ? prorate(inv.amount_paid, Math.max(0, total - tax), total) : Math.max(0, inv.amount_paid - tax);
  if (amount <= 0) return ignored('zero_amount');

  const subscriptionId = invoiceSubscriptionId(inv);
  const payment = invoicePaymentIds(inv);
  const keys = { invoiceId: inv.id, paymentIntentId: payment.paymentIntent, chargeId: payment.charge };
  // What waits for this sale: refunds and disputes of its payment, `invoice_payment.paid` of its invoice, other
  // invoices of its subscription deferred for want of a referral.
  // And (its customer) a payment intent of this invoice that arrived first and waits for it (direct-payment.ts).
  const wakes = [inv.id, payment.paymentIntent, payment.charge, subscriptionId, inv.customer].filter((v): v is string =>
    Boolean(v),
  );

  const occurredAt = new Date((inv.status_transitions?.paid_at ?? event.created) * 1000);
  const isFirstInvoice = inv.billing_reason === 'subscription_create';
  // Renewals of one subscription one at a time: lock its first payment before looking (READ COMMITTED: what a
  // concurrent renewal committed while we waited is seen by the statements that follow).
  const firstPayment = subscriptionId
    ? await findSaleByKeys(trx, program.id, { subscriptionId, firstPaymentOfSubscription: true }, { lock: true })
    : undefined;

  const existing = await findSaleByKeys(trx, program.id, keys);
  if (existing) {
    await fillMissingKeys(trx, existing, {
      ...keys,
      subscriptionId,
      customerId: inv.customer,
      grossAmount: inv.amount_paid,
    });
    return alreadyRecorded(event, existing, wakes);
  }

  const renewal = Boolean(subscriptionId) && !isFirstInvoice;
  const attribution = await attributePayment(ctx, {
    occurredAt,
    subscriptionId,
    subscriptionMetadata: invoiceSubscriptionMetadata(inv),
    customerId: inv.customer,
    // A renewal of a customer we never attributed: do not ask Stripe for the customer on every renewal.
    customerMetadata: renewal && firstPayment ? {} : undefined,
    promotionCodeIds: [...inv.discounts, ...(inv.discount?.promotion_code ? [inv.discount.promotion_code] : [])],
    morePromotionCodeIds: invoicePromotionCodeLoader(ctx, inv.id, event.data.object),
    email: inv.customer_email ?? null,
  });
  if (!attribution.referral) {
    // Nobody's payment (now, or once its wait below gives up): its refunds and disputes need not wait for it.
    const unreferred = presentIds(inv.id, payment.paymentIntent, payment.charge);
    if (
      subscriptionId &&
      attribution.reason === 'no_referral' &&
      !(await isUnreferred(trx, program.id, [subscriptionId]))
    ) {
      // Maybe its checkout has not been processed yet: wait for it (or for the customer's binding). A subscription
      // whose checkout was attributed to nobody has nothing to wait for.
      const waitingFor = presentIds(subscriptionId, inv.id, inv.customer);
      return {
        status: 'deferred',
        reason: 'no_referral',
        waitingFor,
        giveUp: 'ignored',
        maxAttempts: SHORT_WAIT,
        unreferred,
      };
    }
    return { status: 'ignored', reason: attribution.reason, unreferred };
  }

  // The first payment of a subscription is its sale; later ones are renewals, numbered in Stripe's order. (The
  // first payment may have been committed while we attributed: look again, locking it.)
  let sequence = 1;
  const first =
    renewal && subscriptionId
      ? (firstPayment ??
        (await findSaleByKeys(trx, program.id, { subscriptionId, firstPaymentOfSubscription: true }, { lock: true })))
      : undefined;
  if (first && subscriptionId) {
    const next = await renewalSequence(trx, program.id, subscriptionId, { occurredAt, invoiceId: inv.id });
    sequence = next.sequence;
    const createdAt = new Date((inv.created ?? event.created) * 1000);
    if (next.endedAt && createdAt > next.endedAt) return ignored('subscription_ended');
  }

  if (sequence > 1) await shiftRenewals(trx, program.id, subscriptionId!, sequence);
  const result = await recordSale(trx, program, attribution.referral, {
    amount,
    currency: inv.currency,
    occurredAt,
    source: 'stripe',
    grossAmount: inv.amount_paid,
    sequence,
    renewal,
    attributedBy: attribution.source,
    stripeEventId: event.id,
    stripeInvoiceId: inv.id,
    stripePaymentIntentId: payment.paymentIntent,
    stripeChargeId: payment.charge,
    stripeSubscriptionId: subscriptionId,
    stripeCustomerId: inv.customer,
    customerEmail: inv.customer_email ?? null,
    lineItems: invoiceLineItems(inv),
  });
  // Renewals already moved up to make room: a duplicate now (the same payment recorded meanwhile) must undo that.
  if (result.duplicate && sequence > 1) throw new Error(`invoice ${inv.id}: recorded concurrently; retrying`);
  return result.duplicate ? alreadyRecorded(event, result.conversion, wakes) : { status: 'processed', wakes };
};
