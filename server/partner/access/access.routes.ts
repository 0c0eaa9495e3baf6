/**
 * Partner access API under `/api/v1/partner/*`: the session cookie `SESSION_COOKIE` (`http/partner-session.ts`;
 * HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https) is set and cleared here.
 *
 * Public: `GET /programs/:programId`, `POST /programs/:programId/apply`, `POST /password`, `POST /password/reset`,
 * `POST /login`. Logged in: `POST /logout`, `POST /password/change`.
 *
 * CSRF (besides `sameOriginGuard` and the session's `X-CSRF-Token`, see `http/partner-session.ts`): calls without
 * a session yet (login, set password, apply, reset) must be `application/json`, which a cross-site form cannot
 * send and a cross-site script cannot send without a CORS preflight we never allow.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { serialize as serializeCookie } from 'cookie';
import { AppError } from '../../lib/errors.ts';
import { readJson } from '../../lib/validate.ts';
import {
  partnerAuthenticated,
  SESSION_COOKIE,
  sameOriginGuard,
  type PartnerState,
} from '../../http/partner-session.ts';
import { SESSION_TTL_DAYS, type AccessService, type AuthenticatedPartner, type SessionInfo } from './access.service.ts';

/** Request info the access service keys its limits on. */
const clientOf = (ctx: Context) => ({ ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });

export function accessRoutes(
  access: AccessService,
  opts: { secureCookies: boolean; publicUrl?: string },
): Router<PartnerState<AuthenticatedPartner>> {
  const router = new Router<PartnerState<AuthenticatedPartner>>({ prefix: '/api/v1/partner' });
  const authenticated = partnerAuthenticated(access.authenticate, opts.publicUrl);
  router.use(sameOriginGuard(opts.publicUrl));

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
    ctx.set('Cache-Control', 'no-store');
    setSessionCookie(ctx, s.sessionId, SESSION_TTL_DAYS * 86_400);
    ctx.body = { csrfToken: s.csrfToken };
  };
  const requireJson = (ctx: Context) => {
    if (!ctx.is('application/json'))
      throw new AppError(415, 'unsupported_media_type', 'Send JSON (Content-Type: application/json)');
  };

  // --- public -------------------------------------------------------------------------------------------
  router.get('/programs/:programId', async (ctx) => {
    ctx.body = { program: await access.publicProgram(ctx.params.programId!) };
  });
  router.post('/programs/:programId/apply', async (ctx) => {
    requireJson(ctx);
    ctx.body = await access.apply(ctx.params.programId!, await readJson(ctx, '16kb'), clientOf(ctx));
    ctx.status = 202;
  });
  router.post('/password', async (ctx) => {
    requireJson(ctx);
    startSession(ctx, await access.setPassword(await readJson(ctx, '16kb'), clientOf(ctx)));
  });
  router.post('/password/reset', async (ctx) => {
    requireJson(ctx);
    ctx.body = await access.requestPasswordReset(await readJson(ctx, '16kb'), clientOf(ctx));
    ctx.status = 202;
  });
  router.post('/login', async (ctx) => {
    requireJson(ctx);
    startSession(ctx, await access.login(await readJson(ctx, '16kb'), clientOf(ctx)));
  });

  // --- logged in ----------------------------------------------------------------------------------------
  router.post('/logout', authenticated, async (ctx) => {
    const body = (await readJson(ctx, '16kb')) as { everywhere?: unknown } | null;
    await access.logout(ctx.state.partner, body?.everywhere === true);
    setSessionCookie(ctx, '', 0);
    ctx.status = 204;
  });
  router.post('/password/change', authenticated, async (ctx) => {
    await access.changePassword(ctx.state.partner, await readJson(ctx, '16kb'));
    ctx.status = 204;
  });
  return router;
}
