/** SQL for the program-wide numbers of `GET /api/v1/stats`. */
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';

/** Clicks from the daily rollup (UTC days since `sinceDay`), referrals by status, affiliates by status. */
export async function funnel(db: DbOrTrx, programId: string, since: Date | null) {
  const { rows } = await sql<{ clicks: number; visitors: number; leads: number; customers: number }>`
    SELECT
      (SELECT coalesce(sum(clicks), 0)::bigint FROM affiliate_daily_clicks
        WHERE program_id = ${programId} ${since ? sql`AND day >= (${since}::timestamptz AT TIME ZONE 'UTC')::date` : sql``}) AS clicks,
      count(*) FILTER (WHERE status = 'visitor') AS visitors,
      count(*) FILTER (WHERE status = 'lead') AS leads,
      count(*) FILTER (WHERE status = 'customer') AS customers
    FROM referrals WHERE program_id = ${programId} ${since ? sql`AND created_at >= ${since}` : sql``}`.execute(db);
  const r = rows[0]!;
  return {
    clicks: Number(r.clicks),
    visitors: Number(r.visitors),
    leads: Number(r.leads),
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
