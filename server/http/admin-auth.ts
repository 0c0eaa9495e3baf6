/**
 * Admin API authentication: `Authorization: Bearer <apiKey>` → the program it belongs to, in
 * `ctx.state.program`. Every admin query is scoped by that program's id, so another program's key sees 404s.
 */
import type { Middleware } from 'koa';
import { UnauthorizedError } from '../lib/errors.ts';
import type { ProgramRow } from '../db/schema.ts';

export interface AdminState {
  program: ProgramRow;
}

/**
 * @param findByApiKey the program whose API key this is, or undefined/null (programs service; passed in so this
 *   module stays below the domains)
 * @throws UnauthorizedError `missing_api_key` | `invalid_api_key` (401)
 */
export function adminAuth(
  findByApiKey: (apiKey: string) => Promise<ProgramRow | null | undefined>,
): Middleware<AdminState> {
  return async (ctx, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
    if (!match) throw new UnauthorizedError('Send the API key as "Authorization: Bearer <apiKey>"', 'missing_api_key');
    const program = await findByApiKey(match[1]!);
    if (!program) throw new UnauthorizedError('The API key is unknown or revoked', 'invalid_api_key');
    ctx.state.program = program;
    await next();
  };
}
