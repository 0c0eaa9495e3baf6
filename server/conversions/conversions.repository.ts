/** SQL for conversions. */
import type { Insertable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ConversionsTable } from '../db/schema.ts';

/**
 * Insert a conversion unless one with the same Stripe session / payment intent / invoice / external id
 * exists in the program (the partial unique indexes). Returns the new row, or undefined for a duplicate.
 */
export function insertConversionOnce(db: DbOrTrx, row: Insertable<ConversionsTable>) {
  return db.insertInto('conversions').values(row).onConflict((oc) => oc.doNothing()).returningAll().executeTakeFirst();
}

export function listConversions(db: DbOrTrx, programId: string, opts: { affiliateId?: string; limit: number; offset: number }) {
  let q = db.selectFrom('conversions').selectAll().where('program_id', '=', programId);
  if (opts.affiliateId) q = q.where('affiliate_id', '=', opts.affiliateId);
  return q.orderBy('occurred_at', 'desc').orderBy('id').limit(opts.limit).offset(opts.offset).execute();
}
