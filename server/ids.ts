/**
 * Identifiers and secrets. Ids are `<prefix>_<22 base64url chars>` (128 random bits): valid Stripe
 * `client_reference_id` values (`[A-Za-z0-9_-]{1,200}`) and unguessable.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';

/**
 * Random bytes for ids, drawn from the CSPRNG 4 KiB at a time: one `randomBytes(16)` call per id was ~4 % of
 * the server's time in the click benchmark (each call crosses into OpenSSL). Each byte is used once.
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** A new random id such as `ref_3q2+...`: prefix, underscore, 22 base64url characters (128 random bits). */
export function newId(prefix: string): string {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += 16;
  return `${prefix}_${pool.toString('base64url', offset - 16, offset)}`;
}

/** A high-entropy secret (API key, session id, one-time token): prefix + 32 random bytes, base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 hex of a high-entropy secret, for storage and lookup. Fine for random 256-bit secrets (no
 * dictionary to attack); passwords use argon2 instead (`partner/passwords.ts`).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
