/**
 * The initial schema. Money: integer minor units (`bigint`) + ISO 4217 lower-case currency; rates in basis
 * points; timestamps `timestamptz` (UTC); windows and hold periods in days.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE programs (
      id                 text PRIMARY KEY,
      name               text NOT NULL,
      website            text NOT NULL,
      currency           text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
      public_key         text NOT NULL UNIQUE,
      default_rate_bps   integer NOT NULL DEFAULT 1000 CHECK (default_rate_bps BETWEEN 0 AND 10000),
      cookie_days        integer NOT NULL DEFAULT 30 CHECK (cookie_days BETWEEN 1 AND 3650),
      hold_days          integer NOT NULL DEFAULT 30 CHECK (hold_days BETWEEN 0 AND 3650),
      attribution_model  text NOT NULL DEFAULT 'last_click' CHECK (attribution_model IN ('first_click', 'last_click')),
      min_payout_amount  bigint NOT NULL DEFAULT 5000 CHECK (min_payout_amount >= 0),
      allowed_domains    text[] NOT NULL DEFAULT '{}',
      created_at         timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE api_keys (
      id          text PRIMARY KEY,
      program_id  text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      key_hash    text NOT NULL UNIQUE,
      key_prefix  text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz
    );

    CREATE TABLE stripe_webhook_secrets (
      id          text PRIMARY KEY,
      program_id  text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      secret      text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz,
      UNIQUE (program_id, secret)
    );

    CREATE TABLE affiliates (
      id                 text PRIMARY KEY,
      program_id         text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      code               text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,64}$'),
      email              text NOT NULL,
      name               text NOT NULL,
      status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'suspended')),
      password_hash      text,
      created_at         timestamptz NOT NULL DEFAULT now(),
      status_changed_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (program_id, code)
    );
    CREATE UNIQUE INDEX affiliates_program_email_key ON affiliates (program_id, lower(email));
    CREATE INDEX affiliates_email_idx ON affiliates (lower(email));

    CREATE TABLE links (
      id               text PRIMARY KEY,
      program_id       text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      affiliate_id     text NOT NULL REFERENCES affiliates(id) ON DELETE CASCADE,
      slug             text NOT NULL UNIQUE CHECK (slug ~ '^[A-Za-z0-9_-]{1,64}$'),
      destination_url  text NOT NULL,
      campaign         text,
      created_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX links_affiliate_idx ON links (affiliate_id);

    -- referrals and clicks are written at click rate, so they carry no foreign keys: each key check would
    -- take a KEY SHARE lock on the same hot program and affiliate rows for every inserted row (measured:
    -- most of PostgreSQL's time in the click benchmark). Their ids come from the click ingest, which reads
    -- them from those tables; programs, affiliates and links are never hard-deleted (statuses instead).
    CREATE TABLE referrals (
      id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,200}$'),
      program_id          text NOT NULL,
      affiliate_id        text NOT NULL,
      link_id             text,
      status              text NOT NULL DEFAULT 'visitor' CHECK (status IN ('visitor', 'lead', 'customer')),
      email               text,
      stripe_customer_id  text,
      created_at          timestamptz NOT NULL DEFAULT now(),
      last_click_at       timestamptz NOT NULL DEFAULT now(),
      expires_at          timestamptz NOT NULL
    );
    CREATE INDEX referrals_affiliate_idx ON referrals (affiliate_id, created_at);
    CREATE INDEX referrals_customer_idx ON referrals (program_id, stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;
    CREATE INDEX referrals_email_idx ON referrals (program_id, lower(email)) WHERE email IS NOT NULL;

    CREATE TABLE clicks (
      id            bigserial PRIMARY KEY,
      program_id    text NOT NULL,
      affiliate_id  text NOT NULL,
      -- null when the click did not move attribution (first-click model, another affiliate keeps the visitor)
      referral_id   text,
      link_id       text,
      url           text,
      referrer      text,
      ip            inet,
      user_agent    text,
      created_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX clicks_affiliate_time_idx ON clicks (affiliate_id, created_at);
    CREATE INDEX clicks_referral_idx ON clicks (referral_id);

    CREATE TABLE conversions (
      id                          text PRIMARY KEY,
      program_id                  text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      affiliate_id                text NOT NULL REFERENCES affiliates(id),
      referral_id                 text REFERENCES referrals(id),
      kind                        text NOT NULL CHECK (kind IN ('sale', 'lead')),
      amount                      bigint NOT NULL CHECK (amount >= 0),
      currency                    text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
      source                      text NOT NULL CHECK (source IN ('stripe', 'api')),
      stripe_event_id             text,
      stripe_checkout_session_id  text,
      stripe_payment_intent_id    text,
      stripe_invoice_id           text,
      stripe_subscription_id      text,
      stripe_customer_id          text,
      external_id                 text,
      customer_email              text,
      occurred_at                 timestamptz NOT NULL,
      created_at                  timestamptz NOT NULL DEFAULT now()
    );
    -- One sale is counted once per program, whichever Stripe object reports it first.
    CREATE UNIQUE INDEX conversions_checkout_session_key ON conversions (program_id, stripe_checkout_session_id) WHERE stripe_checkout_session_id IS NOT NULL;
    CREATE UNIQUE INDEX conversions_payment_intent_key ON conversions (program_id, stripe_payment_intent_id) WHERE stripe_payment_intent_id IS NOT NULL;
    CREATE UNIQUE INDEX conversions_invoice_key ON conversions (program_id, stripe_invoice_id) WHERE stripe_invoice_id IS NOT NULL;
    CREATE UNIQUE INDEX conversions_external_key ON conversions (program_id, external_id) WHERE external_id IS NOT NULL;
    CREATE INDEX conversions_affiliate_time_idx ON conversions (affiliate_id, occurred_at);

    CREATE TABLE payouts (
      id              text PRIMARY KEY,
      program_id      text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      affiliate_id    text NOT NULL REFERENCES affiliates(id),
      amount          bigint NOT NULL CHECK (amount > 0),
      currency        text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
      method          text NOT NULL DEFAULT 'paypal' CHECK (method IN ('paypal', 'bank_transfer', 'store_credit', 'check', 'stripe_connect')),
      reference       text,
      failure_reason  text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      completed_at    timestamptz
    );
    CREATE INDEX payouts_affiliate_idx ON payouts (affiliate_id, created_at);

    CREATE TABLE commissions (
      id             text PRIMARY KEY,
      program_id     text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      affiliate_id   text NOT NULL REFERENCES affiliates(id),
      conversion_id  text REFERENCES conversions(id),
      amount         bigint NOT NULL,
      currency       text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
      -- sale: first payment; recurring: a later subscription payment; lead: a signup bounty;
      -- clawback: a negative commission taking back part of a paid one (refund after payout).
      kind           text NOT NULL DEFAULT 'sale' CHECK (kind IN ('sale', 'recurring', 'lead', 'clawback')),
      rate_bps       integer CHECK (rate_bps BETWEEN 0 AND 10000),
      status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'on_hold', 'approved', 'paid', 'rejected', 'reversed')),
      hold_reason    text,
      reverses_commission_id text REFERENCES commissions(id),
      payable_at     timestamptz NOT NULL,
      approved_at    timestamptz,
      paid_at        timestamptz,
      payout_id      text REFERENCES payouts(id),
      reason         text,
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now()
    );
    -- A conversion earns at most one (non-negative) commission; clawbacks are the negative ones.
    CREATE UNIQUE INDEX commissions_conversion_key ON commissions (conversion_id) WHERE amount >= 0;
    CREATE INDEX commissions_affiliate_idx ON commissions (affiliate_id, status);
    CREATE INDEX commissions_due_idx ON commissions (payable_at) WHERE status = 'pending';
    CREATE INDEX commissions_conversion_idx ON commissions (conversion_id);

    -- Append-only history of every commission change: who, what, when, why.
    CREATE TABLE commission_events (
      id             bigserial PRIMARY KEY,
      commission_id  text NOT NULL REFERENCES commissions(id),
      program_id     text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      from_status    text,
      to_status      text NOT NULL,
      amount         bigint NOT NULL,
      actor          text NOT NULL CHECK (actor IN ('system', 'merchant', 'affiliate', 'stripe')),
      reason         text,
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX commission_events_commission_idx ON commission_events (commission_id, id);
    CREATE FUNCTION commission_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'commission_events is append-only'; END $$;
    CREATE TRIGGER commission_events_no_change BEFORE UPDATE OR DELETE ON commission_events
      FOR EACH ROW EXECUTE FUNCTION commission_events_append_only();

    CREATE TABLE stripe_events (
      program_id    text NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
      id            text NOT NULL,
      type          text NOT NULL,
      api_version   text,
      livemode      boolean NOT NULL DEFAULT false,
      payload       jsonb NOT NULL,
      status        text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
      error         text,
      attempts      integer NOT NULL DEFAULT 0,
      received_at   timestamptz NOT NULL DEFAULT now(),
      processed_at  timestamptz,
      PRIMARY KEY (program_id, id)
    );
    CREATE INDEX stripe_events_status_idx ON stripe_events (status, received_at) WHERE status IN ('received', 'failed');

    CREATE TABLE partner_tokens (
      token_hash    text PRIMARY KEY,
      affiliate_id  text NOT NULL REFERENCES affiliates(id) ON DELETE CASCADE,
      purpose       text NOT NULL CHECK (purpose IN ('set_password', 'reset_password')),
      expires_at    timestamptz NOT NULL,
      used_at       timestamptz,
      created_at    timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE partner_sessions (
      id_hash       text PRIMARY KEY,
      affiliate_id  text NOT NULL REFERENCES affiliates(id) ON DELETE CASCADE,
      csrf_token    text NOT NULL,
      ip            inet,
      user_agent    text,
      created_at    timestamptz NOT NULL DEFAULT now(),
      last_seen_at  timestamptz NOT NULL DEFAULT now(),
      expires_at    timestamptz NOT NULL
    );
    CREATE INDEX partner_sessions_affiliate_idx ON partner_sessions (affiliate_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE partner_sessions, partner_tokens, stripe_events, commission_events, commissions, payouts, conversions, clicks,
      referrals, links, affiliates, stripe_webhook_secrets, api_keys, programs;
    DROP FUNCTION commission_events_append_only();
  `.execute(db);
}
