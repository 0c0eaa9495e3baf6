/**
 * The allow-list of Stripe event types we act on, one handler module per type. Every other event is
 * stored in the inbox and acknowledged, then marked `ignored` (`unhandled_type`).
 */
import type { StripeEventHandler } from './handler.ts';
import { handleCheckoutSessionCompleted } from './checkout-session-completed.ts';
import { handleCheckoutSessionAsyncPaymentSucceeded } from './checkout-session-async-payment-succeeded.ts';
import { handleInvoicePaid } from './invoice-paid.ts';
import { handleInvoicePaymentPaid } from './invoice-payment-paid.ts';
import { handleChargeRefunded } from './charge-refunded.ts';
import { handleChargeDisputeCreated } from './charge-dispute-created.ts';
import { handleChargeDisputeClosed } from './charge-dispute-closed.ts';
import { handleCustomerCreated } from './customer-created.ts';
import { handleCustomerUpdated } from './customer-updated.ts';
import { handleCustomerSubscriptionDeleted } from './customer-subscription-deleted.ts';
import { handlePaymentIntentSucceeded } from './payment-intent-succeeded.ts';
import { handleChargeSucceeded } from './charge-succeeded.ts';
import { handleCreditNoteCreated } from './credit-note-created.ts';
import { handleCreditNoteVoided } from './credit-note-voided.ts';
import { handleRadarEarlyFraudWarningCreated } from './radar-early-fraud-warning-created.ts';
import { handleTransferReversed } from './transfer-reversed.ts';
import { handleAccountUpdated } from './account-updated.ts';

export const STRIPE_EVENT_HANDLERS: Readonly<Record<string, StripeEventHandler>> = Object.freeze({
  'checkout.session.completed': handleCheckoutSessionCompleted,
  'checkout.session.async_payment_succeeded': handleCheckoutSessionAsyncPaymentSucceeded,
  'invoice.paid': handleInvoicePaid,
  'invoice_payment.paid': handleInvoicePaymentPaid,
  'charge.refunded': handleChargeRefunded,
  'charge.dispute.created': handleChargeDisputeCreated,
  'charge.dispute.closed': handleChargeDisputeClosed,
  'customer.created': handleCustomerCreated,
  'customer.updated': handleCustomerUpdated,
  'customer.subscription.deleted': handleCustomerSubscriptionDeleted,
  'payment_intent.succeeded': handlePaymentIntentSucceeded,
  'charge.succeeded': handleChargeSucceeded,
  'credit_note.created': handleCreditNoteCreated,
  'credit_note.voided': handleCreditNoteVoided,
  'radar.early_fraud_warning.created': handleRadarEarlyFraudWarningCreated,
  'transfer.reversed': handleTransferReversed,
  'account.updated': handleAccountUpdated,
});

/** Whether we act on this event type (an own property: `constructor` or `__proto__` are not handlers). */
export function handlerFor(type: string): StripeEventHandler | undefined {
  return Object.hasOwn(STRIPE_EVENT_HANDLERS, type) ? STRIPE_EVENT_HANDLERS[type] : undefined;
}
