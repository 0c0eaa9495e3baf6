/**
 * SQL over referrals that attribution needs (the tracking folder writes clicks and referrals; these are the
 * conversion side's reads and the two writes a sale makes: binding a Stripe customer, and a referral for a sale
 * attributed without a click, e.g. a promotion code or the conversions API).
 */
import type { DbOrTrx } from '../db/database.ts';
import { newTimeOrderedId } from '../lib/ids.ts';

/**
 * Referrals with their affiliate's status and e-mail (`affiliate_status`, `affiliate_email`), which the
 * commission needs (status, self-referral check): one round trip.
 */
function referralsWithStatus(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('referrals')
    .innerJoin('affiliates', 'affiliates.id', 'referrals.affiliate_id')
    .selectAll('referrals')
    .select(['affiliates.status as affiliate_status', 'affiliates.email as affiliate_email'])
    .where('referrals.program_id', '=', programId);
}

export function findReferral(db: DbOrTrx, programId: string, id: string) {
  return referralsWithStatus(db, programId).where('referrals.id', '=', id).executeTakeFirst();
}

/** The referral a Stripe customer was first bound to (the first binding wins: a customer stays with one affiliate). */
export function findReferralByCustomer(db: DbOrTrx, programId: string, customerId: string) {
  return referralsWithStatus(db, programId)
    .where('referrals.stripe_customer_id', '=', customerId)
    .orderBy('referrals.created_at')
    .orderBy('referrals.id')
    .limit(1)
    .executeTakeFirst();
}

/**
 * The latest referral with this e-mail whose attribution window was still open at `at`; with `leadsOnly`, only
 * referrals still in status `lead` (an e-mail the snippet recorded with `partnerkit('lead', { email })`, not yet
 * a customer).
 */
export function findReferralByEmail(
  db: DbOrTrx,
  programId: string,
  email: string,
  at: Date,
  opts: { leadsOnly?: boolean } = {},
) {
  let q = referralsWithStatus(db, programId);
  if (opts.leadsOnly) q = q.where('referrals.status', '=', 'lead');
  return q
    .where((eb) => eb(eb.fn('lower', ['referrals.email']), '=', email.trim().toLowerCase()))
    .where('referrals.expires_at', '>=', at)
    .orderBy('referrals.last_click_at', 'desc')
    .orderBy('referrals.id')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Bind a Stripe customer to a referral that has none yet (and fill its e-mail when unknown).
 * @returns true when the referral is (now or already) bound to this customer
 */
export async function bindCustomer(
  db: DbOrTrx,
  referralId: string,
  customerId: string,
  email: string | null,
): Promise<boolean> {
  const row = await db
    .updateTable('referrals')
    .set((eb) => ({
      stripe_customer_id: customerId,
      email: eb.fn.coalesce('email', eb.val(email?.trim().toLowerCase() ?? null)),
    }))
    .where('id', '=', referralId)
    .where((eb) => eb.or([eb('stripe_customer_id', 'is', null), eb('stripe_customer_id', '=', customerId)]))
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * A referral for a sale attributed without a click (promotion code, conversions API by affiliate code): the
 * customer is the affiliate's from now on, for `cookieDays`.
 */
export function insertReferral(
  db: DbOrTrx,
  r: {
    programId: string;
    affiliateId: string;
    email: string | null;
    stripeCustomerId: string | null;
    at: Date;
    cookieDays: number;
  },
) {
  return db
    .insertInto('referrals')
    .values({
      id: newTimeOrderedId('ref', r.at.getTime()),
      program_id: r.programId,
      affiliate_id: r.affiliateId,
      link_id: null,
      status: 'visitor',
      email: r.email?.trim().toLowerCase() ?? null,
      stripe_customer_id: r.stripeCustomerId,
      created_at: r.at,
      last_click_at: r.at,
      expires_at: new Date(r.at.getTime() + r.cookieDays * 86_400_000),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The affiliate a Stripe promotion code belongs to in the program. */
export function findPromotionCodeAffiliate(db: DbOrTrx, programId: string, promotionCodeIds: readonly string[]) {
  if (promotionCodeIds.length === 0) return Promise.resolve(undefined);
  return db
    .selectFrom('affiliate_promotion_codes')
    .select(['affiliate_id', 'stripe_promotion_code_id'])
    .where('program_id', '=', programId)
    .where('stripe_promotion_code_id', 'in', promotionCodeIds)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
}

/** An existing referral of this affiliate for this customer e-mail (the conversions API reuses it). */
export function findAffiliateReferralByEmail(db: DbOrTrx, programId: string, affiliateId: string, email: string) {
  return db
    .selectFrom('referrals')
    .selectAll()
    .where('program_id', '=', programId)
    .where('affiliate_id', '=', affiliateId)
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .orderBy('last_click_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
