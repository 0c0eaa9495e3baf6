/**
 * A payout that did not reach the affiliate gives its commissions back: the one rule behind
 * `POST /api/v1/payouts/:id/fail`, a Stripe transfer refused at creation (pay-all, `process`) and a
 * `transfer.reversed` event (the money came back to the platform after the payout completed).
 *
 * Its commissions lose `payout_id`, and those it had already paid (`paid`, only after completion) are `approved`
 * again: the balance counts them once more and the next payout takes them. `payout_items` keep what the payout
 * covered. A new payout is a new id, so its Stripe transfer carries a new idempotency key: the failed or
 * reversed transfer is never replayed, and the commissions are paid by the new one only.
 */
import type { DbOrTrx } from '../db/database.ts';
import type { CommissionRow, PayoutRow } from '../db/schema.ts';
import * as repo from './payouts.repository.ts';

/**
 * Put the (locked) commissions of a failed payout back into the balance, with one history event each.
 * @param rows the payout's commissions, locked (`repo.lockPayoutCommissions`)
 */
export async function returnToBalance(
  trx: DbOrTrx,
  rows: readonly CommissionRow[],
  actor: 'system' | 'merchant',
  why: string,
  at: Date,
): Promise<void> {
  if (rows.length === 0) return;
  const paid = rows.filter((r) => r.status === 'paid').map((r) => r.id);
  await trx
    .updateTable('commissions')
    .set({ payout_id: null, updated_at: at })
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .execute();
  if (paid.length)
    await trx.updateTable('commissions').set({ status: 'approved', paid_at: null }).where('id', 'in', paid).execute();
  await repo.insertCommissionEvents(
    trx,
    rows.map((c) => ({
      commission_id: c.id,
      program_id: c.program_id,
      from_status: c.status,
      to_status: c.status === 'paid' ? ('approved' as const) : c.status,
      amount: c.amount,
      actor,
      reason: why,
      created_at: at,
    })),
  );
}

/**
 * `→ failed` with `reason` (≤ 500 characters) for a payout locked in `trx` that is not failed yet (any other
 * status: a completed one only when its money came back, e.g. a reversed transfer), and its commissions back into
 * the balance (`returnToBalance`).
 * @returns the failed payout row
 */
export async function failLockedPayout(
  trx: DbOrTrx,
  payout: PayoutRow,
  reason: string,
  actor: 'system' | 'merchant',
  at: Date,
): Promise<PayoutRow> {
  const failed = await repo.updatePayout(trx, payout.id, { status: 'failed', failure_reason: reason, failed_at: at });
  const rows = await repo.lockPayoutCommissions(trx, payout.id);
  await returnToBalance(trx, rows, actor, `payout_failed:${payout.id}: ${reason}`.slice(0, 500), at);
  return failed;
}
