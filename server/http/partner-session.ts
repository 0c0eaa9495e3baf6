/**
 * The session cookie of the partner dashboard and the CSRF defences around it, as Koa middleware. The session
 * look-up itself belongs to a domain (`partner/access/`), so it is passed in as a function: this layer imports
 * nothing above `lib/`.
 *
 * CSRF, in layers:
 * - every state change (any method but GET/HEAD/OPTIONS) is refused when the browser says it comes from another
 *   site (`Sec-Fetch-Site: cross-site`, or an `Origin` that is neither this host nor PUBLIC_URL): `sameOriginGuard`;
 * - state changes of a logged-in session need the `X-CSRF-Token` header of that session: `partnerAuthenticated`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { parse as parseCookies } from 'cookie';
import { ForbiddenError, UnauthorizedError } from '../lib/errors.ts';

/** Name of the cookie that carries the session id (HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https). */
export const SESSION_COOKIE = 'pk_session';

/** The least a session look-up must answer: the session's CSRF token. */
export interface CsrfBearer {
  csrfToken: string;
}

/** What `partnerAuthenticated` leaves in `ctx.state`: the session the look-up returned. */
export interface PartnerState<P extends CsrfBearer = CsrfBearer> {
  partner: P;
}

/**
 * Resolves a session cookie value (or undefined without one) to the session, or null when there is no live one.
 * Must not throw for unknown or malformed ids.
 */
export type SessionLookup<P extends CsrfBearer> = (sessionId: string | undefined) => Promise<P | null>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuse state changes a browser reports as cross-site (`Sec-Fetch-Site: cross-site`, or an `Origin` other
 * than this host or `publicUrl`). Requests without those headers (curl, server-to-server) pass: they carry
 * no ambient cookie a CSRF attack could abuse.
 * @throws ForbiddenError `csrf_failed`
 */
export function sameOriginGuard(publicUrl?: string): Middleware {
  const publicHost = publicUrl ? new URL(publicUrl).host : null;
  return async (ctx, next) => {
    if (!SAFE_METHODS.has(ctx.method)) {
      if (ctx.get('sec-fetch-site') === 'cross-site')
        throw new ForbiddenError('Cross-site request refused', 'csrf_failed');
      const origin = ctx.get('origin');
      if (origin) {
        let host: string | null = null;
        try {
          host = new URL(origin).host;
        } catch {
          host = null;
        }
        if (host !== ctx.host && host !== publicHost)
          throw new ForbiddenError('Cross-origin request refused', 'csrf_failed');
      }
    }
    await next();
  };
}

/**
 * CSRF check for state changes of a logged-in session: the `X-CSRF-Token` header must equal the session's
 * token (a cross-site form cannot set headers; SameSite=Lax keeps the cookie off cross-site POSTs too).
 * Compared in constant time (the token is a secret).
 * @throws ForbiddenError `csrf_failed`
 */
export function assertCsrf(session: CsrfBearer, header: string | undefined): void {
  if (!header || !safeEqual(header, session.csrfToken)) {
    throw new ForbiddenError('Missing or wrong X-CSRF-Token header', 'csrf_failed');
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Koa middleware for logged-in partner routes: `sameOriginGuard`, then the `SESSION_COOKIE` must name a live
 * session (`lookup` answers non-null; else 401 `not_logged_in`), and state changes must carry its
 * `X-CSRF-Token` (else 403 `csrf_failed`). Sets `ctx.state.partner` to the session and `Cache-Control: no-store`.
 * Used by the partner routes and by the partner's payout request (`payouts.routes.ts`).
 */
export function partnerAuthenticated<P extends CsrfBearer>(
  lookup: SessionLookup<P>,
  publicUrl?: string,
): Middleware<PartnerState<P>> {
  const guard = sameOriginGuard(publicUrl);
  return async (ctx, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    await guard(ctx as unknown as Context, async () => {
      const sessionId = parseCookies(ctx.get('cookie') || '')[SESSION_COOKIE];
      const p = await lookup(sessionId);
      if (!p) throw new UnauthorizedError('Log in first', 'not_logged_in');
      if (!SAFE_METHODS.has(ctx.method)) assertCsrf(p, ctx.get('x-csrf-token') || undefined);
      ctx.state.partner = p;
      await next();
    });
  };
}
