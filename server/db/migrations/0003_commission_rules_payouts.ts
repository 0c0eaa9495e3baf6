/**
 * Commission rules, fraud holds and payouts.
 *
 * - `commission_rules`: a program's rules, evaluated by ascending `priority`, first match wins
 *   (`server/commissions/rules.ts`). Flat amounts and caps are per currency: jsonb `{ "usd": 500 }` in minor units.
 *   Rules are archived, never deleted, so a commission's `rule_id` always explains its amount.
 * - `commissions.rule_id` (null = the program's default rate) and `payment_month` (1 = the customer's first month).
 * - `programs`: payout schedule (cron, UTC; default monthly on the 1st), the last schedule occurrence already
 *   paid out, the per-IP daily conversion limit of the fraud check, and the Stripe API key used for Connect transfers.
 * - `payouts`: batch id (one `generate-payouts` run), idempotency key, a snapshot of the payout method details,
 *   who asked for it, state timestamps and the Stripe transfer id; `payout_items` keeps which commissions a payout
 *   covered (also after it failed and they went back to the balance).
 * - `affiliate_login_ips`: every IP an affiliate logged in from (filled by a trigger on `partner_sessions`), for the
 *   self-referral check "the click came from the affiliate's own login IP".
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE commission_rules (
      id                text PRIMARY KEY,
      program_id        text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
      -- ascending: priority 1 is tried before priority 10
      priority          integer NOT NULL CHECK (priority BETWEEN 0 AND 1000000),
      -- what the rule pays for: a sale (first or recurring payment) or a lead (signup bounty)
      event             text NOT NULL DEFAULT 'sale' CHECK (event IN ('sale', 'lead')),
      affiliate_id      text REFERENCES affiliates(id) ON DELETE CASCADE,
      stripe_product_id text CHECK (char_length(stripe_product_id) <= 255),
      stripe_price_id   text CHECK (char_length(stripe_price_id) <= 255),
      type              text NOT NULL CHECK (type IN ('percentage', 'flat')),
      rate_bps          integer CHECK (rate_bps BETWEEN 0 AND 10000),
      flat_amounts      jsonb,
      min_amounts       jsonb NOT NULL DEFAULT '{}',
      max_amounts       jsonb NOT NULL DEFAULT '{}',
      recurring         text NOT NULL DEFAULT 'lifetime' CHECK (recurring IN ('first_payment', 'months', 'lifetime')),
      recurring_months  integer CHECK (recurring_months BETWEEN 1 AND 1200),
      -- with recurring = 'months': the rate after the first N months (null = nothing after N months)
      rate_after_bps    integer CHECK (rate_after_bps BETWEEN 0 AND 10000),
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      archived_at       timestamptz,
      CHECK ((type = 'percentage') = (rate_bps IS NOT NULL)),
      CHECK ((type = 'flat') = (flat_amounts IS NOT NULL)),
      CHECK ((recurring = 'months') = (recurring_months IS NOT NULL)),
      CHECK (rate_after_bps IS NULL OR recurring = 'months')
    );
    CREATE INDEX commission_rules_program_idx ON commission_rules (program_id, priority) WHERE archived_at IS NULL;

    ALTER TABLE commissions
      ADD COLUMN rule_id       text REFERENCES commission_rules(id),
      ADD COLUMN payment_month integer CHECK (payment_month >= 1);
    CREATE INDEX commissions_payout_idx ON commissions (payout_id) WHERE payout_id IS NOT NULL;
    -- What a payout can settle: approved commissions and outstanding clawbacks not yet in a payout.
    CREATE INDEX commissions_unsettled_idx ON commissions (program_id, affiliate_id, currency)
      WHERE payout_id IS NULL AND status IN ('pending', 'approved');

    -- The first payment of a customer anchors the recurring months of later ones.
    CREATE INDEX conversions_referral_time_idx ON conversions (referral_id, occurred_at) WHERE referral_id IS NOT NULL;

    ALTER TABLE programs
      ADD COLUMN payout_schedule        text NOT NULL DEFAULT '0 0 1 * *' CHECK (char_length(payout_schedule) <= 100),
      ADD COLUMN payouts_generated_for  timestamptz,
      ADD COLUMN fraud_ip_daily_limit   integer DEFAULT 5 CHECK (fraud_ip_daily_limit >= 1),
      ADD COLUMN IF NOT EXISTS stripe_api_key text;

    ALTER TABLE payouts
      ADD COLUMN batch_id            text,
      ADD COLUMN idempotency_key     text CHECK (char_length(idempotency_key) <= 255),
      ADD COLUMN method_details      jsonb,
      ADD COLUMN requested_by        text NOT NULL DEFAULT 'merchant' CHECK (requested_by IN ('system', 'merchant', 'affiliate')),
      ADD COLUMN processing_at       timestamptz,
      ADD COLUMN failed_at           timestamptz,
      ADD COLUMN stripe_transfer_id  text;
    CREATE UNIQUE INDEX payouts_idempotency_key ON payouts (program_id, affiliate_id, currency, idempotency_key)
      WHERE idempotency_key IS NOT NULL;
    CREATE INDEX payouts_program_idx ON payouts (program_id, status, created_at);
    CREATE INDEX payouts_batch_idx ON payouts (batch_id) WHERE batch_id IS NOT NULL;

    CREATE TABLE payout_items (
      payout_id      text NOT NULL REFERENCES payouts(id) ON DELETE CASCADE,
      commission_id  text NOT NULL REFERENCES commissions(id),
      amount         bigint NOT NULL,
      PRIMARY KEY (payout_id, commission_id)
    );
    CREATE INDEX payout_items_commission_idx ON payout_items (commission_id);

    CREATE TABLE affiliate_login_ips (
      affiliate_id   text NOT NULL REFERENCES affiliates(id) ON DELETE CASCADE,
      ip             inet NOT NULL,
      first_seen_at  timestamptz NOT NULL DEFAULT now(),
      last_seen_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (affiliate_id, ip)
    );
    -- A trigger (not application code) so every way of creating a session is covered, and logging out,
    -- which deletes the session, does not erase the evidence.
    CREATE FUNCTION remember_affiliate_login_ip() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.ip IS NOT NULL THEN
          INSERT INTO affiliate_login_ips (affiliate_id, ip) VALUES (NEW.affiliate_id, NEW.ip)
          ON CONFLICT (affiliate_id, ip) DO UPDATE SET last_seen_at = now();
        END IF;
        RETURN NEW;
      END $$;
    CREATE TRIGGER partner_sessions_login_ip AFTER INSERT ON partner_sessions
      FOR EACH ROW EXECUTE FUNCTION remember_affiliate_login_ip();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER partner_sessions_login_ip ON partner_sessions;
    DROP FUNCTION remember_affiliate_login_ip();
    DROP TABLE affiliate_login_ips, payout_items;
    DROP INDEX payouts_batch_idx, payouts_program_idx, payouts_idempotency_key, conversions_referral_time_idx,
      commissions_unsettled_idx, commissions_payout_idx;
    ALTER TABLE payouts DROP COLUMN batch_id, DROP COLUMN idempotency_key, DROP COLUMN method_details, DROP COLUMN requested_by,
      DROP COLUMN processing_at, DROP COLUMN failed_at, DROP COLUMN stripe_transfer_id;
    ALTER TABLE programs DROP COLUMN payout_schedule, DROP COLUMN payouts_generated_for, DROP COLUMN fraud_ip_daily_limit;
    ALTER TABLE commissions DROP COLUMN rule_id, DROP COLUMN payment_month;
    DROP TABLE commission_rules;
  `.execute(db);
}
