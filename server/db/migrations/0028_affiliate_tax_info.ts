/**
 * Issue 22, statements and tax: what a merchant needs to report what it paid a partner (a US merchant's 1099-NEC):
 * the partner's legal name, country (ISO 3166-1 alpha-2) and tax id. The tax id is stored sealed with the secret box
 * (`lib/secrets.ts`, purpose `affiliate_tax_id`, bound to the affiliate) and never read back in clear by an answer:
 * its last four characters are kept beside it (`tax_id_last4`) so lists and exports show it masked without opening
 * it. Yearly earnings read completed payouts by completion date: an index on (program, completed_at) keeps the
 * merchant's export a range scan.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE affiliate_tax_info (
      program_id    text NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
      affiliate_id  text NOT NULL REFERENCES affiliates (id) ON DELETE CASCADE,
      legal_name    text NOT NULL,
      country       text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
      tax_id        text NOT NULL,
      tax_id_last4  text NOT NULL,
      updated_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (program_id, affiliate_id)
    );
    CREATE INDEX payouts_completed_idx ON payouts (program_id, completed_at) WHERE status = 'completed';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX payouts_completed_idx;
    DROP TABLE affiliate_tax_info;
  `.execute(db);
}
