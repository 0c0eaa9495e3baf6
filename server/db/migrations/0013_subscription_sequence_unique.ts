/**
 * One conversion per (subscription, payment number): `conversions.sequence` is unique per Stripe subscription of a
 * program (the first payment is 1, the nth renewal n + 1). Until now only the first payment was unique
 * (`conversions_subscription_first_key`, migration 0002), and two renewals processed at the same time, or before
 * the subscription's checkout, could both take the same number.
 *
 * A unique index, not a deferrable constraint: `INSERT … ON CONFLICT DO NOTHING` (every conversion insert) refuses
 * to run at all next to a deferrable one ("ON CONFLICT does not support deferrable unique constraints as
 * arbiters"). When an earlier renewal arrives after later ones (Stripe does not order deliveries), the handler
 * moves the later ones up in two statements that never collide (`shiftRenewals`). Rows without a subscription
 * never conflict. Existing duplicates are renumbered first, per subscription, in the order
 * (sequence, occurred_at, id), so the index can be created on any existing database.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE conversions c SET sequence = r.rn
    FROM (
      SELECT id, row_number() OVER (PARTITION BY program_id, stripe_subscription_id ORDER BY sequence, occurred_at, id) AS rn
      FROM conversions
      WHERE (program_id, stripe_subscription_id) IN (
        SELECT program_id, stripe_subscription_id FROM conversions
        WHERE stripe_subscription_id IS NOT NULL
        GROUP BY program_id, stripe_subscription_id, sequence HAVING count(*) > 1
      )
    ) r
    WHERE c.id = r.id AND c.sequence <> r.rn;
    CREATE UNIQUE INDEX conversions_subscription_sequence_key ON conversions (program_id, stripe_subscription_id, sequence)
      WHERE stripe_subscription_id IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX conversions_subscription_sequence_key`.execute(db);
}
