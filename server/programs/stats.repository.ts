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
export async function funnel(db: DbOrTrx, programId: string, since: Date | null, affiliateId?: string) {
  const ofAffiliate = affiliateId ? sql`AND affiliate_id = ${affiliateId}` : sql``;
  const [{ rows }, leads] = await Promise.all([
    sql<{ clicks: number; visitors: number; customers: number }>`
    SELECT
      (SELECT coalesce(sum(clicks), 0)::bigint FROM affiliate_daily_clicks
        WHERE program_id = ${programId} ${ofAffiliate} ${since ? sql`AND day >= (${since}::timestamptz AT TIME ZONE 'UTC')::date` : sql``}) AS clicks,
      count(*) FILTER (WHERE status = 'visitor') AS visitors,
      count(*) FILTER (WHERE status = 'customer') AS customers
    FROM referrals WHERE program_id = ${programId} ${ofAffiliate} ${since ? sql`AND created_at >= ${since}` : sql``}`.execute(
      db,
    ),
    affiliateId
      ? // leadCount's affiliate scope takes the affiliate's own program: 0 unless it is this one.
        sql<{ ok: boolean }>`SELECT true AS ok FROM affiliates WHERE id = ${affiliateId} AND program_id = ${programId}`
          .execute(db)
          .then((r) => (r.rows.length ? leadCount(db, { affiliateId }, since) : 0))
      : leadCount(db, { programId }, since),
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
export async function salesByCurrency(db: DbOrTrx, programId: string, since: Date | null, affiliateId?: string) {
  const { rows } = await sql<{ currency: string; sales: number; revenue: number; refunded: number }>`
    SELECT currency, count(*) AS sales, coalesce(sum(amount), 0)::bigint AS revenue,
           coalesce(sum(refunded_amount), 0)::bigint AS refunded
    FROM conversions
    WHERE program_id = ${programId} AND kind = 'sale' ${since ? sql`AND occurred_at >= ${since}` : sql``}
      ${affiliateId ? sql`AND affiliate_id = ${affiliateId}` : sql``}
    GROUP BY currency ORDER BY currency`.execute(db);
  return rows.map((r) => ({
    currency: r.currency,
    sales: Number(r.sales),
    revenue: Number(r.revenue),
    refunded: Number(r.refunded),
  }));
}

// ---------------------------------------------------------------------------------------------------------
// Per day (UTC) over the last days, and the top affiliates of the period (the console's overview)

/** Clicks per UTC day since `sinceDay` (`YYYY-MM-DD`), from the daily rollup. */
export async function clicksPerDay(db: DbOrTrx, programId: string, sinceDay: string) {
  const { rows } = await sql<{ day: string; n: string }>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(clicks)::text AS n FROM affiliate_daily_clicks
    WHERE program_id = ${programId} AND day >= ${sinceDay}::date GROUP BY day`.execute(db);
  return rows.map((r) => ({ day: r.day, n: Number(r.n) }));
}

/** Leads, sales and revenue per UTC day and currency since `since` (by `occurred_at`). */
export async function conversionsPerDay(db: DbOrTrx, programId: string, since: Date) {
  const { rows } = await sql<{ day: string; currency: string; leads: string; sales: string; revenue: string }>`
    SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, currency,
           count(*) FILTER (WHERE kind = 'lead')::text AS leads, count(*) FILTER (WHERE kind = 'sale')::text AS sales,
           coalesce(sum(amount) FILTER (WHERE kind = 'sale'), 0)::text AS revenue
    FROM conversions WHERE program_id = ${programId} AND occurred_at >= ${since}
    GROUP BY 1, 2`.execute(db);
  return rows.map((r) => ({
    day: r.day,
    currency: r.currency,
    leads: Number(r.leads),
    sales: Number(r.sales),
    revenue: Number(r.revenue),
  }));
}

/** Commission amounts per UTC day and currency since `since` (by `created_at`; rejected ones left out). */
export async function commissionsPerDay(db: DbOrTrx, programId: string, since: Date) {
  const { rows } = await sql<{ day: string; currency: string; amount: string }>`
    SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, currency, sum(amount)::text AS amount
    FROM commissions WHERE program_id = ${programId} AND created_at >= ${since} AND status <> 'rejected'
    GROUP BY 1, 2`.execute(db);
  return rows.map((r) => ({ day: r.day, currency: r.currency, amount: Number(r.amount) }));
}

/** The affiliates with the most sales revenue since `since` (then clicks), at most `limit`. */
export async function topAffiliates(db: DbOrTrx, programId: string, since: Date, sinceDay: string, limit: number) {
  const { rows } = await sql<{ id: string; name: string; code: string; clicks: string; sales: string }>`
    SELECT a.id, a.name, a.code,
      coalesce((SELECT sum(clicks) FROM affiliate_daily_clicks d
                WHERE d.affiliate_id = a.id AND d.day >= ${sinceDay}::date), 0)::text AS clicks,
      coalesce((SELECT count(*) FROM conversions c WHERE c.program_id = a.program_id AND c.affiliate_id = a.id
                AND c.kind = 'sale' AND c.occurred_at >= ${since}), 0)::text AS sales
    FROM affiliates a WHERE a.program_id = ${programId}
    ORDER BY 5 DESC, 4 DESC, a.id LIMIT ${limit}`.execute(db);
  return rows
    .map((r) => ({ id: r.id, name: r.name, code: r.code, clicks: Number(r.clicks), sales: Number(r.sales) }))
    .filter((r) => r.clicks > 0 || r.sales > 0);
}

/**
 * The tracking links with the most sales since `since` (then clicks), at most `limit`, in ONE grouped query (no
 * query per link): clicks through the link (`clicks.link_id`, since `since`), sale conversions of the referrals it
 * brought (`referrals.link_id`, by `occurred_at`) and their revenue per currency (minor units, currencies in order).
 * Links with neither in the period are left out; archived links still count (their clicks happened).
 */
export async function topLinks(db: DbOrTrx, programId: string, since: Date, limit: number) {
  const { rows } = await sql<{
    id: string;
    slug: string;
    campaign: string | null;
    affiliate_id: string;
    affiliate_name: string;
    clicks: string;
    sales: string;
    revenue: { currency: string; amount: string }[];
  }>`
    WITH link_clicks AS (
      SELECT link_id, count(*) AS clicks FROM clicks
      WHERE program_id = ${programId} AND link_id IS NOT NULL AND created_at >= ${since}
      GROUP BY link_id
    ), link_sales AS (
      SELECT r.link_id, v.currency, count(*) AS sales, sum(v.amount) AS revenue
      FROM conversions v JOIN referrals r ON r.id = v.referral_id
      WHERE v.program_id = ${programId} AND v.kind = 'sale' AND v.occurred_at >= ${since} AND r.link_id IS NOT NULL
      GROUP BY r.link_id, v.currency
    ), per_link AS (
      SELECT coalesce(c.link_id, s.link_id) AS link_id, max(c.clicks) AS clicks,
             coalesce(sum(s.sales), 0) AS sales,
             coalesce(json_agg(json_build_object('currency', s.currency, 'amount', s.revenue::text) ORDER BY s.currency)
                      FILTER (WHERE s.currency IS NOT NULL), '[]') AS revenue
      FROM link_clicks c FULL JOIN link_sales s ON s.link_id = c.link_id
      GROUP BY 1
    )
    SELECT l.id, l.slug, l.campaign, a.id AS affiliate_id, a.name AS affiliate_name,
           coalesce(p.clicks, 0)::text AS clicks, p.sales::text AS sales, p.revenue
    FROM per_link p
    JOIN links l ON l.id = p.link_id AND l.program_id = ${programId}
    JOIN affiliates a ON a.id = l.affiliate_id
    ORDER BY p.sales DESC, coalesce(p.clicks, 0) DESC, l.id
    LIMIT ${limit}`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    slug: r.slug,
    campaign: r.campaign,
    affiliate: { id: r.affiliate_id, name: r.affiliate_name },
    clicks: Number(r.clicks),
    sales: Number(r.sales),
    revenue: r.revenue.map((x) => ({ currency: x.currency, amount: Number(x.amount) })),
  }));
}
