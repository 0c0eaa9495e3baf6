/**
 * Credentials a merchant manages and links it can retire: API keys get a name and the time they were last used
 * (`last_used_at`, written at most once a minute per key); a link retired from the admin API keeps its row (clicks
 * and referrals point at it) and is marked `archived_at`, after which `/r/<slug>` stops recording clicks. The ids of
 * unreferred payments get an index by age, so the sweep job can forget old ones (`pruneUnreferred`).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE api_keys ADD COLUMN name text, ADD COLUMN last_used_at timestamptz;
    ALTER TABLE links ADD COLUMN archived_at timestamptz;
    CREATE INDEX stripe_unreferred_payments_recorded_idx ON stripe_unreferred_payments (recorded_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX stripe_unreferred_payments_recorded_idx;
    ALTER TABLE links DROP COLUMN archived_at;
    ALTER TABLE api_keys DROP COLUMN name, DROP COLUMN last_used_at;
  `.execute(db);
}
