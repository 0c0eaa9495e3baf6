/**
 * The one definition of an affiliate's money buckets, used by the payouts engine (what a payout may take) and
 * the partner dashboard (what the affiliate sees), so the two can never disagree. Minor units, per currency:
 * - `pending`: non-negative commissions in the hold period; `on_hold`: held by a fraud check or a dispute;
 * - `approved`: approved and not in a payout; `clawbacks`: outstanding clawbacks (≤ 0, `pending`/`approved`,
 *   not in a payout), netted into the next payout;
 * - `in_payouts`: in an open payout; `paid`; `balance` = `approved + clawbacks` (what a payout may take now);
 * - `maturing` (only with `until`): non-negative pending commissions payable by `until`.
 * SQL sums one group per (affiliate, currency, status, in a payout?, negative?, due?) — a handful of rows per
 * affiliate — and the buckets are folded here.
 */
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';

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

/**
 * Buckets per affiliate and currency for a program and/or an affiliate (at least one of the two).
 * @param opts.until count `maturing` as pending commissions payable by then (default: none)
 */
export async function commissionBalances(
  db: DbOrTrx,
  opts: { programId?: string; affiliateId?: string; currency?: string; until?: Date },
): Promise<BalanceRow[]> {
  if (!opts.programId && !opts.affiliateId) throw new Error('commissionBalances needs a program or an affiliate');
  const until = opts.until ?? new Date(0);
  const { rows } = await sql<{ affiliate_id: string; currency: string; status: string; in_payout: boolean; negative: boolean; due: boolean; total: number }>`
    SELECT affiliate_id, currency, status, payout_id IS NOT NULL AS in_payout, amount < 0 AS negative,
           payable_at <= ${until} AS due, sum(amount)::bigint AS total
    FROM commissions
    WHERE true
      ${opts.programId ? sql`AND program_id = ${opts.programId}` : sql``}
      ${opts.affiliateId ? sql`AND affiliate_id = ${opts.affiliateId}` : sql``}
      ${opts.currency ? sql`AND currency = ${opts.currency}` : sql``}
    GROUP BY 1, 2, 3, 4, 5, 6`.execute(db);
  const out = new Map<string, BalanceRow>();
  for (const r of rows) {
    const key = `${r.affiliate_id}|${r.currency}`;
    let m = out.get(key);
    if (!m) out.set(key, (m = { affiliate_id: r.affiliate_id, currency: r.currency, pending: 0, on_hold: 0, approved: 0, clawbacks: 0, in_payouts: 0, paid: 0, balance: 0, maturing: 0 }));
    const total = Number(r.total);
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
