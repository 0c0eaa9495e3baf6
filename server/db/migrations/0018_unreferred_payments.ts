/**
 * `stripe_unreferred_payments`: the Stripe ids (payment intent, charge, invoice, Checkout Session, subscription) of
 * payments we saw and could attribute to no referral. Most of a merchant's sales are nobody's; their refunds,
 * disputes, credit notes and fraud warnings used to wait ~9 hours for a sale that would never be recorded and then
 * end `failed`, filling the events inbox with failures nobody could act on. Now such an event finds its payment here
 * and ends `ignored` (`sale_not_referred`) at once, still waking if a sale with one of its ids is recorded later.
 * A row is only consulted after the sale look-up found nothing, so a stale row (a payment attributed later) is
 * harmless. `event_id` is the inbox event that recorded it.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE stripe_unreferred_payments (
      program_id  text NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
      stripe_id   text NOT NULL,
      event_id    text NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (program_id, stripe_id)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE stripe_unreferred_payments`.execute(db);
}
