/**
 * Which referral (and so which affiliate) a Stripe payment belongs to. Sources, first match wins:
 *
 * 1. `client_reference_id` of the Checkout Session (the snippet hands the referral id to Checkout);
 * 2. metadata `partnerkit_referral` on the Checkout Session;
 * 3. metadata `partnerkit_referral` on the subscription, then on the customer, as the payload carries them;
 * 4. the subscription's first sale (renewals stay with the affiliate who brought the subscription);
 * 5. the Stripe customer already bound to a referral (by an earlier sale or `customer.*` metadata);
 * 6. metadata on the subscription / customer fetched from the Stripe API, when the payload did not carry it and
 *    the program has a restricted key (after 4–5: a binding in our database was itself made from that metadata
 *    or from an earlier explicit attribution, so we spend an API call only when we know nothing);
 * 7. an affiliate's promotion code used at checkout or on an invoice (`affiliate_promotion_codes` → a referral is
 *    created); an invoice payload naming its discounts by id only is read again with the key
 *    (`invoice-promotion-codes.ts`, `morePromotionCodeIds`);
 * 8. a lead recorded by the snippet (`partnerkit('lead', { email })`) with the customer's e-mail, whose
 *    attribution window was open when the payment happened.
 *
 * Sources 1, 2 and 8 need the referral's attribution window to be open at the payment (the visitor converts);
 * the others are the customer's lasting relationship (a renewal a year later is still the affiliate's).
 * Sources 5 and the customer's metadata also need the referral to predate the payment (within `CUSTOMER_REFERRAL_CLOCK_SKEW_MS`): a customer who
 * paid before ever clicking an affiliate's link, and whose old payment's event is processed only after a later
 * referred purchase bound the customer (a late delivery, a replay), was not referred by that affiliate.
 */
import type { ReferralRow } from '../db/schema.ts';
import { REFERRAL_ID } from '../conversions/conversions.service.ts';
import * as referrals from '../conversions/referrals-lookup.repository.ts';
import { findSubscriptionReferral } from '../conversions/conversions.repository.ts';
import type { HandlerContext } from './handlers/handler.ts';

/**
 * How much later than a payment its customer's referral may have been created and still claim it (source 5):
 * Stripe's `created` and our clock may disagree by a little, and a referral made by the sale itself (a promotion
 * code) is stamped with the payment's time.
 */
export const CUSTOMER_REFERRAL_CLOCK_SKEW_MS = 10 * 60_000;

/** The metadata key merchants set on Checkout Sessions, Customers or Subscriptions (ARCHITECTURE.md). */
export const REFERRAL_METADATA_KEY = 'partnerkit_referral';

export type AttributionSource =
  | 'client_reference_id'
  | 'session_metadata'
  | 'subscription_metadata'
  | 'customer_metadata'
  | 'subscription'
  | 'customer'
  | 'promotion_code'
  | 'lead_email';

export interface PaymentFacts {
  /** When the payment happened (the attribution window is checked at this time). */
  occurredAt: Date;
  clientReferenceId?: string | null;
  sessionMetadata?: Record<string, string>;
  subscriptionId?: string | null;
  /** undefined = the payload did not carry it (may be fetched); `{}` = none. */
  subscriptionMetadata?: Record<string, string>;
  customerId?: string | null;
  /** undefined = the payload did not carry it (may be fetched); `{}` = none. */
  customerMetadata?: Record<string, string>;
  promotionCodeIds?: readonly string[];
  /** More promotion codes, read only when nothing before source 7 attributed the payment (an API call). */
  morePromotionCodeIds?: () => Promise<readonly string[]>;
  email?: string | null;
}

export type Attribution =
  | { referral: ReferralRow; source: AttributionSource }
  | { referral: null; reason: 'no_referral' | 'unknown_referral' | 'referral_expired' | 'referral_after_payment' };

