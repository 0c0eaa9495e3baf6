/**
 * SQL of `stripe_unreferred_payments` (migration 0018): the Stripe ids of payments attributed to no referral, so
 * that what follows such a payment (refund, dispute, credit note, fraud warning, `invoice_payment.paid`) ends at once
 * instead of waiting for a sale that will never be recorded. Consult it only after the sale look-up found nothing.
 */
import { sql } from 'kysely';
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

/**
 * Forget payments recorded as unreferred before `before`, at most `limit` rows a call (oldest first, by
 * `stripe_unreferred_payments_recorded_idx`). What such a row answers — "this refund's payment was nobody's" — matters
 * while refunds and disputes may still come: Stripe allows disputes up to 120 days after a payment and refunds for
 * longer, so callers keep them for `UNREFERRED_RETENTION_DAYS`. A refund after that waits and ends `failed`, as
 * before these rows existed: noise in the inbox, never money.
 * @returns how many rows were deleted
 */
export async function pruneUnreferred(db: DbOrTrx, before: Date, limit: number): Promise<number> {
  const result = await sql`
    DELETE FROM stripe_unreferred_payments
     WHERE (program_id, stripe_id) IN (
       SELECT program_id, stripe_id FROM stripe_unreferred_payments
        WHERE recorded_at < ${before} ORDER BY recorded_at LIMIT ${limit})
  `.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** How long an unreferred payment's ids are kept (see `pruneUnreferred`). */
export const UNREFERRED_RETENTION_DAYS = 400;
