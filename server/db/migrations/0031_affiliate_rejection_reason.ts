/**
 * Issue 20, the console's applications queue: a merchant rejects an applicant with a reason. The reason is kept on
 * the affiliate (`rejection_reason`, null unless its status is `rejected`), shown in the console and the admin API,
 * and carried by the `affiliate_rejected` e-mail (escaped like every value, `mail/templates.ts`). A case-insensitive
 * index on the name backs the list's `sort=name`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE affiliates ADD COLUMN rejection_reason text CHECK (char_length(rejection_reason) <= 500);
    CREATE INDEX affiliates_program_name_idx ON affiliates (program_id, lower(name), id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX affiliates_program_name_idx;
    ALTER TABLE affiliates DROP COLUMN rejection_reason;
  `.execute(db);
}
