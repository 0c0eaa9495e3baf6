/**
 * Conversions, commissions and their history reference their parent within the program with one composite foreign
 * key each, instead of one key to `programs` plus one to the parent:
 * - `conversions (program_id, affiliate_id)` and `commissions (program_id, affiliate_id)` → `affiliates (program_id, id)`;
 * - `commission_events (program_id, commission_id)` → `commissions (program_id, id)`.
 *
 * Why: a foreign-key check locks the referenced row (`FOR KEY SHARE`). Every sale inserted three rows that locked
 * the program's single `programs` row, from every concurrent transaction: a stream of MultiXacts and WAL-logged tuple
 * locks on the hottest page (auto_explain showed 2–4 ms waits on that check during the webhook benchmark; with those
 * keys dropped, PostgreSQL time per sale fell from ~1.9 to ~1.6 ms). Now the checks lock the affiliate's row (or the
 * commission's), there is one check where there were two, and the keys are stronger: a conversion's affiliate must
 * be an affiliate of the same program, which the separate keys did not say.
 *
 * Deleting: the new keys are NO ACTION. A program or an affiliate with conversions or commissions can no longer be
 * deleted by a cascade from `programs` (before, deleting a program removed its money history with it); delete or
 * archive that history first. The application deletes none of these rows.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE affiliates ADD CONSTRAINT affiliates_program_id_id_key UNIQUE (program_id, id);
    ALTER TABLE commissions ADD CONSTRAINT commissions_program_id_id_key UNIQUE (program_id, id);

    ALTER TABLE conversions
      DROP CONSTRAINT conversions_program_id_fkey,
      DROP CONSTRAINT conversions_affiliate_id_fkey,
      ADD CONSTRAINT conversions_affiliate_fkey FOREIGN KEY (program_id, affiliate_id) REFERENCES affiliates (program_id, id) NOT VALID;
    ALTER TABLE commissions
      DROP CONSTRAINT commissions_program_id_fkey,
      DROP CONSTRAINT commissions_affiliate_id_fkey,
      ADD CONSTRAINT commissions_affiliate_fkey FOREIGN KEY (program_id, affiliate_id) REFERENCES affiliates (program_id, id) NOT VALID;
    ALTER TABLE commission_events
      DROP CONSTRAINT commission_events_program_id_fkey,
      DROP CONSTRAINT commission_events_commission_id_fkey,
      ADD CONSTRAINT commission_events_commission_fkey FOREIGN KEY (program_id, commission_id) REFERENCES commissions (program_id, id) NOT VALID;

    ALTER TABLE conversions VALIDATE CONSTRAINT conversions_affiliate_fkey;
    ALTER TABLE commissions VALIDATE CONSTRAINT commissions_affiliate_fkey;
    ALTER TABLE commission_events VALIDATE CONSTRAINT commission_events_commission_fkey;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE commission_events
      DROP CONSTRAINT commission_events_commission_fkey,
      ADD CONSTRAINT commission_events_program_id_fkey FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
      ADD CONSTRAINT commission_events_commission_id_fkey FOREIGN KEY (commission_id) REFERENCES commissions (id);
    ALTER TABLE commissions
      DROP CONSTRAINT commissions_affiliate_fkey,
      ADD CONSTRAINT commissions_program_id_fkey FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
      ADD CONSTRAINT commissions_affiliate_id_fkey FOREIGN KEY (affiliate_id) REFERENCES affiliates (id);
    ALTER TABLE conversions
      DROP CONSTRAINT conversions_affiliate_fkey,
      ADD CONSTRAINT conversions_program_id_fkey FOREIGN KEY (program_id) REFERENCES programs (id) ON DELETE CASCADE,
      ADD CONSTRAINT conversions_affiliate_id_fkey FOREIGN KEY (affiliate_id) REFERENCES affiliates (id);
    ALTER TABLE commissions DROP CONSTRAINT commissions_program_id_id_key;
    ALTER TABLE affiliates DROP CONSTRAINT affiliates_program_id_id_key;
  `.execute(db);
}
