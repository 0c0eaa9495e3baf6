/**
 * The merchant console's session cookie and its guards, as Koa middleware: the same CSRF layers as the partner
 * dashboard (`partner-session.ts`: `sameOriginGuard`, the session's `X-CSRF-Token` on state changes), under a cookie
 * of its own (`CONSOLE_COOKIE`), so a partner session never opens console routes and the reverse. The session
 * look-up belongs to a domain (`console/`) and is passed in.
 */
import type { Context, Middleware, Next } from 'koa';
import { parse as parseCookies } from 'cookie';
import { UnauthorizedError } from '../lib/errors.ts';
import { assertCsrf, type CsrfBearer, type SessionLookup, sameOriginGuard } from './partner-session.ts';

/** Name of the console's session cookie (HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https). */
export const CONSOLE_COOKIE = 'pk_console';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What `consoleAuthenticated` leaves in `ctx.state`. */
export interface ConsoleState<S extends CsrfBearer = CsrfBearer> {
  consoleUser: S;
}

/** The console session cookie's value in a request, or undefined. */
export function consoleCookie(ctx: Pick<Context, 'get'>): string | undefined {
  return parseCookies(ctx.get('cookie') || '')[CONSOLE_COOKIE];
}

/** Whether a request method changes state (everything but GET, HEAD, OPTIONS). */
export const changesState = (method: string) => !SAFE_METHODS.has(method);

/**
 * Koa middleware for console-only routes: `sameOriginGuard`, then `CONSOLE_COOKIE` must name a live session (else
 * 401 `not_logged_in`; an API key or a partner session is not looked at), and state changes must carry its
 * `X-CSRF-Token` (else 403 `csrf_failed`). Sets `ctx.state.consoleUser` and `Cache-Control: no-store`.
 */
export function consoleAuthenticated<S extends CsrfBearer>(
  lookup: SessionLookup<S>,
  publicUrl?: string,
): Middleware<ConsoleState<S>> {
  const guard = sameOriginGuard(publicUrl);
  return async (ctx, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    await guard(ctx as unknown as Context, async () => {
      const s = await lookup(consoleCookie(ctx));
      if (!s) throw new UnauthorizedError('Log in to the console first', 'not_logged_in');
      if (changesState(ctx.method)) assertCsrf(s, ctx.get('x-csrf-token') || undefined);
      ctx.state.consoleUser = s;
      await next();
    });
  };
}
