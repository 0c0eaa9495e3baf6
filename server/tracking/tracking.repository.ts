/** SQL for referrals and clicks. */
import type { Insertable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ClicksTable, ReferralsTable } from '../db/schema.ts';

/** A referral of the program, locked for update (serialises concurrent clicks of one visitor). */
export function lockReferral(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('referrals')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export function findReferral(db: DbOrTrx, programId: string, id: string) {
  return db.selectFrom('referrals').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export function insertReferral(db: DbOrTrx, row: Insertable<ReferralsTable>) {
  return db.insertInto('referrals').values(row).returningAll().executeTakeFirstOrThrow();
}

export function touchReferral(db: DbOrTrx, id: string, at: Date, expiresAt: Date) {
  return db.updateTable('referrals').set({ last_click_at: at, expires_at: expiresAt }).where('id', '=', id).execute();
}

export function insertClick(db: DbOrTrx, row: Insertable<ClicksTable>) {
  return db.insertInto('clicks').values(row).execute();
}

export function markLead(db: DbOrTrx, id: string, email: string) {
  return db
    .updateTable('referrals')
    .set((eb) => ({
      email,
      status: eb.case().when('status', '=', 'visitor').then('lead' as const).else(eb.ref('status')).end(),
    }))
    .where('id', '=', id)
    .execute();
}
