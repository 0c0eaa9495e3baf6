/**
 * Public tracking endpoints called by the snippet (`text/plain` JSON bodies, so browsers send no CORS
 * preflight), and `GET /r/:slug` for server-side links.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { readJson } from '../http/input.ts';
import type { TrackingService } from './tracking.service.ts';

/** CORS for the snippet: echo the origin (the service rejects origins the program does not allow). */
function allowOrigin(ctx: Context): void {
  const origin = ctx.get('origin');
  if (!origin) return;
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Access-Control-Allow-Credentials', 'true');
  ctx.vary('Origin');
}

function clientOf(ctx: Context) {
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, origin: ctx.get('origin') || null };
}

export function trackingRoutes(tracking: TrackingService): Router {
  const router = new Router();
  router.options(['/api/v1/track/click', '/api/v1/track/lead'], (ctx) => {
    allowOrigin(ctx);
    ctx.set('Access-Control-Allow-Methods', 'POST');
    ctx.set('Access-Control-Allow-Headers', 'Content-Type');
    ctx.set('Access-Control-Max-Age', '86400');
    ctx.status = 204;
  });
  router.post('/api/v1/track/click', async (ctx) => {
    allowOrigin(ctx);
    ctx.body = await tracking.recordClick(await readJson(ctx, '16kb'), clientOf(ctx));
  });
  router.post('/api/v1/track/lead', async (ctx) => {
    allowOrigin(ctx);
    ctx.body = await tracking.recordLead(await readJson(ctx, '16kb'), clientOf(ctx));
  });
  router.get('/r/:slug', async (ctx) => {
    const target = await tracking.followLink(ctx.params.slug!, {
      ...clientOf(ctx),
      origin: ctx.get('referer') || null,
      existingReferral: ctx.cookies.get('pk_ref') ?? undefined,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(target);
  });
  return router;
}
