/**
 * Issue 22, payouts that pay:
 * - one payout per Stripe transfer (`transfer.reversed` finds the payout by its transfer id, and a transfer id can
 *   never complete two payouts);
 * - `affiliate_stripe_accounts`: the Express account a partner onboarded through the program's Stripe key (one per
 *   affiliate, an account belongs to one affiliate), with what `account.updated` last said: whether transfers and
 *   payouts are enabled, what Stripe still needs (`requirements.currently_due`), and the event time of that state
 *   (`stripe_updated_at`, so an older event delivered late never overwrites a newer one).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNIQUE INDEX payouts_stripe_transfer_id_key ON payouts (stripe_transfer_id)
      WHERE stripe_transfer_id IS NOT NULL;
    CREATE TABLE affiliate_stripe_accounts (
      program_id         text NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
      affiliate_id       text NOT NULL REFERENCES affiliates (id) ON DELETE CASCADE,
      account_id         text NOT NULL,
      country            text NOT NULL,
      transfers_active   boolean NOT NULL DEFAULT false,
      payouts_enabled    boolean NOT NULL DEFAULT false,
      details_submitted  boolean NOT NULL DEFAULT false,
      requirements_due   text[] NOT NULL DEFAULT '{}',
      disabled_reason    text,
      stripe_updated_at  timestamptz,
      created_at         timestamptz NOT NULL DEFAULT now(),
      updated_at         timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (program_id, affiliate_id),
      UNIQUE (program_id, account_id)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE affiliate_stripe_accounts;
    DROP INDEX payouts_stripe_transfer_id_key;
  `.execute(db);
}
