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

/** Unrevoked webhook secrets of a program, newest first, as stored (sealed: `program-secrets.ts` opens them). */
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

/** A stored secret column value, for sealing and rotation (`program-secrets.ts`). */
export interface StoredSecretRow {
  kind: 'stripe_api_key' | 'stripe_webhook_secret' | 'webhook_endpoint_secret';
  /** `programs.id` for an API key, `stripe_webhook_secrets.id` for a webhook secret, `webhook_endpoints.id`. */
  id: string;
  /** For an outgoing webhook endpoint: its current or its previous (rotated) secret. */
  column?: 'secret' | 'previous_secret';
  programId: string;
  value: string;
}

/**
 * One page (by id, after `afterId`) of the stored secrets of `kind`, revoked webhook secrets included;
 * `plainOnly`: only values not sealed yet (not `v1:…`).
 */
export async function pageStoredSecrets(
  db: DbOrTrx,
  kind: StoredSecretRow['kind'],
  afterId: string,
  limit: number,
  plainOnly: boolean,
): Promise<StoredSecretRow[]> {
  if (kind === 'stripe_api_key') {
    let q = db
      .selectFrom('programs')
      .select(['id', 'stripe_api_key'])
      .where('stripe_api_key', 'is not', null)
      .where('id', '>', afterId);
    if (plainOnly) q = q.where('stripe_api_key', 'not like', 'v1:%');
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ kind, id: r.id, programId: r.id, value: r.stripe_api_key! }));
  }
  if (kind === 'webhook_endpoint_secret') {
    let q = db
      .selectFrom('webhook_endpoints')
      .select(['id', 'program_id', 'secret', 'previous_secret'])
      .where('id', '>', afterId);
    if (plainOnly)
      q = q.where((eb) => eb.or([eb('secret', 'not like', 'v1:%'), eb('previous_secret', 'not like', 'v1:%')]));
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.flatMap((r) => [
      { kind, id: r.id, programId: r.program_id, value: r.secret, column: 'secret' as const },
      ...(r.previous_secret
        ? [{ kind, id: r.id, programId: r.program_id, value: r.previous_secret, column: 'previous_secret' as const }]
        : []),
    ]);
  }
  let q = db.selectFrom('stripe_webhook_secrets').select(['id', 'program_id', 'secret']).where('id', '>', afterId);
  if (plainOnly) q = q.where('secret', 'not like', 'v1:%');
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ kind, id: r.id, programId: r.program_id, value: r.secret }));
}

/**
 * Replace a stored secret's value, only if it still is `from` (a concurrent change wins; nothing is overwritten).
 * @returns whether the row was changed
 */
export async function replaceStoredSecret(
  db: DbOrTrx,
  row: Pick<StoredSecretRow, 'kind' | 'id' | 'column'>,
  from: string,
  to: string,
): Promise<boolean> {
  if (row.kind === 'webhook_endpoint_secret') {
    const column = row.column ?? 'secret';
    const res = await db
      .updateTable('webhook_endpoints')
      .set(column === 'secret' ? { secret: to } : { previous_secret: to })
      .where('id', '=', row.id)
      .where(column, '=', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
  const res =
    row.kind === 'stripe_api_key'
      ? await db
          .updateTable('programs')
          .set({ stripe_api_key: to })
          .where('id', '=', row.id)
          .where('stripe_api_key', '=', from)
          .executeTakeFirst()
      : await db
          .updateTable('stripe_webhook_secrets')
          .set({ secret: to })
          .where('id', '=', row.id)
          .where('secret', '=', from)
          .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Lock the program's row against concurrent secret changes (`FOR NO KEY UPDATE`); false when it does not exist. */
export async function lockProgramForSecrets(trx: DbOrTrx, programId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('programs')
    .select('id')
    .where('id', '=', programId)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row !== undefined;
}
