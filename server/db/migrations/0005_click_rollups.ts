/**
 * Daily click counts per affiliate, maintained by the click ingest in the same statement as the clicks,
 * so dashboards read a few hundred rows instead of counting millions of clicks. A day is split into a few
 * `shard` rows (one per concurrent flusher) so concurrent batches never wait on one hot row; readers sum them.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE affiliate_daily_clicks (
      -- No foreign keys, like clicks: see 0001.
      affiliate_id  text NOT NULL,
      day           date NOT NULL,
      shard         smallint NOT NULL DEFAULT 0,
      program_id    text NOT NULL,
      clicks        bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
      PRIMARY KEY (affiliate_id, day, shard)
    );
    -- Days are UTC days.
    INSERT INTO affiliate_daily_clicks (affiliate_id, day, program_id, clicks)
      SELECT affiliate_id, (created_at AT TIME ZONE 'UTC')::date, program_id, count(*)
      FROM clicks GROUP BY 1, 2, 3;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE affiliate_daily_clicks`.execute(db);
}
