/**
 * Payments outside Checkout, credit notes and per-line commission rules:
 *
 * - `commissions.rule_reason`: why the rules engine could not (or did) look at what was bought, shown by the admin
 *   API as `ruleReason`: `line_items_unavailable` (a Checkout sale whose line items the payload does not carry and
 *   no restricted key could fetch: product / price rules could not match, so the sale was commissioned without
 *   them), `per_line_items` (each line item was matched to its own rule). Null otherwise.
 * - `conversions.credited_amount`: the part of the sale given back by credit notes as customer credit or out of
 *   band (not as a Stripe refund: that part arrives as `charge.refunded` and is `refunded_amount`), in the
 *   conversion's own net-of-tax minor units. Refunds and credits together never exceed the conversion amount.
 * - `stripe_credit_notes`: each credit note applied once per program (its id is the idempotency key), with the
 *   share it credited.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE commissions ADD COLUMN rule_reason text CHECK (char_length(rule_reason) <= 100);
    ALTER TABLE conversions ADD COLUMN credited_amount bigint NOT NULL DEFAULT 0 CHECK (credited_amount >= 0);
    CREATE TABLE stripe_credit_notes (
      program_id      text NOT NULL,
      id              text NOT NULL CHECK (char_length(id) <= 255),
      conversion_id   text NOT NULL REFERENCES conversions (id) ON DELETE CASCADE,
      credited_amount bigint NOT NULL CHECK (credited_amount >= 0),
      created_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (program_id, id)
    );
    CREATE INDEX stripe_credit_notes_conversion_idx ON stripe_credit_notes (conversion_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE stripe_credit_notes;
    ALTER TABLE conversions DROP COLUMN credited_amount;
    ALTER TABLE commissions DROP COLUMN rule_reason;
  `.execute(db);
}
