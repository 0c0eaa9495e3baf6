/** SQL for programs, their API keys and Stripe webhook secrets. */
import type { Insertable, Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ProgramsTable } from '../db/schema.ts';

export function insertProgram(db: DbOrTrx, row: Insertable<ProgramsTable>) {
  return db.insertInto('programs').values(row).returningAll().executeTakeFirstOrThrow();
}

export function insertApiKey(
  db: DbOrTrx,
  row: { id: string; program_id: string; key_hash: string; key_prefix: string },
) {
  return db.insertInto('api_keys').values(row).execute();
}

export function insertWebhookSecret(db: DbOrTrx, row: { id: string; program_id: string; secret: string }) {
  return db
    .insertInto('stripe_webhook_secrets')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export function findProgramById(db: DbOrTrx, id: string) {
  return db.selectFrom('programs').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findProgramByPublicKey(db: DbOrTrx, publicKey: string) {
  return db.selectFrom('programs').selectAll().where('public_key', '=', publicKey).executeTakeFirst();
}

/** The program that owns an unrevoked API key with this hash. */
export function findProgramByApiKeyHash(db: DbOrTrx, keyHash: string) {
  return db
    .selectFrom('api_keys')
    .innerJoin('programs', 'programs.id', 'api_keys.program_id')
    .selectAll('programs')
    .where('api_keys.key_hash', '=', keyHash)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
}

/** Unrevoked webhook secrets of a program, newest first. */
export async function listWebhookSecrets(db: DbOrTrx, programId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('stripe_webhook_secrets')
    .select('secret')
    .where('program_id', '=', programId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => r.secret);
}

/** Change a program's settings; an empty patch returns the row unchanged. */
export async function updateProgram(db: DbOrTrx, id: string, patch: Updateable<ProgramsTable>) {
  if (Object.keys(patch).length === 0)
    return db.selectFrom('programs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return db.updateTable('programs').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}
