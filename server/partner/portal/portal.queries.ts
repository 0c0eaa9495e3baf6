/**
 * SQL for the partner portal's numbers (overview, daily series): scoped by `affiliate_id` (taken from the session,
 * never from the request), and read from the per-affiliate totals and rollups where one exists.
 */
import { CompiledQuery, sql } from 'kysely';
import { namedStatement, type DbOrTrx } from '../../db/database.ts';
import { affiliateBalances, type BalanceRow } from '../../commissions/balances.ts';

/** The program of an affiliate (one indexed join). */
export function programOfAffiliate(db: DbOrTrx, affiliateId: string) {
  return db
    .selectFrom('affiliates as a')
    .innerJoin('programs as p', 'p.id', 'a.program_id')
    .selectAll('p')
    .where('a.id', '=', affiliateId)
    .executeTakeFirst();
}

const n = (v: unknown) => Number(v ?? 0);

/** One currency's commission sums (minor units), as defined in `commissions/balances.ts`. */
export type MoneyRow = Omit<BalanceRow, 'affiliate_id'>;

/** Every field but `currency` as a number. */
function numbers<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'currency' ? v : Number(v ?? 0)])) as T;
}

/**
 * The affiliate's money per currency (minor units), the same buckets as the payouts engine; `maturing` =
 * pending commissions that become payable by `until`. From the per-affiliate commission totals (migration
 * 0007): a few rows whatever the number of commissions.
 */
export async function moneyByCurrency(db: DbOrTrx, affiliateId: string, until: Date): Promise<MoneyRow[]> {
  const rows = await affiliateBalances(db, affiliateId, until);
  return rows.map(({ affiliate_id: _, ...m }) => m).sort((a, b) => a.currency.localeCompare(b.currency));
}

const FUNNEL_SQL = namedStatement(
  'partner_funnel',
  `SELECT
     (SELECT coalesce(sum(clicks), 0)::bigint FROM affiliate_daily_clicks WHERE affiliate_id = $1) AS clicks,
     coalesce(sum(referrals) FILTER (WHERE status = 'customer'), 0)::bigint AS customers
   FROM affiliate_referral_totals WHERE affiliate_id = $1`,
);

/**
 * Clicks (from the daily rollup `affiliate_daily_clicks`, kept by the click ingest in the same statement as
 * the clicks, migration 0005) and customers (status `customer`) of one affiliate, from `affiliate_referral_totals`
 * (kept by triggers whenever a referral enters or leaves `lead`/`customer`, migration 0007). A few rows whatever the
 * number of clicks and referrals. Leads are not counted here: `leadCount` (`programs/stats.repository.ts`) is the
 * one definition, shared with the admin API.
 */
export async function funnelCounts(db: DbOrTrx, affiliateId: string) {
  const { rows } = await db.executeQuery<{ clicks: number; customers: number }>(
    CompiledQuery.raw(FUNNEL_SQL, [affiliateId]),
  );
  return numbers(rows[0]!);
}

const SALES_SQL = namedStatement(
  'partner_sales',
  `SELECT currency, sales AS n, (amount - refunded_amount)::bigint AS revenue
   FROM affiliate_sales_totals WHERE affiliate_id = $1 AND sales > 0 ORDER BY currency`,
);

/**
 * Sale conversions per currency: count and revenue net of refunds (minor units), from the per-affiliate sales
 * totals that triggers keep with every conversion write (migration 0007): one row per currency, whatever the
 * number of sales. Currencies whose sales are all gone are left out, as a count over the conversions would.
 */
export async function salesByCurrency(db: DbOrTrx, affiliateId: string) {
  const { rows } = await db.executeQuery<{ currency: string; n: number; revenue: number }>(
    CompiledQuery.raw(SALES_SQL, [affiliateId]),
  );
  return rows.map(numbers);
}

