/**
 * Identifiers and secrets. Ids are `<prefix>_<22 base64url chars>` (128 random bits): valid Stripe
 * `client_reference_id` values (`[A-Za-z0-9_-]{1,200}`) and unguessable. Ids written at click rate start with
 * the time (`newTimeOrderedId`).
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';

/**
 * Random bytes for ids, drawn from the CSPRNG 4 KiB at a time: one `randomBytes(16)` call per id was ~4 % of
 * the server's time in the click benchmark (each call crosses into OpenSSL). Each byte is used once.
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

/** 22 base64url characters: 128 random bits. */
function randomPart(): string {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += 16;
  return pool.toString('base64url', offset - 16, offset);
}

/** A new random id such as `cnv_3q2-...`: prefix, underscore, 22 base64url characters (128 random bits). */
export function newId(prefix: string): string {
  return `${prefix}_${randomPart()}`;
}

/** base64url's 64 characters in ASCII order, so that encoded times sort as text (collation C) as they do as numbers. */
const SORTED_ALPHABET = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';

/**
 * A new id that starts with the time, such as `ref_0kT3xQ2a<22 random chars>`: prefix, underscore, the
 * milliseconds since 1970 in 8 characters of an ASCII-ordered alphabet (until the year 10889), then 128 random
 * bits as in `newId`. Still unguessable, but new rows land at the right edge of the primary key's B-tree instead of
 * on a random page (the idea of UUIDv7, RFC 9562 §5.7): PostgreSQL time per click fell ~10 % in the click
 * ingest (docs/performance.md#click-ingest). The creation time is readable from the id; referral ids carry nothing
 * more secret.
 */
export function newTimeOrderedId(prefix: string, now = Date.now()): string {
  let t = Math.floor(now);
  let time = '';
  for (let i = 0; i < 8; i++) {
    time = SORTED_ALPHABET[t % 64]! + time;
    t = Math.floor(t / 64);
  }
  return `${prefix}_${time}${randomPart()}`;
}

/** A high-entropy secret (API key, session id, one-time token): prefix + 32 random bytes, base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 hex of a high-entropy secret, for storage and lookup. Fine for random 256-bit secrets (no
 * dictionary to attack); passwords use argon2 instead (`partner/access/passwords.ts`).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
