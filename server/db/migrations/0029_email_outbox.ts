/**
 * Issue 21 (e-mails): the e-mail outbox. Triggers write one `email_outbox` row in the same transaction as the
 * change it reports, whatever wrote it (admin API, CLI, jobs, Stripe handlers): no mail without its change, no change
 * without its mail. The `send-emails` Agenda job renders and sends them (`server/mail/outbox.service.ts`). Each row
 * has a `dedupe_key` (`ON CONFLICT DO NOTHING`), so a step repeated (a retried handler, a second payout of the same
 * run) queues nothing twice. `email_unsubscribes` is who turned off which kind; `programs.notification_email` is
 * where the merchant team's mails go (there is no console user table yet).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE programs ADD COLUMN notification_email text;

    CREATE TABLE email_outbox (
      id bigserial PRIMARY KEY,
      program_id text NOT NULL,
      kind text NOT NULL,
      audience text NOT NULL CHECK (audience IN ('affiliate', 'merchant')),
      affiliate_id text,
      subject_id text,
      dedupe_key text NOT NULL UNIQUE,
      secret text,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      available_at timestamptz NOT NULL DEFAULT now(),
      locked_until timestamptz,
      last_error text,
      recipient text,
      created_at timestamptz NOT NULL DEFAULT now(),
      done_at timestamptz
    );
    CREATE INDEX email_outbox_due_idx ON email_outbox (available_at) WHERE status = 'pending';
    CREATE INDEX email_outbox_done_idx ON email_outbox (done_at) WHERE status <> 'pending';
    CREATE INDEX email_outbox_affiliate_idx ON email_outbox (affiliate_id, kind) WHERE status = 'pending';

    CREATE TABLE email_unsubscribes (
      program_id text NOT NULL,
      email text NOT NULL,
      kind text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (program_id, email, kind)
    );

    CREATE FUNCTION email_outbox_enqueue(
      p_program text, p_kind text, p_audience text, p_affiliate text, p_subject text, p_key text,
      p_delay interval DEFAULT interval '0'
    ) RETURNS void LANGUAGE sql AS $$
      INSERT INTO email_outbox (program_id, kind, audience, affiliate_id, subject_id, dedupe_key, available_at)
      VALUES (p_program, p_kind, p_audience, p_affiliate, p_subject, p_key, now() + p_delay)
      ON CONFLICT (dedupe_key) DO NOTHING
    $$;

    -- Affiliates: an application (applied_at set) tells the applicant and the merchant team; approval and
    -- rejection tell the affiliate (one mail per transition: keyed by the transaction).
    CREATE FUNCTION email_outbox_affiliates() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'application_received', 'affiliate', NEW.id, NEW.id,
          'application_received:' || NEW.id);
        PERFORM email_outbox_enqueue(NEW.program_id, 'new_application', 'merchant', NEW.id, NEW.id,
          'new_application:' || NEW.id);
      ELSIF NEW.status = 'approved' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'affiliate_approved', 'affiliate', NEW.id, NEW.id,
          'affiliate_approved:' || NEW.id || ':' || txid_current());
      ELSIF NEW.status = 'rejected' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'affiliate_rejected', 'affiliate', NEW.id, NEW.id,
          'affiliate_rejected:' || NEW.id || ':' || txid_current());
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER email_outbox_affiliate_applied AFTER INSERT ON affiliates FOR EACH ROW
      WHEN (NEW.status = 'pending' AND NEW.applied_at IS NOT NULL) EXECUTE FUNCTION email_outbox_affiliates();
    CREATE TRIGGER email_outbox_affiliate_status AFTER UPDATE OF status ON affiliates FOR EACH ROW
      WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('approved', 'rejected'))
      EXECUTE FUNCTION email_outbox_affiliates();

    -- Commissions: the affiliate's first one, approval, clawbacks (a negative clawback row, or a commission
    -- reversed in place); the merchant team hears of holds (fraud checks, disputes).
    CREATE FUNCTION email_outbox_commissions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        IF NEW.kind = 'clawback' THEN
          PERFORM email_outbox_enqueue(NEW.program_id, 'clawback', 'affiliate', NEW.affiliate_id, NEW.id,
            'clawback:' || NEW.id);
        ELSIF NEW.amount > 0 AND NEW.status <> 'rejected' AND NOT EXISTS (
          SELECT 1 FROM commissions c WHERE c.program_id = NEW.program_id AND c.affiliate_id = NEW.affiliate_id
            AND c.id <> NEW.id AND c.kind <> 'clawback'
        ) THEN
          PERFORM email_outbox_enqueue(NEW.program_id, 'first_commission', 'affiliate', NEW.affiliate_id, NEW.id,
            'first_commission:' || NEW.affiliate_id);
        END IF;
        IF NEW.status = 'on_hold' THEN
          PERFORM email_outbox_enqueue(NEW.program_id, 'commission_on_hold', 'merchant', NEW.affiliate_id, NEW.id,
            'commission_on_hold:' || NEW.id);
        END IF;
      ELSIF NEW.status = 'approved' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'commission_approved', 'affiliate', NEW.affiliate_id, NEW.id,
          'commission_approved:' || NEW.id);
      ELSIF NEW.status = 'reversed' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'clawback', 'affiliate', NEW.affiliate_id, NEW.id,
          'clawback:' || NEW.id);
      ELSIF NEW.status = 'on_hold' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'commission_on_hold', 'merchant', NEW.affiliate_id, NEW.id,
          'commission_on_hold:' || NEW.id);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER email_outbox_commission_created AFTER INSERT ON commissions FOR EACH ROW
      EXECUTE FUNCTION email_outbox_commissions();
    CREATE TRIGGER email_outbox_commission_status AFTER UPDATE OF status ON commissions FOR EACH ROW
      WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('approved', 'reversed', 'on_hold'))
      EXECUTE FUNCTION email_outbox_commissions();

    -- Payouts: a scheduled run tells the merchant team once per batch (a minute later, so the run's other payouts,
    -- each in its own transaction, are in the mail); a completed payout tells its affiliate.
    CREATE FUNCTION email_outbox_payouts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM email_outbox_enqueue(NEW.program_id, 'payout_run_ready', 'merchant', NULL, NEW.batch_id,
          'payout_run_ready:' || NEW.batch_id, interval '1 minute');
      ELSE
        PERFORM email_outbox_enqueue(NEW.program_id, 'payout_sent', 'affiliate', NEW.affiliate_id, NEW.id,
          'payout_sent:' || NEW.id);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER email_outbox_payout_run AFTER INSERT ON payouts FOR EACH ROW
      WHEN (NEW.requested_by = 'system' AND NEW.batch_id IS NOT NULL) EXECUTE FUNCTION email_outbox_payouts();
    CREATE TRIGGER email_outbox_payout_completed AFTER UPDATE OF status ON payouts FOR EACH ROW
      WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed')
      EXECUTE FUNCTION email_outbox_payouts();

    -- Stripe events that end failed after their retries (once per event, a replay failing again included).
    CREATE FUNCTION email_outbox_stripe_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM email_outbox_enqueue(NEW.program_id, 'stripe_event_failed', 'merchant', NULL, NEW.id,
        'stripe_event_failed:' || NEW.program_id || ':' || NEW.id);
      RETURN NULL;
    END $$;
    CREATE TRIGGER email_outbox_stripe_event_failed AFTER UPDATE OF status ON stripe_events FOR EACH ROW
      WHEN (NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed')
      EXECUTE FUNCTION email_outbox_stripe_events();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER email_outbox_stripe_event_failed ON stripe_events;
    DROP TRIGGER email_outbox_payout_completed ON payouts;
    DROP TRIGGER email_outbox_payout_run ON payouts;
    DROP TRIGGER email_outbox_commission_status ON commissions;
    DROP TRIGGER email_outbox_commission_created ON commissions;
    DROP TRIGGER email_outbox_affiliate_status ON affiliates;
    DROP TRIGGER email_outbox_affiliate_applied ON affiliates;
    DROP FUNCTION email_outbox_stripe_events(), email_outbox_payouts(), email_outbox_commissions(),
      email_outbox_affiliates();
    DROP FUNCTION email_outbox_enqueue(text, text, text, text, text, text, interval);
    DROP TABLE email_unsubscribes;
    DROP TABLE email_outbox;
    ALTER TABLE programs DROP COLUMN notification_email;
  `.execute(db);
}
