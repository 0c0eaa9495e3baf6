/**
 * Request input: bounded body reading and zod validation that fails with a 400 naming the field, and the shared
 * pieces every schema and router uses for what hostile clients send: `idText` / `idFilter` (ids in bodies and
 * queries), `pathId` (ids in paths), `storableText` (user-entered text PostgreSQL can store as typed) and a nesting
 * limit for JSON bodies (`MAX_JSON_DEPTH`).
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { z } from 'zod';
import { NotFoundError, ValidationError } from './errors.ts';

/**
 * Every identifier a client sends fits this: ours (`<prefix>_<22 base64url>`, `ids.ts`), link slugs, affiliate
 * codes, public keys and Stripe's ids (`promo_…`, `acct_…`). A value outside it cannot name anything.
 */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
const ID_MESSAGE = 'must be an id (1-100 characters of A-Z a-z 0-9 _ -)';

/** zod: an id in a body or query (`affiliateId`, a public `key`…); anything else is a 400 naming the field. */
export const idText = z.string().regex(ID_PATTERN, ID_MESSAGE);

/** zod: an optional list filter by id (`?affiliateId=`); empty means "no filter", as it always did. */
export const idFilter = z
  .string()
  .regex(/^[A-Za-z0-9_-]{0,100}$/, ID_MESSAGE)
  .optional();

/**
 * Router parameter middleware, `router.param('id', pathId('Payout'))`: a path id that cannot be an id (`%00`,
 * `%ff`, `..%2f`, 10,000 characters…) is answered as an unknown one is, before a handler or a query sees it.
 * @throws NotFoundError (404 `<what> not found`, with `code` when given)
 */
export function pathId(what: string, code?: string) {
  return (value: string, _ctx: unknown, next: () => Promise<unknown>): Promise<unknown> => {
    if (!ID_PATTERN.test(value)) throw new NotFoundError(what, code);
    return next();
  };
}

/** What `storableText` refuses, in one message (the field is named by `parseInput`). */
export const NOT_STORABLE = 'must not contain NUL or other control characters, or unpaired surrogates';
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this refuses
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Whether user-entered `text` can be stored and shown as typed: no NUL (PostgreSQL text and jsonb cannot hold
 * U+0000), no other C0 control character but tab, line feed and carriage return, no DEL, and no unpaired UTF-16
 * surrogate (not encodable as UTF-8: the driver would silently store U+FFFD instead).
 */
export function isStorableText(text: string): boolean {
  return !CONTROL.test(text) && (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * zod: user-entered text (names, campaign, references, reasons…), refused with a 400 naming the field when it is
 * not `isStorableText`. Chain the rest: `storableText().trim().min(1).max(200)`. For other string schemas (URLs),
 * add `.refine(isStorableText, NOT_STORABLE)`.
 */
export function storableText() {
  return z.string().refine(isStorableText, NOT_STORABLE);
}

/** How deep a JSON body may nest (objects and arrays). Requests of this API and Stripe's events need under 20. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether the JSON text in `bytes` (UTF-8) nests objects and arrays deeper than `limit`: one pass, no recursion,
 * brackets inside strings skipped, stopping as soon as the limit is passed. Bytes that are not JSON give a bounded,
 * meaningless answer; JSON.parse refuses them anyway.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      // A backslash escapes the next character (a quote among them).
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Validate `data` against `schema`.
 * @throws ValidationError (400 `invalid_request`) whose message names the first offending field
 */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : 'body';
  throw new ValidationError(`${where}: ${issue.message}`);
}

/**
 * The raw request body as a Buffer, at most `limit` bytes.
 * @throws 413 when larger, 400 when the stream is aborted
 */
export async function readRawBody(ctx: Context, limit = '256kb'): Promise<Buffer> {
  return getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
}

/**
 * Read the body as JSON whatever its content type (the snippet posts `text/plain` to avoid a CORS
 * preflight). An empty body reads as `{}`. Services validate the result with their zod schema.
 * @throws ValidationError `invalid_json` when the body is not JSON, `nesting_too_deep` when it nests deeper than
 *   `MAX_JSON_DEPTH`; 413 when larger than `limit`
 */
export async function readJson(ctx: Context, limit = '64kb'): Promise<unknown> {
  const raw = await readRawBody(ctx, limit);
  let data: unknown = {};
  if (jsonNestsDeeperThan(raw, MAX_JSON_DEPTH))
    throw new ValidationError(`Body nests deeper than ${MAX_JSON_DEPTH} levels`, 'nesting_too_deep');
  if (raw.length > 0) {
    try {
      data = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ValidationError('Body is not valid JSON', 'invalid_json');
    }
  }
  return data;
}
