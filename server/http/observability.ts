/**
 * HTTP side of observability:
 * - `observeRequests`, the first middleware: gives every request an id — the client's `X-Request-Id` when it is a
 *   sane token (1–100 characters of `[A-Za-z0-9._-]`), else a new UUID — in `ctx.state.requestId` and the
 *   `X-Request-Id` response header; opens the log context `{ reqId }` (`logger.ts`) except on `HOT_PATHS`; records
 *   the request in `partnerkit_http_request_duration_seconds`; at `debug` level logs one line per request.
 * - `metricsRoutes`: `GET /metrics`, Prometheus text format, only with `Authorization: Bearer <METRICS_TOKEN>`
 *   (401 otherwise). Mounted only when `METRICS_TOKEN` is set, so without it `/metrics` is a plain 404: metrics
 *   are off by default and never public by accident (process and business figures are not for everyone).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import Router from '@koa/router';
import { UnauthorizedError } from '../lib/errors.ts';
import { withLogContext, type Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;
/**
 * Paths served without a log context (see `logger.ts`): the click and lead endpoints, server-side links, Stripe
 * webhooks and the snippet — the traffic of every visitor of every merchant's site — and the load balancer's
 * probes (every few seconds). None of them logs per request; their failures carry `reqId` from the error middleware.
 */
const HOT_PATHS = ['/api/v1/track/', '/r/', '/api/v1/webhooks/', '/pk.js', '/healthz', '/readyz'];
const STATUS_CLASSES = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** The client's request id when it is a sane token, else a new one (a UUID). */
export function requestIdFrom(header: string | undefined): string {
  return header && header.length <= 100 && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

const isHot = (path: string) => HOT_PATHS.some((p) => path.startsWith(p));

/** The route template @koa/router matched (`/api/v1/affiliates/:id`), or `unmatched`: never the raw path. */
function routeOf(ctx: ParameterizedContext): string {
  const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  return route === undefined ? 'unmatched' : String(route);
}

/**
 * Request id, log context, duration metric (see the module header). Mount it first, before the error middleware,
 * so the status it records is the one answered.
 * @param deps.metrics where durations go; null records none
 */
export function observeRequests(deps: { logger: Logger; metrics: Metrics | null }): Middleware {
  const { logger, metrics } = deps;
  return async (ctx, next) => {
    const started = performance.now();
    const reqId = requestIdFrom(ctx.get('x-request-id'));
    ctx.state.requestId = reqId;
    ctx.set('X-Request-Id', reqId);
    let threw = false;
    try {
      if (isHot(ctx.path)) await next();
      else await withLogContext({ reqId }, next);
    } catch (err) {
      threw = true;
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const status = threw ? 500 : ctx.status;
      const route = routeOf(ctx);
      metrics?.httpDuration.observe(
        { method: ctx.method, route, status_class: STATUS_CLASSES[Math.floor(status / 100)] ?? '5xx' },
        seconds,
      );
      if (logger.isLevelEnabled('debug'))
        logger.debug({ reqId, method: ctx.method, route, status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
    }
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics` (Prometheus text exposition format, prom-client's registry output).
 * @param token `METRICS_TOKEN`; compared in constant time
 * @throws UnauthorizedError `invalid_metrics_token` (401) when the bearer token is missing or wrong
 */
export function metricsRoutes(metrics: Metrics, token: string): Router {
  const expected = sha256(token);
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const given = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
    if (!given || !timingSafeEqual(sha256(given), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedError(
        'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"',
        'invalid_metrics_token',
      );
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
