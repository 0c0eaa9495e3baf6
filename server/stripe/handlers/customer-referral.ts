/**
 * Shared by `customer.created` and `customer.updated`: metadata `partnerkit_referral` on a Stripe customer
 * binds that customer to the referral, so its later payments (invoices, renewals) are the affiliate's.
 * The first binding wins: a customer already bound to another referral stays there. The referral's
 * attribution window must be open when the event happened.
 * Source: https://docs.stripe.com/api/events/types#event_types-customer.created
 */
import { bindCustomer, findReferral, findReferralByCustomer } from '../../conversions/referrals-lookup.repository.ts';
import { REFERRAL_ID } from '../../conversions/conversions.service.ts';
import { REFERRAL_METADATA_KEY } from '../attribution.ts';
import { customer } from '../stripe-objects.ts';
import { ignored, malformed, type StripeEventHandler } from './handler.ts';

export const handleCustomerReferral: StripeEventHandler = async (ctx, event) => {
  const parsed = customer.safeParse(event.data.object);
  if (!parsed.success) return malformed('customer', parsed.error.issues);
  const c = parsed.data;
  const referralId = c.metadata[REFERRAL_METADATA_KEY];
  if (!referralId || !REFERRAL_ID.test(referralId)) return ignored('no_referral');
  const referral = await findReferral(ctx.trx, ctx.program.id, referralId);
  if (!referral) return ignored('unknown_referral');

  const bound = await findReferralByCustomer(ctx.trx, ctx.program.id, c.id);
  if (bound && bound.id !== referral.id) return ignored('customer_already_bound');
  if (bound) return ignored('already_bound');
  if (referral.expires_at < new Date(event.created * 1000)) return ignored('referral_expired');
  if (!(await bindCustomer(ctx.trx, referral.id, c.id, c.email ?? null)))
    return ignored('referral_bound_to_other_customer');
  // Invoices of this customer deferred for want of a referral are the affiliate's now.
  return { status: 'processed', wakes: [c.id] };
};
