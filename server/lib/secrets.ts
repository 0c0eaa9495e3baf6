/**
 * Secrets at rest: what partnerkit must be able to read back (programs' Stripe API keys and webhook signing
 * secrets) is stored encrypted with a key derived from `SECRET_KEY`, never in plain text.
 *
 * - Keys: HKDF-SHA256 (RFC 5869, `node:crypto` `hkdfSync`) over `SECRET_KEY`, one 256-bit key per purpose
 *   (`info` = `partnerkit/secrets/v1/<purpose>`), so a value sealed for one use cannot be opened as another.
 * - Cipher: AES-256-GCM (`node:crypto`), a random 96-bit nonce per value, 128-bit tag. The additional
 *   authenticated data names the version, purpose and the row's owner (`boundTo`: the program id; the affiliate id
 *   for an affiliate's tax id): a sealed value copied onto another owner does not open.
 * - Stored form: `v1:<base64url(nonce ‖ tag ‖ ciphertext)>` (12 + 16 + n bytes). The version prefix leaves room for
 *   another scheme; values without it are plain text from before migration 0011.
 * - Rotation: values open with `SECRET_KEY`, else with `SECRET_KEY_PREVIOUS`; `npm run cli -- secrets rotate`
 *   re-encrypts everything under `SECRET_KEY` (docs/operations.md, "Rotating SECRET_KEY").
 *
 * Sources: https://www.rfc-editor.org/rfc/rfc5869, NIST SP 800-38D (GCM; random 96-bit nonces are fine far below
 * 2^32 encryptions per key), https://nodejs.org/api/crypto.html#cryptohkdfsyncdigest-ikm-salt-info-keylen
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** What a sealed value is for; each purpose has a key of its own. */
export type SecretPurpose =
  | 'stripe_api_key'
  | 'stripe_webhook_secret'
  | 'webhook_endpoint_secret'
  | 'set_password_link'
  | 'affiliate_tax_id';

/** The prefix of every value sealed by this module. */
export const SEALED_PREFIX = 'v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Fixed HKDF salt (RFC 5869 §3.1: optional; a constant separates our derivations from other uses of the key). */
const SALT = Buffer.from('partnerkit secrets at rest');

/**
 * A stored secret that cannot be opened: encrypted with a key that is neither `SECRET_KEY` nor
 * `SECRET_KEY_PREVIOUS`, altered, bound to another program, or still plain text where a sealed value is required.
 * The message names the purpose and program and what to do; it never contains the secret.
 */
export class SecretDecryptionError extends Error {
  override name = 'SecretDecryptionError';
  constructor(
    readonly purpose: SecretPurpose,
    readonly boundTo: string,
    message: string,
  ) {
    super(message);
  }
}

/** True when `value` is in this module's sealed form (`v1:…`), false for plain text. */
export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

export interface SecretBox {
  /** Encrypt `plaintext` (UTF-8) for `purpose`, bound to `boundTo` (the owning program's id). */
  seal(purpose: SecretPurpose, plaintext: string, boundTo: string): string;
  /**
   * Decrypt a value made by `seal` with the same purpose and `boundTo`.
   * @throws SecretDecryptionError (wrong key, altered, other owner, not sealed)
   */
  open(purpose: SecretPurpose, sealed: string, boundTo: string): string;
  /** `open`, also telling which key opened it (`previous`: re-encrypt it, see `secrets rotate`). */
  unseal(purpose: SecretPurpose, sealed: string, boundTo: string): { plaintext: string; key: 'current' | 'previous' };
  /** Whether a previous key is configured (`SECRET_KEY_PREVIOUS`). */
  readonly hasPrevious: boolean;
}

const PURPOSES: readonly SecretPurpose[] = [
  'stripe_api_key',
  'stripe_webhook_secret',
  'webhook_endpoint_secret',
  'set_password_link',
  'affiliate_tax_id',
];

function deriveKeys(secretKey: string): Map<SecretPurpose, Buffer> {
  return new Map(
    PURPOSES.map((p) => [p, Buffer.from(hkdfSync('sha256', secretKey, SALT, `partnerkit/secrets/v1/${p}`, 32))]),
  );
}

const aad = (purpose: SecretPurpose, boundTo: string) => Buffer.from(`v1\u0000${purpose}\u0000${boundTo}`);

/**
 * The box for the configured keys.
 * @param keys `secretKey` (`SECRET_KEY`: seals and opens) and `secretKeyPrevious` (`SECRET_KEY_PREVIOUS`, null
 *   when unset: opens only), e.g. the `Config`
 */
export function createSecretBox(keys: { secretKey: string; secretKeyPrevious: string | null }): SecretBox {
  const current = deriveKeys(keys.secretKey);
  const previous = keys.secretKeyPrevious ? deriveKeys(keys.secretKeyPrevious) : null;
  // Values opened lately (~11 µs per AES-GCM open, mostly creating the decipher; the webhook path opens the program's
  // Stripe key for every event). Keyed by the sealed value itself, so a changed value is opened afresh.
  const opened = new LRUCache<string, { plaintext: string; key: 'current' | 'previous' }>({ max: 10_000 });

  function tryOpen(key: Buffer, data: Buffer, additional: Buffer): string | null {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(additional);
      decipher.setAuthTag(data.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return null;
    }
  }

  const box: SecretBox = {
    hasPrevious: previous !== null,

    seal(purpose, plaintext, boundTo) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.get(purpose)!, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(purpose, boundTo));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return SEALED_PREFIX + Buffer.concat([nonce, cipher.getAuthTag(), ciphertext]).toString('base64url');
    },

    unseal(purpose, sealed, boundTo) {
      const what = `the ${purpose} of ${boundTo}`;
      if (!isSealed(sealed)) {
        throw new SecretDecryptionError(
          purpose,
          boundTo,
          `${what} is stored in plain text; start the server once (it encrypts them) or run \`npm run cli -- secrets rotate\``,
        );
      }
      const cacheKey = `${purpose}\u0000${boundTo}\u0000${sealed}`;
      const hit = opened.get(cacheKey);
      if (hit) return hit;
      const data = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
      if (data.length >= NONCE_BYTES + TAG_BYTES) {
        const additional = aad(purpose, boundTo);
        const plaintext = tryOpen(current.get(purpose)!, data, additional);
        const old = plaintext === null && previous ? tryOpen(previous.get(purpose)!, data, additional) : null;
        if (plaintext !== null || old !== null) {
          const result =
            plaintext !== null ? { plaintext, key: 'current' as const } : { plaintext: old!, key: 'previous' as const };
          opened.set(cacheKey, result);
          return result;
        }
      }
      throw new SecretDecryptionError(
        purpose,
        boundTo,
        `Cannot decrypt ${what} with SECRET_KEY${previous ? ' or SECRET_KEY_PREVIOUS' : ''}: it was encrypted with ` +
          'another key, or altered. Set the key it was encrypted with as SECRET_KEY_PREVIOUS, then run ' +
          '`npm run cli -- secrets rotate`',
      );
    },

    open(purpose, sealed, boundTo) {
      return box.unseal(purpose, sealed, boundTo).plaintext;
    },
  };
  return box;
}
