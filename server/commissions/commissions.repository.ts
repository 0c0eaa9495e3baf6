/** SQL for commissions. */
import type { Insertable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { CommissionsTable, CommissionStatus } from '../db/schema.ts';

export function insertCommission(db: DbOrTrx, row: Insertable<CommissionsTable>) {
  return db.insertInto('commissions').values(row).returningAll().executeTakeFirstOrThrow();
}

export function listCommissions(
  db: DbOrTrx,
  programId: string,
  opts: { status?: CommissionStatus; affiliateId?: string; limit: number; offset: number },
) {
  let q = db.selectFrom('commissions').selectAll().where('program_id', '=', programId);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.affiliateId) q = q.where('affiliate_id', '=', opts.affiliateId);
  return q.orderBy('created_at', 'desc').orderBy('id').limit(opts.limit).offset(opts.offset).execute();
}

export function lockCommission(db: DbOrTrx, programId: string, id: string) {
  return db.selectFrom('commissions').selectAll().where('program_id', '=', programId).where('id', '=', id).forUpdate().executeTakeFirst();
}

export function setCommissionStatus(db: DbOrTrx, id: string, status: CommissionStatus, at: Date, reason?: string | null) {
  return db
    .updateTable('commissions')
    .set({
      status,
      updated_at: at,
      ...(status === 'approved' ? { approved_at: at } : {}),
      ...(reason !== undefined ? { reason } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Approve every pending commission whose hold period ended by `at` (or all pending ones when `skipHold`),
 * optionally in one program. One UPDATE: safe when two workers run it at once (each row changes once).
 * @returns number of commissions approved
 */
export async function approveDue(db: DbOrTrx, at: Date, opts: { programId?: string; skipHold?: boolean }) {
  let q = db.updateTable('commissions').set({ status: 'approved', approved_at: at, updated_at: at }).where('status', '=', 'pending');
  if (!opts.skipHold) q = q.where('payable_at', '<=', at);
  if (opts.programId) q = q.where('program_id', '=', opts.programId);
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows);
}
