/**
 * A program's credentials as the merchant manages them (admin API `/api/v1/api-keys`, `/api/v1/webhook-secrets`,
 * CLI `api-keys …`, `program webhook-secrets …`):
 * - **API keys** (`sk_pk_…`): created with a name and shown once (only a SHA-256 hash is stored), listed with their
 *   prefix and last use, revoked. The last active key cannot be revoked (the program would be locked out of its
 *   own API; create the new key first, then revoke the old one).
 * - **Stripe webhook signing secrets** (`whsec_…`, sealed at rest by `program-secrets.ts`): several may be active
 *   while an endpoint's secret is rolled in Stripe's dashboard; the old one is retired once Stripe signs with the new
 *   one. The last active secret cannot be retired (every Stripe event would then be refused and, after Stripe's
 *   retries, lost).
 */
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../lib/errors.ts';
import { hashSecret, newId, newSecret } from '../lib/ids.ts';
import { SecretDecryptionError } from '../lib/secrets.ts';
import { parseInput, storableText } from '../lib/validate.ts';
import { webhookSigningSecret } from '../lib/schemas.ts';
import type { ProgramSecrets } from './program-secrets.ts';
import * as repo from './credentials.repository.ts';

export const createApiKeyInput = z.object({ name: storableText().trim().min(1).max(100) });
export const webhookSecretInput = z.object({ secret: webhookSigningSecret });

/** The public shape of an API key (never the key itself, except once in `CreatedApiKey`). */
export interface ApiKey {
  id: string;
  name: string | null;
  /** The key's first 12 characters (`sk_pk_` + 6), to recognise it. */
  prefix: string;
  createdAt: string;
  /** When it last opened the admin API, to the minute; null when never. */
  lastUsedAt: string | null;
  revokedAt: string | null;
}
export interface CreatedApiKey extends ApiKey {
  /** The key: shown here once, never again. */
  key: string;
}

/** The public shape of a webhook signing secret: its last four characters only. */
export interface WebhookSecret {
  id: string;
  /** `whsec_…` + the secret's last 4 characters; null when the stored value does not open under SECRET_KEY. */
  hint: string | null;
  createdAt: string;
  retiredAt: string | null;
}

type ApiKeyRow = Awaited<ReturnType<typeof repo.listApiKeys>>[number];
const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  name: r.name,
  prefix: r.key_prefix,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

