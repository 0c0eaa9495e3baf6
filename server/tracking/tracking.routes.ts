/**
 * Public tracking endpoints called by the snippet (`text/plain` JSON bodies, so browsers send no CORS
 * preflight), and `GET /r/:slug` for server-side links.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { isIP } from 'node:net';
import { serialize as serializeCookie } from 'cookie';
import { LRUCache } from 'lru-cache';
import { pathId, readJson } from '../lib/validate.ts';
import { registrableDomain } from '../lib/registrable-domain.ts';
import type { ClickResult, TrackingService } from './tracking.service.ts';

/** Cookie names shared with the snippet: the referral id, and the affiliate code. */
export const REFERRAL_COOKIE = 'pk_ref';
export const AFFILIATE_COOKIE = 'pk_aff';

/** CORS for the snippet: echo the origin (the service rejects origins the program does not allow). */
function allowOrigin(ctx: Context): void {
  const origin = ctx.get('origin');
  if (!origin) return;
  ctx.set('Access-Control-Allow-Origin', origin);
  ctx.set('Access-Control-Allow-Credentials', 'true');
  ctx.vary('Origin');
}

/**
 * The visitor's IP, user agent and page origin. With TRUST_PROXY, `ctx.ip` is the X-Forwarded-For entry our
 * nearest trusted proxy wrote (`maxIpsCount`); a value that is not an IP falls back to the connection's peer address.
 */
function clientOf(ctx: Context) {
  const ip = isIP(ctx.ip) ? ctx.ip : ctx.req.socket.remoteAddress || null;
  return { ip, userAgent: ctx.get('user-agent') || null, origin: ctx.get('origin') || null };
}

// Verdicts per (page origin, API host): a program's pages come from a handful of origins, and parsing the
// origin plus two registrable-domain look-ups on every click cost ~6 % of the click path.
const sharedDomains = new LRUCache<string, { domain: string | null }>({
  max: 1000,
  maxSize: 500_000,
  sizeCalculation: (_v, key) => key.length,
});

/**
 * The registrable domain the page at `origin` shares with `apiHost`, or null (Public Suffix List with its private
 * section, `lib/registrable-domain.ts`: a page on `acme.myshopify.com` shares none with `track.myshopify.com`).
 */
function sharedDomain(origin: string, apiHost: string): string | null {
  const key = `${origin} ${apiHost}`;
  let hit = sharedDomains.get(key);
  if (!hit) {
    let domain: string | null = null;
    try {
      domain = registrableDomain(new URL(origin).hostname);
    } catch {}
    hit = { domain: domain && domain === registrableDomain(apiHost) ? domain : null };
    sharedDomains.set(key, hit);
  }
  return hit.domain;
}

/**
 * When the page and this API share a registrable domain (the merchant serves us on `track.acme.com`, or proxies
 * us), answer with our own `Set-Cookie` for `.acme.com`: Safari caps cookies written by scripts at 7 days, but
 * not cookies set by an HTTP response from the same site, so the program's whole window is kept.
 */
function setReferralCookies(ctx: Context, result: ClickResult): void {
  const origin = ctx.get('origin');
  if (!origin) return;
  const domain = sharedDomain(origin, ctx.hostname);
  if (!domain) return;
  const options = {
    domain,
    path: '/',
    sameSite: 'lax' as const,
    secure: origin.startsWith('https:'),
    maxAge: result.cookieDays * 86_400,
  };
  ctx.append('Set-Cookie', serializeCookie(REFERRAL_COOKIE, result.referral, options));
  ctx.append('Set-Cookie', serializeCookie(AFFILIATE_COOKIE, result.affiliate, options));
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
    const result = await tracking.recordClick(await readJson(ctx, '16kb'), clientOf(ctx));
    if ('ignored' in result) {
      ctx.status = 202;
      ctx.body = result;
      return;
    }
    // An unknown or unapproved code: 200 `{ referral: null }`, no cookie (no console error on the merchant's page).
    if (result.referral === null) {
      ctx.body = result;
      return;
    }
    setReferralCookies(ctx, result);
    ctx.body = result;
  });
  router.post('/api/v1/track/lead', async (ctx) => {
    allowOrigin(ctx);
    ctx.body = await tracking.recordLead(await readJson(ctx, '16kb'), clientOf(ctx));
  });
  // A slug that cannot be one (`%00`, `%ff`, 10,000 characters) is an unknown link, before any query.
  router.param('slug', pathId('Link', 'unknown_link'));
  router.get('/r/:slug', async (ctx) => {
    const target = await tracking.followLink(ctx.params.slug!, {
      ...clientOf(ctx),
      referer: ctx.get('referer') || null,
      existingReferral: ctx.cookies.get(REFERRAL_COOKIE) ?? undefined,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(target);
  });
  return router;
}
