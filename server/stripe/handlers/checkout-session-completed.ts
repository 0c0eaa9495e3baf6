/**
 * `checkout.session.completed`: a paid Checkout Session whose `client_reference_id` (or metadata
 * `partnerkit_referral`) is one of our referral ids becomes one sale conversion and one pending commission.
 * The amount is what was paid excluding tax: `amount_total − total_details.amount_tax` (minor units).
 * Unpaid sessions (`payment_status: unpaid`, e.g. delayed payment methods) are skipped.
 * Source: https://docs.stripe.com/api/events/types#event_types-checkout.session.completed
 */
import { REFERRAL_ID } from '../../tracking/tracking.service.ts';
import { findReferral } from '../../tracking/tracking.repository.ts';
import { recordSale } from '../../conversions/conversions.service.ts';
import { checkoutSession } from '../stripe-objects.ts';
import { ignored, type StripeEventHandler } from './handler.ts';

export const REFERRAL_METADATA_KEY = 'partnerkit_referral';

export const handleCheckoutSessionCompleted: StripeEventHandler = async (trx, program, event) => {
  const parsed = checkoutSession.safeParse(event.data.object);
  if (!parsed.success) return ignored(`malformed_checkout_session: ${parsed.error.issues[0]?.path.join('.')}`);
  const s = parsed.data;
  if (s.payment_status === 'unpaid') return ignored('unpaid');
  if (s.mode === 'setup') return ignored('setup_mode');

  const referralId = [s.client_reference_id, s.metadata[REFERRAL_METADATA_KEY]].find((v) => v && REFERRAL_ID.test(v));
  if (!referralId) return ignored('no_referral');
  const referral = await findReferral(trx, program.id, referralId);
  if (!referral) return ignored('unknown_referral');

  const occurredAt = new Date(event.created * 1000);
  if (referral.expires_at < occurredAt) return ignored('referral_expired');
  if (!s.currency) return ignored('no_currency');

  const amount = Math.max(0, (s.amount_total ?? 0) - (s.total_details?.amount_tax ?? 0));
  const result = await recordSale(trx, program, referral, {
    amount,
    currency: s.currency,
    occurredAt,
    source: 'stripe',
    stripeEventId: event.id,
    stripeCheckoutSessionId: s.id,
    stripePaymentIntentId: s.payment_intent,
    stripeInvoiceId: s.invoice,
    stripeSubscriptionId: s.subscription,
    stripeCustomerId: s.customer,
    customerEmail: s.customer_details?.email ?? s.customer_email ?? null,
  });
  return result.duplicate ? ignored('duplicate_sale') : { status: 'processed' };
};
