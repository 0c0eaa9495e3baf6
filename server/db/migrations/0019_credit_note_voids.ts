/**
 * Voided credit notes (`credit_note.voided`) give their credit back: `stripe_credit_notes.voided_at` marks a note
 * voided, and a note voided before its `credit_note.created` was processed (Stripe does not order deliveries) is
 * kept as a row without a conversion, so that the later `created` credits nothing.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE stripe_credit_notes
      ALTER COLUMN conversion_id DROP NOT NULL,
      ADD COLUMN voided_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DELETE FROM stripe_credit_notes WHERE conversion_id IS NULL;
    ALTER TABLE stripe_credit_notes DROP COLUMN voided_at, ALTER COLUMN conversion_id SET NOT NULL;
  `.execute(db);
}
