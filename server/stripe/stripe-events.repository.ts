/** SQL for the Stripe event inbox: each event is stored once per program before anything acts on it. */
import type { DbOrTrx } from '../db/database.ts';
import type { StripeEventStatus } from '../db/schema.ts';

/**
 * Insert the event unless it is already stored (`ON CONFLICT DO NOTHING`).
 * @returns true when this call stored it, false for a duplicate delivery
 */
export async function insertEventOnce(
  db: DbOrTrx,
  row: { program_id: string; id: string; type: string; api_version: string | null; livemode: boolean; payload: string },
): Promise<boolean> {
  const inserted = await db
    .insertInto('stripe_events')
    .values(row)
    .onConflict((oc) => oc.columns(['program_id', 'id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Lock a stored event for processing; skips it when another worker holds it. */
export function lockEvent(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('stripe_events')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

export function findEvent(db: DbOrTrx, programId: string, id: string) {
  return db.selectFrom('stripe_events').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export function finishEvent(
  db: DbOrTrx,
  programId: string,
  id: string,
  status: StripeEventStatus,
  error: string | null,
  at: Date,
) {
  return db
    .updateTable('stripe_events')
    .set((eb) => ({ status, error, processed_at: at, attempts: eb('attempts', '+', 1) }))
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .execute();
}
