/**
 * `payment_intent.succeeded`: a payment made with Elements or the PaymentIntents API is a sale when it is
 * attributed (metadata `partnerkit_referral` on the payment intent, or its customer's referral). Payment intents
 * of Checkout Sessions and invoices are left to those paths, and both events of one payment (this and
 * `charge.succeeded`) count once: `direct-payment.ts`.
 * Source: https://docs.stripe.com/api/events/types#event_types-payment_intent.succeeded
 */
import { paymentIntentObject, recordDirectPayment } from '../direct-payment.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

export const handlePaymentIntentSucceeded: StripeEventHandler = async (ctx, event) => {
  const parsed = paymentIntentObject.safeParse(event.data.object);
  if (!parsed.success) return malformed('payment_intent', parsed.error.issues);
  const pi = parsed.data;
  if (pi.status && pi.status !== 'succeeded') return ignored('not_succeeded');
  return recordDirectPayment(ctx, event, {
    paymentIntentId: pi.id,
    chargeId: pi.latest_charge ?? null,
    invoiceId: pi.invoice,
    amount: pi.amount_received ?? pi.amount,
    currency: pi.currency,
    customerId: pi.customer,
    metadata: pi.metadata,
    email: pi.receipt_email ?? null,
  });
};
