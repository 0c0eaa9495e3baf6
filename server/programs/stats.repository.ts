/** SQL for the program-wide numbers of `GET /api/v1/stats`. */
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';

/**
 * The one definition of a **lead** (ARCHITECTURE.md glossary: `visitor -> lead -> customer`): a referred visitor
 * who signed up, i.e. a referral that the snippet's `track/lead` (or a lead conversion) made a `lead`, that a sale
 * made a `customer`, or that a Stripe customer was bound to (`customer.created` / `customer.updated` metadata
 * `partnerkit_referral`). Counted once per person: referrals bound to the same Stripe customer are one lead.
 * `scope`: a whole program, or one affiliate; `since`: referrals created from then on (null = all time), the period
 * the rest of the funnel uses. Both `GET /api/v1/stats` and the partner overview count with this, so they agree.
 */
export async function leadCount(
  db: DbOrTrx,
  scope: { programId: string } | { affiliateId: string },
  since: Date | null = null,
): Promise<number> {
  const where =
    'programId' in scope
      ? sql`program_id = ${scope.programId}`
      : // program_id too, so the bound-customer index (program_id, stripe_customer_id) serves this scope as well.
        sql`affiliate_id = ${scope.affiliateId}
            AND program_id = (SELECT program_id FROM affiliates WHERE id = ${scope.affiliateId})`;
  const { rows } = await sql<{ leads: number }>`
    SELECT count(DISTINCT coalesce(stripe_customer_id, id)) AS leads
    FROM referrals
    WHERE ${where} AND (status IN ('lead', 'customer') OR stripe_customer_id IS NOT NULL)
      ${since ? sql`AND created_at >= ${since}` : sql``}`.execute(db);
  return Number(rows[0]!.leads);
}

/**
 * Clicks from the daily rollup (UTC days since `since`), referrals still `visitor` and now `customer` (created since
 * `since`), and leads as `leadCount` defines them.
 */
export async function funnel(db: DbOrTrx, programId: string, since: Date | null) {
  const [{ rows }, leads] = await Promise.all([
    sql<{ clicks: number; visitors: number; customers: number }>`
    SELECT
      (SELECT coalesce(sum(clicks), 0)::bigint FROM affiliate_daily_clicks
        WHERE program_id = ${programId} ${since ? sql`AND day >= (${since}::timestamptz AT TIME ZONE 'UTC')::date` : sql``}) AS clicks,
      count(*) FILTER (WHERE status = 'visitor') AS visitors,
      count(*) FILTER (WHERE status = 'customer') AS customers
    FROM referrals WHERE program_id = ${programId} ${since ? sql`AND created_at >= ${since}` : sql``}`.execute(db),
    leadCount(db, { programId }, since),
  ]);
  const r = rows[0]!;
  return {
    clicks: Number(r.clicks),
    visitors: Number(r.visitors),
    leads,
    customers: Number(r.customers),
  };
}

export function affiliatesByStatus(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('affiliates')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('program_id', '=', programId)
    .groupBy('status')
    .execute();
}

/** Sale conversions per currency: count, revenue and refunds (minor units). */
export async function salesByCurrency(db: DbOrTrx, programId: string, since: Date | null) {
  const { rows } = await sql<{ currency: string; sales: number; revenue: number; refunded: number }>`
    SELECT currency, count(*) AS sales, coalesce(sum(amount), 0)::bigint AS revenue,
           coalesce(sum(refunded_amount), 0)::bigint AS refunded
    FROM conversions
    WHERE program_id = ${programId} AND kind = 'sale' ${since ? sql`AND occurred_at >= ${since}` : sql``}
    GROUP BY currency ORDER BY currency`.execute(db);
  return rows.map((r) => ({
    currency: r.currency,
    sales: Number(r.sales),
    revenue: Number(r.revenue),
    refunded: Number(r.refunded),
  }));
}
