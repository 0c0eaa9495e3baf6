/**
 * Partner dashboard API under `/api/v1/partner/*`, authenticated by the `pk_session` cookie
 * (HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https).
 *
 * CSRF: state changes of a logged-in partner need the `X-CSRF-Token` header from `/me`; the login and
 * set-password calls (no session yet) must be `application/json`, which a cross-site form cannot send
 * and a cross-site script cannot send without a CORS preflight we never allow.
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import { AppError, UnauthorizedError } from '../errors.ts';
import { readJson } from '../http/input.ts';
import { assertCsrf, SESSION_TTL_DAYS, type AuthenticatedPartner, type PartnerService, type SessionInfo } from './partner.service.ts';

export const SESSION_COOKIE = 'pk_session';

interface PartnerState {
  partner: AuthenticatedPartner;
}

export function partnerRoutes(partner: PartnerService, opts: { secureCookies: boolean }): Router<PartnerState> {
  const router = new Router<PartnerState>({ prefix: '/api/v1/partner' });

  const setSessionCookie = (ctx: Context, value: string, maxAgeSeconds: number) => {
    ctx.append(
      'Set-Cookie',
      serializeCookie(SESSION_COOKIE, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: opts.secureCookies,
        path: '/',
        maxAge: maxAgeSeconds,
      }),
    );
  };
  const startSession = (ctx: Context, s: SessionInfo) => {
    setSessionCookie(ctx, s.sessionId, SESSION_TTL_DAYS * 86_400);
    ctx.body = { csrfToken: s.csrfToken };
  };
  const requireJson = (ctx: Context) => {
    if (!ctx.is('application/json')) throw new AppError(415, 'unsupported_media_type', 'Send JSON (Content-Type: application/json)');
  };
  const client = (ctx: Context) => ({ ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });

  const authenticated = async (ctx: Context & { state: PartnerState }, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    const sessionId = parseCookies(ctx.get('cookie') || '')[SESSION_COOKIE];
    const p = await partner.authenticate(sessionId);
    if (!p) throw new UnauthorizedError('Log in first', 'not_logged_in');
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') assertCsrf(p, ctx.get('x-csrf-token') || undefined);
    ctx.state.partner = p;
    await next();
  };

  router.post('/password', async (ctx) => {
    requireJson(ctx);
    startSession(ctx, await partner.setPassword(await readJson(ctx), client(ctx)));
  });
  router.post('/login', async (ctx) => {
    requireJson(ctx);
    startSession(ctx, await partner.login(await readJson(ctx), client(ctx)));
  });
  router.post('/logout', authenticated, async (ctx) => {
    const body = (await readJson(ctx)) as { everywhere?: unknown };
    await partner.logout(ctx.state.partner, body?.everywhere === true);
    setSessionCookie(ctx, '', 0);
    ctx.status = 204;
  });
  router.get('/me', authenticated, async (ctx) => {
    ctx.body = await partner.me(ctx.state.partner);
  });
  router.get('/overview', authenticated, async (ctx) => {
    ctx.body = await partner.overview(ctx.state.partner);
  });
  return router;
}
