/**
 * Pay all due and transfer failures (issue 22): one payout per Stripe transfer (`transfer.reversed` finds the
 * payout by its transfer id, and a transfer id can never complete two payouts).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNIQUE INDEX payouts_stripe_transfer_id_key ON payouts (stripe_transfer_id)
      WHERE stripe_transfer_id IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX payouts_stripe_transfer_id_key;`.execute(db);
}
