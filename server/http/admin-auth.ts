/**
 * Admin API authentication, by one of two credentials:
 * - `Authorization: Bearer <apiKey>` → the program it belongs to;
 * - the merchant console's session cookie (`CONSOLE_COOKIE`, `console-session.ts`) → the program named by the
 *   `X-Partnerkit-Program` header (or the user's only one), when the user is a member of it; state changes need
 *   the session's `X-CSRF-Token` and a role other than `viewer` (a viewer changes nothing: 403 `read_only`; the
 *   `readOnlyPosts` paths — a POST that only computes, like the rules preview — are open to a viewer too).
 * The program lands in `ctx.state.program`; every admin query is scoped by its id, so another program's key sees
 * 404s. A partner session opens nothing here.
 */
import type { Context, Middleware } from 'koa';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../lib/errors.ts';
import type { ConsoleRole, ProgramRow } from '../db/schema.ts';
import { changesState, consoleCookie } from './console-session.ts';
import { assertCsrf, sameOriginGuard } from './partner-session.ts';

export interface AdminState {
  program: ProgramRow;
  /** Set when a console session (not an API key) authenticated the request: the user's role in the program. */
  consoleRole?: ConsoleRole;
}

/** The header naming the program a console session works on. */
export const PROGRAM_HEADER = 'x-partnerkit-program';

/**
 * Resolves a console session cookie and the program it asks for: null when there is no live session; `access`
 * null when the user is no member of that program.
 */
export type ConsoleProgramLookup = (
  sessionId: string | undefined,
  programId: string | undefined,
) => Promise<{ csrfToken: string; access: { program: ProgramRow; role: ConsoleRole } | null } | null>;

/**
 * @param findByApiKey the program whose API key this is, or undefined/null (programs service; passed in so this
 *   module stays below the domains)
 * @param consoleLogin when given, a console session may stand in for the API key (see the module comment)
 * @throws UnauthorizedError `missing_api_key` | `invalid_api_key` | `not_logged_in` (401); ForbiddenError
 *   `csrf_failed` | `read_only` (403); NotFoundError `unknown_program` (404: not a member)
 */
export function adminAuth(
  findByApiKey: (apiKey: string) => Promise<ProgramRow | null | undefined>,
  consoleLogin?: { lookup: ConsoleProgramLookup; publicUrl?: string; readOnlyPosts?: ReadonlySet<string> },
): Middleware<AdminState> {
  const guard = sameOriginGuard(consoleLogin?.publicUrl);
  return async (ctx, next) => {
    const authorization = ctx.get('authorization');
    const sessionId = consoleLogin && !authorization ? consoleCookie(ctx) : undefined;
    if (consoleLogin && sessionId) {
      await guard(ctx as unknown as Context, async () => {
        const found = await consoleLogin.lookup(sessionId, ctx.get(PROGRAM_HEADER) || undefined);
        if (!found) throw new UnauthorizedError('Log in to the console first', 'not_logged_in');
        if (changesState(ctx.method)) assertCsrf(found, ctx.get('x-csrf-token') || undefined);
        if (!found.access) throw new NotFoundError('Program', 'unknown_program');
        const computesOnly = ctx.method === 'POST' && consoleLogin.readOnlyPosts?.has(ctx.path) === true;
        if (found.access.role === 'viewer' && changesState(ctx.method) && !computesOnly)
          throw new ForbiddenError('A viewer can read but not change anything', 'read_only');
        ctx.state.program = found.access.program;
        ctx.state.consoleRole = found.access.role;
        await next();
      });
      return;
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('Send the API key as "Authorization: Bearer <apiKey>"', 'missing_api_key');
    const program = await findByApiKey(match[1]!);
    if (!program) throw new UnauthorizedError('The API key is unknown or revoked', 'invalid_api_key');
    ctx.state.program = program;
    await next();
  };
}
