/**
 * `charge.succeeded`: the charge of a direct payment (Elements, PaymentIntents or the legacy Charges API) is a
 * sale when attributed (metadata `partnerkit_referral` on the charge, or its customer's referral); the same sale
 * as its payment intent's `payment_intent.succeeded`, counted once (`direct-payment.ts`). An authorisation not yet
 * captured (`captured: false`) is not a sale yet: `payment_intent.succeeded` follows the capture. Charges of
 * invoices (legacy `invoice`) and Checkout Sessions are those paths' sales.
 * Source: https://docs.stripe.com/api/events/types#event_types-charge.succeeded
 */
import { recordDirectPayment, succeededCharge } from '../direct-payment.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

export const handleChargeSucceeded: StripeEventHandler = async (ctx, event) => {
  const parsed = succeededCharge.safeParse(event.data.object);
  if (!parsed.success) return malformed('charge', parsed.error.issues);
  const ch = parsed.data;
  if (ch.captured === false) return ignored('not_captured');
  if (ch.paid === false || (ch.status && ch.status !== 'succeeded')) return ignored('not_succeeded');
  return recordDirectPayment(ctx, event, {
    paymentIntentId: ch.payment_intent,
    chargeId: ch.id,
    invoiceId: ch.invoice,
    amount: ch.amount_captured || ch.amount,
    currency: ch.currency,
    customerId: ch.customer,
    metadata: ch.metadata,
    email: ch.billing_details?.email ?? ch.receipt_email ?? null,
  });
};
