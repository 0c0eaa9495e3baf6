/**
 * Partner dashboard API under `/api/v1/partner/*`, authenticated by the `pk_session` cookie
 * (HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https).
 *
 * CSRF, in layers:
 * - every state change (any method but GET/HEAD) is refused when the browser says it comes from another
 *   site (`Sec-Fetch-Site: cross-site`, or an `Origin` that is neither this host nor PUBLIC_URL);
 * - state changes of a logged-in partner need the `X-CSRF-Token` header from `/me` or the login answer
 *   (a cross-site form cannot set headers);
 * - calls without a session yet (login, set password, apply, reset) must be `application/json`, which a
 *   cross-site form cannot send and a cross-site script cannot send without a CORS preflight we never allow.
 *
 * Public: `GET /programs/:id`, `POST /programs/:id/apply`, `POST /password`, `POST /password/reset`, `POST /login`.
 * Logged in: `POST /logout`, `POST /password/change`, `GET /me`, `GET /overview`, `GET /stats`, `GET|POST /links`,
 * `GET /referrals`, `GET /commissions`, `GET /commissions.csv`, `GET /commissions/:id`, `GET /payouts`,
 * `GET /payouts/:id`, `GET|PUT /payout-settings`.
 */
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import { stringify } from 'csv-stringify/sync';
import { AppError, ForbiddenError, UnauthorizedError } from '../lib/errors.ts';
import { pathId, readJson } from '../lib/validate.ts';
import {
  assertCsrf,
  SESSION_TTL_DAYS,
  type AuthenticatedPartner,
  type PartnerService,
  type SessionInfo,
} from './partner.service.ts';

export const SESSION_COOKIE = 'pk_session';

/** What `partnerAuthenticated` leaves in `ctx.state`. */
export interface PartnerState {
  partner: AuthenticatedPartner;
}

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
 * Koa middleware for partner routes: the session cookie must name a live session of an approved affiliate
 * (else 401 `not_logged_in`), and state changes must carry its `X-CSRF-Token` (else 403 `csrf_failed`).
 * Sets `ctx.state.partner` and `Cache-Control: no-store`. Other modules (payout requests) reuse it.
 */
export function partnerAuthenticated(
  partner: Pick<PartnerService, 'authenticate'>,
  publicUrl?: string,
): Middleware<PartnerState> {
  const guard = sameOriginGuard(publicUrl);
  return async (ctx, next: Next) => {
    ctx.set('Cache-Control', 'no-store');
    await guard(ctx as unknown as Context, async () => {
      const sessionId = parseCookies(ctx.get('cookie') || '')[SESSION_COOKIE];
      const p = await partner.authenticate(sessionId);
      if (!p) throw new UnauthorizedError('Log in first', 'not_logged_in');
      if (!SAFE_METHODS.has(ctx.method)) assertCsrf(p, ctx.get('x-csrf-token') || undefined);
      ctx.state.partner = p;
      await next();
    });
  };
}

/** CSV cells that spreadsheets would run as formulas get a leading quote (OWASP "CSV injection"). */
function neutraliseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) && !/^-?\d+(\.\d+)?$/.test(cell) ? `'${cell}` : cell;
}

export function partnerRoutes(
  partner: PartnerService,
  opts: { secureCookies: boolean; publicUrl?: string },
): Router<PartnerState> {
  const router = new Router<PartnerState>({ prefix: '/api/v1/partner' });
  const authenticated = partnerAuthenticated(partner, opts.publicUrl);
  router.use(sameOriginGuard(opts.publicUrl));
  // A commission or payout id that cannot be an id (`%00`, `%ff`…) is answered as an unknown one, before any query.
  const commissionId = pathId('Commission');
  const payoutId = pathId('Payout');
  router.param('id', (id, ctx, next) =>
    (ctx.path.startsWith('/api/v1/partner/payouts/') ? payoutId : commissionId)(id, ctx, next),
  );

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
  const client = (ctx: Context) => ({ ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });

  // --- public -------------------------------------------------------------------------------------------
  router.get('/programs/:programId', async (ctx) => {
    ctx.body = { program: await partner.publicProgram(ctx.params.programId!) };
  });
  router.post('/programs/:programId/apply', async (ctx) => {
    requireJson(ctx);
    ctx.body = await partner.apply(ctx.params.programId!, await readJson(ctx, '16kb'), client(ctx));
    ctx.status = 202;
  });
  router.post('/password', async (ctx) => {
    requireJson(ctx);
    startSession(ctx, await partner.setPassword(await readJson(ctx, '16kb'), client(ctx)));
  });
  router.post('/password/reset', async (ctx) => {
    requireJson(ctx);
    ctx.body = await partner.requestPasswordReset(await readJson(ctx, '16kb'), client(ctx));
    ctx.status = 202;
  });
  router.post('/login', async (ctx) => {
    requireJson(ctx);
    startSession(ctx, await partner.login(await readJson(ctx, '16kb'), client(ctx)));
  });

  // --- logged in ----------------------------------------------------------------------------------------
  router.post('/logout', authenticated, async (ctx) => {
    const body = (await readJson(ctx, '16kb')) as { everywhere?: unknown } | null;
    await partner.logout(ctx.state.partner, body?.everywhere === true);
    setSessionCookie(ctx, '', 0);
    ctx.status = 204;
  });
  router.post('/password/change', authenticated, async (ctx) => {
    await partner.changePassword(ctx.state.partner, await readJson(ctx, '16kb'));
    ctx.status = 204;
  });
  router.get('/me', authenticated, async (ctx) => {
    ctx.body = await partner.me(ctx.state.partner);
  });
  router.get('/overview', authenticated, async (ctx) => {
    ctx.body = await partner.overview(ctx.state.partner);
  });
  router.get('/stats', authenticated, async (ctx) => {
    ctx.body = await partner.stats(ctx.state.partner, ctx.query);
  });
  router.get('/links', authenticated, async (ctx) => {
    ctx.body = await partner.links(ctx.state.partner);
  });
  router.post('/links', authenticated, async (ctx) => {
    const link = await partner.createLink(ctx.state.partner, await readJson(ctx, '16kb'));
    ctx.status = 201;
    ctx.body = { link };
  });
  router.get('/referrals', authenticated, async (ctx) => {
    ctx.body = await partner.referrals(ctx.state.partner, ctx.query);
  });
  router.get('/commissions', authenticated, async (ctx) => {
    ctx.body = await partner.commissions(ctx.state.partner, ctx.query);
  });
  router.get('/commissions.csv', authenticated, async (ctx) => {
    const [header, ...rows] = await partner.commissionsCsvRows(ctx.state.partner);
    const safe = rows.map((r) => r.map(neutraliseFormula));
    ctx.attachment(`commissions-${new Date().toISOString().slice(0, 10)}.csv`);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = stringify([header!, ...safe]);
  });
  router.get('/commissions/:id', authenticated, async (ctx) => {
    ctx.body = await partner.commission(ctx.state.partner, ctx.params.id!);
  });
  router.get('/payouts', authenticated, async (ctx) => {
    ctx.body = await partner.payouts(ctx.state.partner, ctx.query);
  });
  router.get('/payouts/:id', authenticated, async (ctx) => {
    ctx.body = await partner.payout(ctx.state.partner, ctx.params.id!);
  });
  router.get('/payout-settings', authenticated, async (ctx) => {
    ctx.body = await partner.payoutSettings(ctx.state.partner);
  });
  router.put('/payout-settings', authenticated, async (ctx) => {
    ctx.body = await partner.updatePayoutSettings(ctx.state.partner, await readJson(ctx, '16kb'));
  });
  return router;
}
