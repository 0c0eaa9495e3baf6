/**
 * Secrets at rest: `programs.stripe_api_key` and `stripe_webhook_secrets.secret` hold values sealed by
 * `lib/secrets.ts` (`v1:<base64url>`, AES-256-GCM under a key derived from `SECRET_KEY`), never plain text.
 *
 * Kysely migrations get no configuration, so this one cannot encrypt: it adds CHECK constraints `NOT VALID`, which
 * PostgreSQL enforces on every row inserted or updated from now on but not on the rows already there. The
 * application encrypts those at start-up, right after migrating and before it serves anything
 * (`programs/program-secrets.ts`, `sealPlaintext`; the CLI does the same), so the plain-text rows of an older
 * version live only between this migration and that step. Why not encrypt lazily on read: a secret that is never
 * read (a program without traffic, a revoked webhook secret) would stay in plain text forever, and every reader would
 * need a fallback for plain text. An older process still running during a deploy cannot write plain text any more
 * (its write fails on the constraint instead of storing a secret in the clear).
 *
 * `down` removes the constraints only: the values stay encrypted (decrypting needs the key this migration never has).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE programs ADD CONSTRAINT programs_stripe_api_key_sealed
      CHECK (stripe_api_key IS NULL OR stripe_api_key LIKE 'v1:%') NOT VALID;
    ALTER TABLE stripe_webhook_secrets ADD CONSTRAINT stripe_webhook_secrets_secret_sealed
      CHECK (secret LIKE 'v1:%') NOT VALID;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE programs DROP CONSTRAINT programs_stripe_api_key_sealed;
    ALTER TABLE stripe_webhook_secrets DROP CONSTRAINT stripe_webhook_secrets_secret_sealed;
  `.execute(db);
}