/** @param deps.now the clock (default: the system's) */
export function createCredentialsService(deps: { db: Db; now?: () => Date; programSecrets: ProgramSecrets }) {
  const { db, programSecrets } = deps;
  const now = deps.now ?? (() => new Date());
  /** A fresh key (stored hashed; the plain text is answered once). */
  async function insertApiKey(db: DbOrTrx, programId: string, name: string | null): Promise<CreatedApiKey> {
    const key = newSecret('sk_pk');
    const row = await repo.insertApiKeyRow(db, {
      id: newId('key'),
      program_id: programId,
      key_hash: hashSecret(key),
      key_prefix: key.slice(0, 12),
      name,
      created_at: now(),
    });
    return { ...toApiKey(row), key };
  }
  const service = {
    listApiKeys: async (program: Pick<ProgramRow, 'id'>): Promise<ApiKey[]> =>
      (await repo.listApiKeys(db, program.id)).map(toApiKey),

    /**
     * A new API key for the program, `{ name }`. @returns the key in plain text, once
     * @throws ValidationError
     */
    async createApiKey(program: Pick<ProgramRow, 'id'>, input: unknown): Promise<CreatedApiKey> {
      const { name } = parseInput(createApiKeyInput, input);
      return insertApiKey(db, program.id, name);
    },

    /**
     * Rotate an API key: a new key with the same name, and the old one revoked, in one transaction (the program
     * is never without an active key, and no request sees both revoked). @returns the new key in plain text, once
     * @throws NotFoundError; ConflictError `api_key_revoked` (a revoked key has nothing left to rotate)
     */
    async rotateApiKey(program: Pick<ProgramRow, 'id'>, id: string): Promise<CreatedApiKey> {
      return db.transaction().execute(async (trx) => {
        await repo.lockActiveApiKeys(trx, program.id);
        const existing = await repo.findApiKeyRow(trx, program.id, id);
        if (!existing) throw new NotFoundError('API key');
        if (existing.revoked_at) throw new ConflictError('This API key is already revoked', 'api_key_revoked');
        const created = await insertApiKey(trx, program.id, existing.name);
        await repo.revokeApiKeyRow(trx, program.id, id, now());
        return created;
      });
    },

    /**
     * Revoke an API key: it stops opening the admin API at once, on every instance (keys are looked up in
     * PostgreSQL on each request). Revoking a revoked key answers it as it is.
     * @throws NotFoundError; ConflictError `last_api_key`
     */
    async revokeApiKey(program: Pick<ProgramRow, 'id'>, id: string): Promise<ApiKey> {
      return db.transaction().execute(async (trx) => {
        const active = await repo.lockActiveApiKeys(trx, program.id);
        const existing = await repo.findApiKeyRow(trx, program.id, id);
        if (!existing) throw new NotFoundError('API key');
        if (existing.revoked_at) return toApiKey(existing);
        if (active.length <= 1) {
          throw new ConflictError(
            'This is the program’s last active API key: create another one first',
            'last_api_key',
          );
        }
        return toApiKey((await repo.revokeApiKeyRow(trx, program.id, id, now()))!);
      });
    },

    async listWebhookSecrets(program: Pick<ProgramRow, 'id'>): Promise<WebhookSecret[]> {
      return (await repo.listWebhookSecretRows(db, program.id)).map((r) => {
        let hint: string | null = null;
        try {
          hint = `whsec_…${programSecrets.openWebhookSecret(program.id, r.secret).slice(-4)}`;
        } catch (err) {
          if (!(err instanceof SecretDecryptionError)) throw err;
        }
        return {
          id: r.id,
          hint,
          createdAt: r.created_at.toISOString(),
          retiredAt: r.revoked_at?.toISOString() ?? null,
        };
      });
    },

    /**
     * Add a signing secret `{ secret }` (stored sealed, once: adding an active one again changes nothing).
     * @returns the program's secrets after the change
     * @throws ValidationError; SecretDecryptionError (an active secret does not open)
     */
    async addWebhookSecret(program: Pick<ProgramRow, 'id'>, input: unknown): Promise<WebhookSecret[]> {
      const { secret } = parseInput(webhookSecretInput, input);
      await programSecrets.addWebhookSecret(program.id, secret);
      return service.listWebhookSecrets(program);
    },

    /**
     * Retire a signing secret: events signed only with it are refused from now on by this instance, and by other
     * instances within the few seconds they cache a program's secrets (`SECRETS_TTL_MS`, stripe/webhooks/ingest.ts).
     * Retiring a retired one answers the list as it is.
     * @returns the program's secrets after the change
     * @throws NotFoundError; ConflictError `last_webhook_secret`
     */
    async retireWebhookSecret(program: Pick<ProgramRow, 'id'>, id: string): Promise<WebhookSecret[]> {
      await db.transaction().execute(async (trx) => {
        const active = await repo.lockActiveWebhookSecrets(trx, program.id);
        const all = await repo.listWebhookSecretRows(trx, program.id);
        const target = all.find((r) => r.id === id);
        if (!target) throw new NotFoundError('Webhook secret');
        if (target.revoked_at) return;
        if (active.length <= 1) {
          throw new ConflictError(
            'This is the program’s last active signing secret: add the new one first, then retire this one',
            'last_webhook_secret',
          );
        }
        await repo.retireWebhookSecretRow(trx, program.id, id, now());
      });
      programSecrets.webhookSecretsChanged(program.id);
      return service.listWebhookSecrets(program);
    },
  };
  return service;
}
export type CredentialsService = ReturnType<typeof createCredentialsService>;
