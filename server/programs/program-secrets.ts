/**
 * Programs' stored secrets — the Stripe API key (`programs.stripe_api_key`) and the webhook signing secrets
 * (`stripe_webhook_secrets.secret`), and the outgoing webhook endpoints' signing secrets (`webhook_endpoints.secret`,
 * `previous_secret`; used by `outgoing-webhooks/`) — through the secret box (`lib/secrets.ts`): sealed when written, opened
 * where used (webhook signature checks, Stripe API reads, Connect transfers), each bound to its program.
 *
 * Lifecycle (migration 0011 explains why it is not the migration that encrypts):
 * - `prepare()` at start-up, after the migrations: encrypts the plain-text values an older version stored, and opens
 *   every stored value once, so a wrong `SECRET_KEY` stops the start with a clear error instead of failing webhooks
 *   one by one later.
 * - `sweep({ reencrypt: true })` (`npm run cli -- secrets rotate`): re-encrypts under `SECRET_KEY` what only
 *   `SECRET_KEY_PREVIOUS` opens. Rows are changed one by one, each only if it still holds the value read
 *   (`replaceStoredSecret`), so a concurrent change is never overwritten and the sweep can run on a live system.
 */
import type { Db, DbOrTrx } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { NotFoundError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { isSealed, SecretDecryptionError, type SecretBox } from '../lib/secrets.ts';
import * as repo from './programs.repository.ts';

const PAGE = 500;

/**
 * What a sweep found and did, counted per stored value (API keys, webhook secrets, revoked ones included, and webhook
 * endpoint secrets).
 */
export interface SecretsSweep {
  /** Plain-text values encrypted now. */
  sealed: number;
  /** Values that opened only with `SECRET_KEY_PREVIOUS` and were re-encrypted under `SECRET_KEY`. */
  reencrypted: number;
  /** Values that open only with `SECRET_KEY_PREVIOUS` and were left so (not re-encrypting). */
  underPrevious: number;
  /** Values already under `SECRET_KEY`. */
  current: number;
  /** Values changed by someone else during the sweep (left as they are: they were written with the current key). */
  changed: number;
  /** Values that open with neither key (never printed: only where they are). */
  failed: { kind: repo.StoredSecretRow['kind']; id: string; programId: string }[];
}

export function createProgramSecrets(deps: { db: Db; box: SecretBox }) {
  const { db, box } = deps;
  /** Told the program id when its webhook secrets change in this process (the webhook route drops its cache). */
  const secretsListeners = new Set<(programId: string) => void>();
  const secretsChanged = (programId: string) => {
    for (const listener of secretsListeners) listener(programId);
  };

  const self = {
    /**
     * Call `listener(programId)` whenever a webhook secret of a program is added or retired through this object.
     * Other instances learn of it when their cache expires (`SECRETS_TTL_MS` in `stripe/webhooks/ingest.ts`).
     */
    onWebhookSecretsChanged(listener: (programId: string) => void): void {
      secretsListeners.add(listener);
    },

    /** Tell the listeners that the program's webhook secrets changed (after the change is committed). */
    webhookSecretsChanged: secretsChanged,

    /** The value to store in `programs.stripe_api_key` for `key` (plain text, e.g. `rk_live_…`). */
    sealApiKey(programId: string, key: string): string {
      return box.seal('stripe_api_key', key, programId);
    },

    /**
     * The program's Stripe API key in plain text, or null when none is set.
     * @throws SecretDecryptionError when the stored value does not open
     */
    apiKey(program: Pick<ProgramRow, 'id' | 'stripe_api_key'>): string | null {
      return program.stripe_api_key ? box.open('stripe_api_key', program.stripe_api_key, program.id) : null;
    },

    /**
     * One stored (sealed) webhook signing secret of the program in plain text.
     * @throws SecretDecryptionError when it does not open
     */
    openWebhookSecret(programId: string, stored: string): string {
      return box.open('stripe_webhook_secret', stored, programId);
    },

    /**
     * The program's active webhook signing secrets in plain text, newest first.
     * @throws SecretDecryptionError when one does not open
     */
    async webhookSecrets(programId: string, on: DbOrTrx = db): Promise<string[]> {
      return (await repo.listWebhookSecrets(on, programId)).map((s) => box.open('stripe_webhook_secret', s, programId));
    },

    /**
     * Store a webhook signing secret (`whsec_…`, validated by the caller) for the program, unless it is already one
     * of its active secrets. Runs in `trx` when given (a program being created), else in a transaction of its own
     * that locks the program's row (two concurrent adds of one secret store it once).
     * @throws NotFoundError `unknown_program`; SecretDecryptionError (an active secret does not open)
     */
    async addWebhookSecret(programId: string, secret: string, trx?: DbOrTrx): Promise<void> {
      const add = async (t: DbOrTrx) => {
        if (!(await repo.lockProgramForSecrets(t, programId))) throw new NotFoundError('Program', 'unknown_program');
        if ((await self.webhookSecrets(programId, t)).includes(secret)) return;
        await repo.insertWebhookSecret(t, {
          id: newId('whs'),
          program_id: programId,
          secret: box.seal('stripe_webhook_secret', secret, programId),
        });
      };
      if (trx) await add(trx);
      else await db.transaction().execute(add);
      secretsChanged(programId);
    },

    /**
     * Go over every stored secret: encrypt plain-text ones; with `reencrypt`, re-encrypt under `SECRET_KEY` those
     * only `SECRET_KEY_PREVIOUS` opens; `plainOnly` looks at plain-text values alone (no decryption: cheap).
     */
    async sweep(opts: { reencrypt: boolean; plainOnly?: boolean }): Promise<SecretsSweep> {
      const out: SecretsSweep = { sealed: 0, reencrypted: 0, underPrevious: 0, current: 0, changed: 0, failed: [] };
      for (const kind of ['stripe_api_key', 'stripe_webhook_secret', 'webhook_endpoint_secret'] as const) {
        let after = '';
        for (;;) {
          const rows = await repo.pageStoredSecrets(db, kind, after, PAGE, opts.plainOnly ?? false);
          for (const row of rows) {
            let to: string | null = null;
            if (!isSealed(row.value)) {
              to = box.seal(kind, row.value, row.programId);
            } else {
              try {
                const { plaintext, key } = box.unseal(kind, row.value, row.programId);
                if (key === 'current') out.current++;
                else if (opts.reencrypt) to = box.seal(kind, plaintext, row.programId);
                else out.underPrevious++;
              } catch (err) {
                if (!(err instanceof SecretDecryptionError)) throw err;
                out.failed.push({ kind, id: row.id, programId: row.programId });
              }
            }
            if (to === null) continue;
            if (!(await repo.replaceStoredSecret(db, row, row.value, to))) out.changed++;
            else if (isSealed(row.value)) out.reencrypted++;
            else out.sealed++;
          }
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]!.id;
        }
      }
      return out;
    },

    /**
     * Start-up: encrypt plain-text secrets left by an older version, then check that every stored secret opens;
     * logs what it encrypted and how many values still need `secrets rotate`.
     * @throws SecretDecryptionError naming how many values (and which programs) open with neither key
     */
    async prepare(log: (msg: string) => void = () => {}): Promise<SecretsSweep> {
      const sweep = await self.sweep({ reencrypt: false });
      if (sweep.sealed > 0) log(`secrets: encrypted ${sweep.sealed} stored secret(s) that were in plain text`);
      if (sweep.underPrevious > 0)
        log(
          `secrets: ${sweep.underPrevious} stored secret(s) open only with SECRET_KEY_PREVIOUS; run \`npm run cli -- secrets rotate\``,
        );
      if (sweep.failed.length > 0) {
        const first = sweep.failed[0]!;
        const programs = [...new Set(sweep.failed.map((f) => f.programId))];
        throw new SecretDecryptionError(
          first.kind,
          first.programId,
          `${sweep.failed.length} stored secret(s) of ${programs.length} program(s) (${programs.slice(0, 5).join(', ')}` +
            `${programs.length > 5 ? ', …' : ''}) open with neither SECRET_KEY nor SECRET_KEY_PREVIOUS: the key changed? ` +
            'Set the key they were encrypted with as SECRET_KEY (or SECRET_KEY_PREVIOUS, then run `npm run cli -- secrets rotate`)',
        );
      }
      return sweep;
    },
  };
  return self;
}
export type ProgramSecrets = ReturnType<typeof createProgramSecrets>;
