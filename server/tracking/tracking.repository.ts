/** SQL for referrals and leads (clicks are written in batches by `click-ingest.ts`). */
import type { DbOrTrx } from '../db/database.ts';

export function findReferral(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('referrals')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Record the lead's e-mail; a `visitor` becomes a `lead` (a `customer` stays a customer). */
export function markLead(db: DbOrTrx, id: string, email: string) {
  return db
    .updateTable('referrals')
    .set((eb) => ({
      email,
      status: eb
        .case()
        .when('status', '=', 'visitor')
        .then('lead' as const)
        .else(eb.ref('status'))
        .end(),
    }))
    .where('id', '=', id)
    .execute();
}
