/**
 * The one definition of an affiliate's money buckets, used by the payouts engine (what a payout may take) and
 * the partner dashboard (what the affiliate sees), so the two can never disagree. Minor units, per currency:
 * - `pending`: non-negative commissions in the hold period; `on_hold`: held by a fraud check or a dispute;
 * - `approved`: approved and not in a payout; `clawbacks`: outstanding clawbacks (≤ 0, `pending`/`approved`,
 *   not in a payout), netted into the next payout;
 * - `in_payouts`: in an open payout; `paid`; `balance` = `approved + clawbacks` (what a payout may take now);
 * - `maturing` (only with `until`): non-negative pending commissions payable by `until`.
 * Commissions are summed per group (affiliate, currency, status, in a payout?, negative?, due?) — a handful of
 * groups per affiliate — and `foldBuckets` folds the groups into buckets. The groups come either from the
 * commissions themselves (`commissionBalances`) or, for one affiliate, from the totals that triggers keep per
 * group (`affiliateBalances`, migration 0007); both feed the same fold, so the buckets are defined once.
 */
import { CompiledQuery, sql } from 'kysely';
import { namedStatement, type DbOrTrx } from '../db/database.ts';

export interface BalanceRow {
  affiliate_id: string;
  currency: string;
  pending: number;
  on_hold: number;
  approved: number;
  clawbacks: number;
  in_payouts: number;
  paid: number;
  balance: number;
  maturing: number;
}

/** The sum of one group of commissions (minor units); `due`: payable by the `until` date asked for. */
interface BalanceGroup {
  affiliate_id: string;
  currency: string;
  status: string;
  in_payout: boolean;
  negative: boolean;
  due: boolean;
  total: number;
}

/** Fold groups into buckets (see the module's docs): one row per affiliate and currency that has a group. */
function foldBuckets(groups: Iterable<BalanceGroup>): BalanceRow[] {
  const out = new Map<string, BalanceRow>();
  for (const r of groups) {
    const key = `${r.affiliate_id}|${r.currency}`;
    let m = out.get(key);
    if (!m) {
      m = {
        affiliate_id: r.affiliate_id,
        currency: r.currency,
        pending: 0,
        on_hold: 0,
        approved: 0,
        clawbacks: 0,
        in_payouts: 0,
        paid: 0,
        balance: 0,
        maturing: 0,
      };
      out.set(key, m);
    }
    const total = r.total;
    const open = r.status === 'pending' || r.status === 'approved';
    if (r.status === 'pending' && !r.negative) {
      m.pending += total;
      if (r.due) m.maturing += total;
    }
    if (r.status === 'on_hold') m.on_hold += total;
    if (r.status === 'approved' && !r.negative && !r.in_payout) m.approved += total;
    if (open && r.negative && !r.in_payout) m.clawbacks += total;
    if (open && r.in_payout) m.in_payouts += total;
    if (r.status === 'paid') m.paid += total;
  }
  for (const m of out.values()) m.balance = m.approved + m.clawbacks;
  return [...out.values()];
}

/**
 * Buckets per affiliate and currency for a program and/or an affiliate (at least one of the two), summed from
 * the commissions (what the payouts engine uses; the reference `affiliateBalances` is tested against).
 * @param opts.until count `maturing` as pending commissions payable by then (default: none)
 */
export async function commissionBalances(
  db: DbOrTrx,
  opts: { programId?: string; affiliateId?: string; currency?: string; until?: Date },
): Promise<BalanceRow[]> {
  if (!opts.programId && !opts.affiliateId) throw new Error('commissionBalances needs a program or an affiliate');
  const until = opts.until ?? new Date(0);
  const { rows } = await sql<BalanceGroup>`
    SELECT affiliate_id, currency, status, payout_id IS NOT NULL AS in_payout, amount < 0 AS negative,
           payable_at <= ${until} AS due, sum(amount)::bigint AS total
    FROM commissions
    WHERE true
      ${opts.programId ? sql`AND program_id = ${opts.programId}` : sql``}
      ${opts.affiliateId ? sql`AND affiliate_id = ${opts.affiliateId}` : sql``}
      ${opts.currency ? sql`AND currency = ${opts.currency}` : sql``}
    GROUP BY 1, 2, 3, 4, 5, 6`.execute(db);
  return foldBuckets(rows.map((r) => ({ ...r, total: Number(r.total) })));
}

// A named prepared statement: planned once per connection (the partner overview asks it at every visit).
const AFFILIATE_GROUPS_SQL = namedStatement(
  'affiliate_balance_groups',
  `SELECT t.currency, t.status, t.in_payout, t.negative, t.amount AS total, coalesce(nd.total, 0)::bigint AS not_due
   FROM affiliate_commission_totals t
   LEFT JOIN (
     SELECT currency, payout_id IS NOT NULL AS in_payout, amount < 0 AS negative, sum(amount) AS total
     FROM commissions
     WHERE affiliate_id = $1 AND status = 'pending' AND payable_at > $2
     GROUP BY 1, 2, 3
   ) nd ON t.status = 'pending' AND nd.currency = t.currency AND nd.in_payout = t.in_payout AND nd.negative = t.negative
   WHERE t.affiliate_id = $1 AND t.commissions > 0`,
);

/**
 * The same buckets as `commissionBalances(db, { affiliateId, until })` for one affiliate, without reading its
 * commissions: the groups come from `affiliate_commission_totals` (kept exact by triggers in the statement that
 * changes a commission, migration 0007), and the one part that depends on the date, which pending commissions
 * are NOT payable by `until`, from an index range over just those (usually none: hold periods are shorter than
 * the partner dashboard's look-ahead). One statement, so one snapshot: totals and that range agree.
 * Constant time in the affiliate's number of commissions (the partner overview at 20k commissions).
 * @param until count `maturing` as pending commissions payable by then
 */
export async function affiliateBalances(db: DbOrTrx, affiliateId: string, until: Date): Promise<BalanceRow[]> {
  const { rows } = await db.executeQuery<{
    currency: string;
    status: string;
    in_payout: boolean;
    negative: boolean;
    total: number;
    not_due: number;
  }>(CompiledQuery.raw(AFFILIATE_GROUPS_SQL, [affiliateId, until]));
  const groups: BalanceGroup[] = [];
  for (const r of rows) {
    const g = {
      affiliate_id: affiliateId,
      currency: r.currency,
      status: r.status,
      in_payout: r.in_payout,
      negative: r.negative,
    };
    const notDue = Number(r.not_due);
    // `payable_at` is NOT NULL, so every commission of the group is either due (<= until) or not (> until).
    groups.push({ ...g, due: true, total: Number(r.total) - notDue });
    if (notDue !== 0) groups.push({ ...g, due: false, total: notDue });
  }
  return foldBuckets(groups);
}
