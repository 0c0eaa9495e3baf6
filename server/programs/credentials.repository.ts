/** SQL for a program's credentials: its API keys and its Stripe webhook signing secrets. */
import type { Insertable } from 'kysely';
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ApiKeysTable } from '../db/schema.ts';

/** Every API key of the program, newest first (revoked ones too: the list is also their history). */
export function listApiKeys(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'name', 'key_prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .where('program_id', '=', programId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

export function insertApiKeyRow(db: DbOrTrx, row: Insertable<ApiKeysTable>) {
  return db
    .insertInto('api_keys')
    .values(row)
    .returning(['id', 'name', 'key_prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirstOrThrow();
}

/** Active keys of the program, locked (`FOR UPDATE`) so that two revocations cannot both leave none. */
export function lockActiveApiKeys(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('api_keys')
    .select(['id'])
    .where('program_id', '=', programId)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
}

export function revokeApiKeyRow(db: DbOrTrx, programId: string, id: string, at: Date) {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['id', 'name', 'key_prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirst();
}

export function findApiKeyRow(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'name', 'key_prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * Note that the key opened the admin API, unless that was already noted in the last minute (one write a minute per
 * key at most, however busy the key is).
 */
export function touchApiKey(db: DbOrTrx, keyHash: string, at: Date) {
  return db
    .updateTable('api_keys')
    .set({ last_used_at: at })
    .where('key_hash', '=', keyHash)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<', sql<Date>`${at}::timestamptz - interval '1 minute'`),
      ]),
    )
    .execute();
}

/** Every webhook signing secret of the program, newest first, sealed as stored. */
export function listWebhookSecretRows(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('stripe_webhook_secrets')
    .select(['id', 'secret', 'created_at', 'revoked_at'])
    .where('program_id', '=', programId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

/** Active secrets of the program, locked like `lockActiveApiKeys`. */
export function lockActiveWebhookSecrets(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('stripe_webhook_secrets')
    .select(['id'])
    .where('program_id', '=', programId)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
}

export function retireWebhookSecretRow(db: DbOrTrx, programId: string, id: string, at: Date) {
  return db
    .updateTable('stripe_webhook_secrets')
    .set({ revoked_at: at })
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['id'])
    .executeTakeFirst();
}
