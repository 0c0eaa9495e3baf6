/**
 * Stripe conversions: every payment event that moves money, exactly once.
 *
 * - `programs.stripe_api_key`: the program's restricted Stripe key (`rk_…`), used to fetch what a webhook payload
 *   lacks (customer / subscription metadata, a charge's payment intent, an invoice's payments). Shared with the
 *   payouts of migration 0003 (Connect transfers), hence `IF NOT EXISTS` on both sides.
 * - `affiliate_promotion_codes`: an affiliate's coupon codes, mapped to Stripe promotion codes (`promo_…`): a
 *   checkout that used one is attributed to the affiliate.
 * - `conversions`: `sequence` (1 = first payment of a purchase or subscription, n = the nth subscription payment),
 *   the charge id, what the customer paid including tax (`gross_amount`, the denominator of a dispute's share),
 *   the refunded part and the dispute state (both in the conversion's own net-of-tax minor units), when the
 *   subscription ended, and which attribution source found the referral. Unique keys: one conversion per charge,
 *   and one first payment per subscription (a Checkout Session and its first `invoice.paid` are one sale).
 * - `commissions.reversed_amount`: the part of a not-yet-paid commission taken back in place (refunds, lost
 *   disputes); `amount + reversed_amount` is what it first earned. Paid ones are clawed back with negative rows.
 * - `stripe_events`: retry state of the inbox (`retrying` with `next_attempt_at`; `failed` when retries are
 *   exhausted), `waiting_for` (the Stripe ids a refund or dispute waits for: the sale wakes it up), the event's
 *   own `created` time (stale events never overwrite newer state).
 * - `conversion_api_requests`: `Idempotency-Key`s of `POST /api/v1/conversions`, with the response they got.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE programs ADD COLUMN IF NOT EXISTS stripe_api_key text;

    CREATE TABLE affiliate_promotion_codes (
      id                        text PRIMARY KEY,
      program_id                text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      affiliate_id              text NOT NULL REFERENCES affiliates(id) ON DELETE CASCADE,
      stripe_promotion_code_id  text NOT NULL CHECK (stripe_promotion_code_id ~ '^promo_[A-Za-z0-9_]{1,250}$'),
      -- what customers type at checkout, e.g. JANE20 (informational; Stripe matches the code)
      code                      text CHECK (char_length(code) BETWEEN 1 AND 200),
      created_at                timestamptz NOT NULL DEFAULT now(),
      UNIQUE (program_id, stripe_promotion_code_id)
    );
    CREATE UNIQUE INDEX affiliate_promotion_codes_code_key ON affiliate_promotion_codes (program_id, lower(code)) WHERE code IS NOT NULL;
    CREATE INDEX affiliate_promotion_codes_affiliate_idx ON affiliate_promotion_codes (affiliate_id);

    ALTER TABLE conversions
      ADD COLUMN sequence               integer NOT NULL DEFAULT 1 CHECK (sequence >= 1),
      ADD COLUMN gross_amount           bigint CHECK (gross_amount >= 0),
      ADD COLUMN stripe_charge_id       text,
      ADD COLUMN refunded_amount        bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
      ADD COLUMN stripe_dispute_id      text,
      ADD COLUMN dispute_status         text CHECK (dispute_status IN ('open', 'won', 'lost')),
      ADD COLUMN disputed_amount        bigint NOT NULL DEFAULT 0 CHECK (disputed_amount >= 0),
      ADD COLUMN dispute_updated_at     timestamptz,
      ADD COLUMN subscription_ended_at  timestamptz,
      ADD COLUMN attributed_by          text;
    CREATE UNIQUE INDEX conversions_charge_key ON conversions (program_id, stripe_charge_id) WHERE stripe_charge_id IS NOT NULL;
    CREATE UNIQUE INDEX conversions_subscription_first_key ON conversions (program_id, stripe_subscription_id)
      WHERE stripe_subscription_id IS NOT NULL AND sequence = 1;
    CREATE INDEX conversions_subscription_idx ON conversions (program_id, stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL;
    -- One lead conversion per referral.
    CREATE UNIQUE INDEX conversions_lead_key ON conversions (program_id, referral_id) WHERE kind = 'lead' AND referral_id IS NOT NULL;

    ALTER TABLE commissions ADD COLUMN reversed_amount bigint NOT NULL DEFAULT 0 CHECK (reversed_amount >= 0);
    CREATE INDEX commissions_reverses_idx ON commissions (reverses_commission_id) WHERE reverses_commission_id IS NOT NULL;

    ALTER TABLE stripe_events DROP CONSTRAINT stripe_events_status_check;
    ALTER TABLE stripe_events ADD CONSTRAINT stripe_events_status_check
      CHECK (status IN ('received', 'processed', 'ignored', 'retrying', 'failed'));
    ALTER TABLE stripe_events
      ADD COLUMN next_attempt_at   timestamptz,
      ADD COLUMN waiting_for       text[],
      ADD COLUMN event_created_at  timestamptz;
    CREATE INDEX stripe_events_due_idx ON stripe_events (next_attempt_at) WHERE status IN ('received', 'retrying');
    CREATE INDEX stripe_events_waiting_idx ON stripe_events USING gin (waiting_for) WHERE waiting_for IS NOT NULL;
    CREATE INDEX stripe_events_received_idx ON stripe_events (received_at);

    CREATE TABLE conversion_api_requests (
      program_id       text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      idempotency_key  text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
      request_hash     text NOT NULL,
      status_code      integer NOT NULL,
      response         jsonb NOT NULL,
      created_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (program_id, idempotency_key)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // programs.stripe_api_key stays: migration 0003 uses it too.
  await sql`
    DROP TABLE conversion_api_requests, affiliate_promotion_codes;
    DROP INDEX stripe_events_due_idx, stripe_events_waiting_idx, stripe_events_received_idx,
      commissions_reverses_idx, conversions_charge_key, conversions_subscription_first_key, conversions_subscription_idx,
      conversions_lead_key;
    ALTER TABLE stripe_events DROP COLUMN next_attempt_at, DROP COLUMN waiting_for, DROP COLUMN event_created_at;
    ALTER TABLE stripe_events DROP CONSTRAINT stripe_events_status_check;
    ALTER TABLE stripe_events ADD CONSTRAINT stripe_events_status_check CHECK (status IN ('received', 'processed', 'ignored', 'failed'));
    ALTER TABLE commissions DROP COLUMN reversed_amount;
    ALTER TABLE conversions DROP COLUMN sequence, DROP COLUMN gross_amount, DROP COLUMN stripe_charge_id,
      DROP COLUMN refunded_amount, DROP COLUMN stripe_dispute_id, DROP COLUMN dispute_status, DROP COLUMN disputed_amount,
      DROP COLUMN dispute_updated_at, DROP COLUMN subscription_ended_at, DROP COLUMN attributed_by;
  `.execute(db);
}
