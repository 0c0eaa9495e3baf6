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
 * Source: https://docs.stripe.com/api/events/types#event_types-invoice.paid, https://docs.stripe.com/changelog/basil
 */
import { prorate } from '../../commissions/money.ts';
import { recordSale } from '../../conversions/conversions.service.ts';
import {
  countSubscriptionPayments,
  fillMissingKeys,
  findSaleByKeys,
} from '../../conversions/conversions.repository.ts';
import { attributePayment } from '../attribution.ts';
import {
  invoice,
  invoiceLineItems,
  invoicePaymentIds,
  invoiceSubscriptionId,
  invoiceSubscriptionMetadata,
  invoiceTax,
} from '../stripe-objects.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

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
  const wakes = [inv.id, payment.paymentIntent, payment.charge].filter((v): v is string => Boolean(v));

  const existing = await findSaleByKeys(trx, program.id, keys);
  if (existing) {
    await fillMissingKeys(trx, existing, {
      ...keys,
      subscriptionId,
      customerId: inv.customer,
      grossAmount: inv.amount_paid,
    });
    return { status: 'ignored', reason: 'duplicate_sale', wakes };
  }

  // The first payment of a subscription is its sale; later ones are renewals.
  let sequence = 1;
  if (subscriptionId) {
    const { n, endedAt } = await countSubscriptionPayments(trx, program.id, subscriptionId);
    const first = inv.billing_reason === 'subscription_create' || n === 0;
    sequence = first ? 1 : n + 1;
    const createdAt = new Date((inv.created ?? event.created) * 1000);
    if (!first && endedAt && createdAt > endedAt) return ignored('subscription_ended');
  }

  const occurredAt = new Date((inv.status_transitions?.paid_at ?? event.created) * 1000);
  const attribution = await attributePayment(ctx, {
    occurredAt,
    subscriptionId,
    subscriptionMetadata: invoiceSubscriptionMetadata(inv),
    customerId: inv.customer,
    // A renewal of a customer we never attributed: do not ask Stripe for the customer on every renewal.
    customerMetadata: sequence === 1 ? undefined : {},
    promotionCodeIds: [...inv.discounts, ...(inv.discount?.promotion_code ? [inv.discount.promotion_code] : [])],
    email: inv.customer_email ?? null,
  });
  if (!attribution.referral) return ignored(attribution.reason);

  const result = await recordSale(trx, program, attribution.referral, {
    amount,
    currency: inv.currency,
    occurredAt,
    source: 'stripe',
    grossAmount: inv.amount_paid,
    sequence,
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
  return result.duplicate ? { status: 'ignored', reason: 'duplicate_sale', wakes } : { status: 'processed', wakes };
};
