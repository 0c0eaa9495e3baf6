/**
 * Console-only API under `/api/v1/console/*` (the merchant console at `/app/`). Only the console's session cookie
 * (`CONSOLE_COOKIE`) opens the logged-in routes: an API key or a partner session gets 401 `not_logged_in`.
 *
 * Public: `GET /setup` (is first-run setup pending?), `POST /setup`, `POST /login`, `POST /invite/accept`.
 * Logged in: `GET /me`, `POST /logout`, `GET /team`, `POST /team` (invite), `DELETE /team/:userId`,
 * `GET /onboarding`. Program-scoped ones take the program from `X-Partnerkit-Program` (or the user's only one).
 *
 * CSRF: `sameOriginGuard`, the session's `X-CSRF-Token` on state changes, and calls made before a session exists
 * must be `application/json` (a cross-site form cannot send it).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { serialize as serializeCookie } from 'cookie';
import { AppError, NotFoundError } from '../lib/errors.ts';
import { readJson } from '../lib/validate.ts';
import { sameOriginGuard } from '../http/partner-session.ts';
import { CONSOLE_COOKIE, consoleAuthenticated, type ConsoleState } from '../http/console-session.ts';
import { PROGRAM_HEADER } from '../http/admin-auth.ts';
import { SESSION_TTL_DAYS, type SessionInfo } from '../partner/access/access.service.ts';
import type { ConsoleService, ConsoleSession } from './console.service.ts';

const clientOf = (ctx: Context) => ({ ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null });

export function consoleRoutes(
  consoleService: ConsoleService,
  opts: { secureCookies: boolean; publicUrl?: string },
): Router<ConsoleState<ConsoleSession>> {
  const router = new Router<ConsoleState<ConsoleSession>>({ prefix: '/api/v1/console' });
  const authenticated = consoleAuthenticated(consoleService.authenticate, opts.publicUrl);
  router.use(sameOriginGuard(opts.publicUrl));
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  const setCookie = (ctx: Context, value: string, maxAgeSeconds: number) =>
    ctx.append(
      'Set-Cookie',
      serializeCookie(CONSOLE_COOKIE, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: opts.secureCookies,
        path: '/',
        maxAge: maxAgeSeconds,
      }),
    );
  const startSession = (ctx: Context, s: SessionInfo) => setCookie(ctx, s.sessionId, SESSION_TTL_DAYS * 86_400);
  const requireJson = (ctx: Context) => {
    if (!ctx.is('application/json'))
      throw new AppError(415, 'unsupported_media_type', 'Send JSON (Content-Type: application/json)');
  };
  const programOf = async (ctx: Context & { state: ConsoleState<ConsoleSession> }) => {
    const access = await consoleService.resolveProgram(ctx.state.consoleUser, ctx.get(PROGRAM_HEADER) || undefined);
    if (!access) throw new NotFoundError('Program', 'unknown_program');
    return access;
  };

  // --- public -------------------------------------------------------------------------------------------
  router.get('/setup', async (ctx) => {
    ctx.body = await consoleService.setupNeeded();
  });
  router.post('/setup', async (ctx) => {
    requireJson(ctx);
    const { session, program } = await consoleService.setup(await readJson(ctx, '16kb'), clientOf(ctx));
    startSession(ctx, session);
    ctx.status = 201;
    ctx.body = { csrfToken: session.csrfToken, program };
  });
  router.post('/login', async (ctx) => {
    requireJson(ctx);
    const session = await consoleService.login(await readJson(ctx, '16kb'), clientOf(ctx));
    startSession(ctx, session);
    ctx.body = { csrfToken: session.csrfToken };
  });
  router.post('/invite/accept', async (ctx) => {
    requireJson(ctx);
    const session = await consoleService.acceptInvite(await readJson(ctx, '16kb'), clientOf(ctx));
    startSession(ctx, session);
    ctx.body = { csrfToken: session.csrfToken };
  });

  // --- logged in ----------------------------------------------------------------------------------------
  router.get('/me', authenticated, async (ctx) => {
    ctx.body = await consoleService.me(ctx.state.consoleUser);
  });
  router.post('/logout', authenticated, async (ctx) => {
    const body = (await readJson(ctx, '16kb')) as { everywhere?: unknown } | null;
    await consoleService.logout(ctx.state.consoleUser, body?.everywhere === true);
    setCookie(ctx, '', 0);
    ctx.status = 204;
  });
  router.get('/team', authenticated, async (ctx) => {
    const { program } = await programOf(ctx);
    ctx.body = { members: await consoleService.team(ctx.state.consoleUser, program.id) };
  });
  router.post('/team', authenticated, async (ctx) => {
    const { program } = await programOf(ctx);
    ctx.status = 201;
    ctx.body = await consoleService.invite(ctx.state.consoleUser, program.id, await readJson(ctx, '16kb'));
  });
  router.delete('/team/:userId', authenticated, async (ctx) => {
    const { program } = await programOf(ctx);
    await consoleService.removeMember(ctx.state.consoleUser, program.id, ctx.params.userId!);
    ctx.status = 204;
  });
  router.get('/onboarding', authenticated, async (ctx) => {
    const { program } = await programOf(ctx);
    ctx.body = { onboarding: await consoleService.onboarding(program) };
  });
  return router;
}