/** Clicks of the affiliate in the daily rollup (UTC days) since `days` days before `now` (for choosing a plan). */
export async function recentRollupClicks(db: DbOrTrx, affiliateId: string, now: Date, days: number): Promise<number> {
  const since = new Date(now.getTime() - (days + 1) * 86_400_000).toISOString().slice(0, 10);
  const row = await db
    .selectFrom('affiliate_daily_clicks')
    .select(sql<number>`coalesce(sum(clicks), 0)::bigint`.as('n'))
    .where('affiliate_id', '=', affiliateId)
    .where('day', '>=', since)
    .executeTakeFirstOrThrow();
  return n(row.n);
}

/**
 * Clicks, sale conversions and earnings per local day in `timeZone` (IANA name) for the `days` days ending
 * today (in that zone). Days without activity are present with zeros. A commission counts on the day of its
 * sale (a clawback on the day it was made); rejected and reversed ones do not count. In UTC, clicks come from
 * the daily rollup; in other zones from the clicks themselves (one index range scan: callers keep that for
 * modest volumes).
 * @returns rows `{ day: 'YYYY-MM-DD', clicks, sales }` and earnings rows `{ day, currency, amount }`
 */
export async function dailySeries(db: DbOrTrx, affiliateId: string, now: Date, days: number, timeZone: string) {
  const range = sql`
    WITH bounds AS (
      SELECT (date_trunc('day', ${now}::timestamptz AT TIME ZONE ${timeZone}) - make_interval(days => ${days - 1})) AS start_local
    ), grid AS (
      SELECT (b.start_local + make_interval(days => g))::date AS day
      FROM bounds b, generate_series(0, ${days - 1}) AS g
    ), since AS (
      SELECT (start_local AT TIME ZONE ${timeZone}) AS at, start_local::date AS day FROM bounds
    )`;
  const clicksPerDay =
    timeZone === 'UTC'
      ? sql`SELECT day, sum(clicks) AS n FROM affiliate_daily_clicks
             WHERE affiliate_id = ${affiliateId} AND day >= (SELECT day FROM since) GROUP BY day`
      : sql`SELECT (created_at AT TIME ZONE ${timeZone})::date AS day, count(*) AS n FROM clicks
             WHERE affiliate_id = ${affiliateId} AND created_at >= (SELECT at FROM since) GROUP BY 1`;
  const counts = await sql<{ day: string; clicks: number; sales: number }>`
    ${range}
    SELECT to_char(grid.day, 'YYYY-MM-DD') AS day, coalesce(c.n, 0)::int AS clicks, coalesce(s.n, 0)::int AS sales
    FROM grid
    LEFT JOIN (${clicksPerDay}) c ON c.day = grid.day
    LEFT JOIN (
      SELECT (occurred_at AT TIME ZONE ${timeZone})::date AS day, count(*) AS n FROM conversions
      WHERE affiliate_id = ${affiliateId} AND kind = 'sale' AND occurred_at >= (SELECT at FROM since) GROUP BY 1
    ) s ON s.day = grid.day
    ORDER BY grid.day`.execute(db);
  const earnings = await sql<{ day: string; currency: string; amount: number }>`
    ${range}, earned AS (
      SELECT c.currency, c.amount,
             CASE WHEN c.kind <> 'clawback' AND v.occurred_at IS NOT NULL THEN v.occurred_at ELSE c.created_at END AS at
      FROM commissions c LEFT JOIN conversions v ON v.id = c.conversion_id
      WHERE c.affiliate_id = ${affiliateId} AND c.status IN ('pending', 'on_hold', 'approved', 'paid')
    )
    SELECT to_char((e.at AT TIME ZONE ${timeZone})::date, 'YYYY-MM-DD') AS day, e.currency, sum(e.amount)::bigint AS amount
    FROM earned e
    WHERE e.at >= (SELECT at FROM since) AND e.at < (SELECT at FROM since) + make_interval(days => ${days + 1})
      AND (e.at AT TIME ZONE ${timeZone})::date IN (SELECT day FROM grid)
    GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
  return { counts: counts.rows, earnings: earnings.rows.map((r) => ({ ...r, amount: n(r.amount) })) };
}
