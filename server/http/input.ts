/**
 * Request input: bounded body reading and zod validation that fails with a 400 naming the field.
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';

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
 * @throws ValidationError `invalid_json` when the body is not JSON; 413 when larger than `limit`
 */
export async function readJson(ctx: Context, limit = '64kb'): Promise<unknown> {
  const raw = await readRawBody(ctx, limit);
  let data: unknown = {};
  if (raw.length > 0) {
    try {
      data = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ValidationError('Body is not valid JSON', 'invalid_json');
    }
  }
  return data;
}
