/**
 * Credentials a merchant manages and links it can retire: API keys get a name and the time they were last used
 * (`last_used_at`, written at most once a minute per key); a link retired from the admin API keeps its row (clicks
 * and referrals point at it) and is marked `archived_at`, after which `/r/<slug>` stops recording clicks.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE api_keys ADD COLUMN name text, ADD COLUMN last_used_at timestamptz;
    ALTER TABLE links ADD COLUMN archived_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE links DROP COLUMN archived_at;
    ALTER TABLE api_keys DROP COLUMN name, DROP COLUMN last_used_at;
  `.execute(db);
}