const referralIdIn = (m: Record<string, string> | undefined): string | null => {
  const v = m?.[REFERRAL_METADATA_KEY];
  return v && REFERRAL_ID.test(v) ? v : null;
};

/**
 * Find the referral for a payment (see the module header for the order).
 * @throws StripeApiError when a needed Stripe API read fails (the event is retried)
 */
export async function attributePayment(ctx: HandlerContext, f: PaymentFacts): Promise<Attribution> {
  const { trx, program } = ctx;
  let failure: 'unknown_referral' | 'referral_expired' | 'referral_after_payment' | null = null;

  /** A referral named by id: it must exist in the program, and be in its window when `windowed`. */
  const named = async (id: string | null | undefined, windowed: boolean): Promise<ReferralRow | null> => {
    if (!id || !REFERRAL_ID.test(id)) return null;
    const r = await referrals.findReferral(trx, program.id, id);
    if (!r) {
      failure ??= 'unknown_referral';
      return null;
    }
    if (windowed && r.expires_at < f.occurredAt) {
      failure = 'referral_expired';
      return null;
    }
    return r;
  };

  /** A customer's referral claims only payments made after it (`CUSTOMER_REFERRAL_CLOCK_SKEW_MS`). */
  const predates = (ref: ReferralRow) => {
    if (ref.created_at.getTime() <= f.occurredAt.getTime() + CUSTOMER_REFERRAL_CLOCK_SKEW_MS) return true;
    failure ??= 'referral_after_payment';
    return false;
  };

  let r = await named(f.clientReferenceId, true);
  if (r) return { referral: r, source: 'client_reference_id' };
  r = await named(referralIdIn(f.sessionMetadata), true);
  if (r) return { referral: r, source: 'session_metadata' };
  r = await named(referralIdIn(f.subscriptionMetadata), false);
  if (r) return { referral: r, source: 'subscription_metadata' };
  r = await named(referralIdIn(f.customerMetadata), false);
  if (r && predates(r)) return { referral: r, source: 'customer_metadata' };

  if (f.subscriptionId) {
    const bySubscription = await findSubscriptionReferral(trx, program.id, f.subscriptionId);
    if (bySubscription) return { referral: bySubscription, source: 'subscription' };
  }
  if (f.customerId) {
    const byCustomer = await referrals.findReferralByCustomer(trx, program.id, f.customerId);
    if (byCustomer && predates(byCustomer)) return { referral: byCustomer, source: 'customer' };
  }

  if (ctx.stripe) {
    if (f.subscriptionId && f.subscriptionMetadata === undefined) {
      const sub = await ctx.stripe.subscription(f.subscriptionId);
      r = await named(referralIdIn(sub?.metadata), false);
      if (r) return { referral: r, source: 'subscription_metadata' };
    }
    if (f.customerId && f.customerMetadata === undefined) {
      const cus = await ctx.stripe.customer(f.customerId);
      r = await named(referralIdIn(cus?.metadata), false);
      if (r && predates(r)) return { referral: r, source: 'customer_metadata' };
    }
  }

  const promo =
    (await referrals.findPromotionCodeAffiliate(trx, program.id, f.promotionCodeIds ?? [])) ??
    (f.morePromotionCodeIds
      ? await referrals.findPromotionCodeAffiliate(trx, program.id, await f.morePromotionCodeIds())
      : undefined);
  if (promo) {
    const created = await referrals.insertReferral(trx, {
      programId: program.id,
      affiliateId: promo.affiliate_id,
      email: f.email ?? null,
      stripeCustomerId: f.customerId ?? null,
      at: f.occurredAt,
      cookieDays: program.cookie_days,
    });
    return { referral: created, source: 'promotion_code' };
  }

  if (f.email) {
    const byEmail = await referrals.findReferralByEmail(trx, program.id, f.email, f.occurredAt, { leadsOnly: true });
    if (byEmail) return { referral: byEmail, source: 'lead_email' };
  }
  return { referral: null, reason: failure ?? 'no_referral' };
}
