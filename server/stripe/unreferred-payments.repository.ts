/**
 * SQL of `stripe_unreferred_payments` (migration 0018): the Stripe ids of payments attributed to no referral, so
 * that what follows such a payment (refund, dispute, credit note, fraud warning, `invoice_payment.paid`) ends at once
 * instead of waiting for a sale that will never be recorded. Consult it only after the sale look-up found nothing.
 */
import type { DbOrTrx } from '../db/database.ts';

/**
 * Remember `stripeIds` as a payment nobody referred (ids already known are left as they are).
 * @returns the ids that were new (events waiting for them are woken)
 */
export async function recordUnreferred(
  db: DbOrTrx,
  programId: string,
  stripeIds: readonly string[],
  eventId: string,
): Promise<string[]> {
  const ids = [...new Set(stripeIds)];
  if (ids.length === 0) return [];
  const rows = await db
    .insertInto('stripe_unreferred_payments')
    .values(ids.map((stripe_id) => ({ program_id: programId, stripe_id, event_id: eventId })))
    .onConflict((oc) => oc.doNothing())
    .returning('stripe_id')
    .execute();
  return rows.map((r) => r.stripe_id);
}

/** Whether any of `stripeIds` belongs to a payment we saw and attributed to no referral. */
export async function isUnreferred(db: DbOrTrx, programId: string, stripeIds: readonly string[]): Promise<boolean> {
  if (stripeIds.length === 0) return false;
  const row = await db
    .selectFrom('stripe_unreferred_payments')
    .select('stripe_id')
    .where('program_id', '=', programId)
    .where('stripe_id', 'in', [...stripeIds])
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
