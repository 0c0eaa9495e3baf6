/**
 * `conversions.click_ip`: the IP of the referral's latest click that had one, when the conversion was recorded
 * (null without a referral or without such a click), and an index to count an affiliate's conversions by it.
 *
 * The per-IP daily limit (`fraud_ip_daily_limit`, checked on every first payment and lead) counted the affiliate's
 * conversions of the last 24 hours and, for each, probed the clicks of its referral for the IP: work growing with
 * the affiliate's conversions per day, on every one of them (quadratic over a day). In the benchmark, where each
 * of 200 affiliates gets ~17 first payments within seconds, that count was ~0.8 ms of PostgreSQL per sale. With the
 * IP on the conversion, the count is one range of `conversions_click_ip_idx`: the matching conversions only.
 *
 * The backfill covers the last two days (the check looks back 24 hours), so the limit holds across the upgrade.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE conversions ADD COLUMN click_ip inet;
    UPDATE conversions c
      SET click_ip = (SELECT k.ip FROM clicks k WHERE k.referral_id = c.referral_id AND k.ip IS NOT NULL ORDER BY k.id DESC LIMIT 1)
      WHERE c.referral_id IS NOT NULL AND c.occurred_at > now() - interval '2 days';
    CREATE INDEX conversions_click_ip_idx ON conversions (affiliate_id, click_ip, kind, occurred_at) WHERE click_ip IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX conversions_click_ip_idx;
    ALTER TABLE conversions DROP COLUMN click_ip;
  `.execute(db);
}
