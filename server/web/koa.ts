/**
 * The Koa application over the services: middleware order, public routers, then admin routers behind the API key.
 * Imported only by `app.ts`.
 */
import Koa from 'koa';
import compress from 'koa-compress';
import type Router from '@koa/router';
import type { Config } from '../config.ts';
import { errorMiddleware, noSniff } from '../http/errors.middleware.ts';
import { adminAuth } from '../http/admin-auth.ts';
import { staticRoutes } from './static.routes.ts';
import { affiliatesRoutes } from '../affiliates/affiliates.routes.ts';
import { linksRoutes } from '../links/links.routes.ts';
import { trackingRoutes } from '../tracking/tracking.routes.ts';
import { conversionsRoutes } from '../conversions/conversions.routes.ts';
import { commissionsRoutes } from '../commissions/commissions.routes.ts';
import { commissionRulesRoutes } from '../commissions/commission-rules.routes.ts';
import { balancesRoutes, partnerPayoutRoutes, payoutsRoutes } from '../payouts/payouts.routes.ts';
import { payAllRoutes } from '../payouts/pay-all.routes.ts';
import { connectOnboardingRoutes } from '../payouts/connect-onboarding.routes.ts';
import { unsubscribeRoutes } from '../mail/unsubscribe.routes.ts';
import { emailPreferencesRoutes } from '../partner/email-preferences.routes.ts';
import { earningsRoutes, partnerEarningsRoutes } from '../payouts/earnings.routes.ts';
import { affiliateTaxInfoRoutes, partnerTaxInfoRoutes } from '../partner/tax-info.routes.ts';
import { promotionCodesRoutes } from '../stripe/promotion-codes.routes.ts';
import { stripeEventsRoutes } from '../stripe/stripe-events.routes.ts';
import { stripeKeyRoutes } from '../stripe/stripe-key.routes.ts';
import { programRoutes } from '../programs/programs.routes.ts';
import { credentialsRoutes } from '../programs/credentials.routes.ts';
import { webhookEndpointsRoutes } from '../outgoing-webhooks/webhook-endpoints.routes.ts';
import { stripeRoutes } from '../stripe/stripe.routes.ts';
import { accessRoutes } from '../partner/access/access.routes.ts';
import { portalRoutes } from '../partner/portal/portal.routes.ts';
import { statsRoutes } from '../programs/stats.routes.ts';
import { consoleRoutes } from '../console/console.routes.ts';
import { openApiRoutes } from './openapi.ts';
import { healthRoutes, type Readiness } from './health.routes.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { metricsRoutes, observeRequests } from '../http/observability.ts';
import type { Services } from '../services.ts';

/**
 * The Koa application over `services` (no listening, no database lifecycle).
 * @param ready the readiness check behind `GET /readyz` (`GET /healthz` and `/readyz` are mounted only with it)
 * @param metrics request durations, and `GET /metrics` when `config.metricsToken` is set (`http/observability.ts`)
 */
export function createKoa(
  services: Services,
  config: Config,
  logger: Logger,
  ready?: () => Promise<Readiness>,
  metrics: Metrics | null = null,
): Koa {
  // `maxIpsCount`: only the entries our own proxies appended (the rightmost ones) count; a client can write
  // anything to the left of them, and the first entry was spoofable (per-IP limits, fraud checks by IP).
  const koa = new Koa({ proxy: config.proxyHops > 0, maxIpsCount: config.proxyHops });
  koa.silent = true;
  koa.use(noSniff);
  // Request id, log context and duration of every request, around the error middleware (the status it answers).
  koa.use(observeRequests({ logger, metrics }));
  // gzip/brotli for text answers of 1 KB and more (lists, CSV exports, the OpenAPI document, error pages). The
  // tracking and Stripe webhook answers are always small: they skip the middleware, whose per-request work (Vary,
  // the body's length) would be paid on the hottest path for nothing. Built files come precompressed
  // (static.routes.ts).
  const compressText = compress({ threshold: 1024 });
  koa.use((ctx, next) =>
    ctx.path.startsWith('/api/v1/track/') || ctx.path.startsWith('/api/v1/webhooks/')
      ? next()
      : compressText(ctx, next),
  );
  koa.use(errorMiddleware(logger));

  const { publicRouters, adminRouters } = mountedRouters(services, config, ready);
  for (const r of publicRouters) koa.use(r.routes()).use(r.allowedMethods());
  // Without METRICS_TOKEN there is no /metrics at all (a 404), see http/observability.ts.
  if (metrics && config.metricsToken) koa.use(metricsRoutes(metrics, config.metricsToken).routes());
  koa.use(async (ctx, next) => {
    if (ctx.path.startsWith('/api/v1/')) ctx.set('Cache-Control', 'no-store');
    await next();
  });

  // The merchant console's session opens the admin API too, for the programs its user belongs to.
  const auth = adminAuth((apiKey) => services.programs.findByApiKey(apiKey), {
    publicUrl: config.publicUrl,
    // Writes nothing: a viewer may ask what a sale would earn.
    readOnlyPosts: new Set(['/api/v1/commission-rules/preview']),
    lookup: async (sessionId, programId) => {
      const session = await services.console.authenticate(sessionId);
      if (!session) return null;
      return { csrfToken: session.csrfToken, access: await services.console.resolveProgram(session, programId) };
    },
  });
  for (const r of adminRouters) {
    // Authenticate only requests that reach an admin route, so unknown paths stay plain 404s.
    koa.use(async (ctx, next) => {
      if (!r.match(ctx.path, ctx.method).route) return next();
      // biome-ignore lint/suspicious/noExplicitAny: the admin state is added by `auth` before the router sees it
      return auth(ctx as any, () => (r.routes() as any)(ctx, next));
    });
  }
  return koa;
}

// biome-ignore lint/suspicious/noExplicitAny: each router has a state type of its own; Koa only mounts them
type AnyRouter = Router<any>;

/**
 * Every router the app serves, in mounting order: public ones (own authentication or none) and admin ones (behind
 * the API key). `createKoa` mounts them; the OpenAPI test reads their routes to check that each is documented.
 */
export function mountedRouters(
  services: Services,
  config: Config,
  ready?: () => Promise<Readiness>,
): { publicRouters: AnyRouter[]; adminRouters: AnyRouter[] } {
  // Highest-traffic first: every router in front of a route matches the path against its own routes.
  const publicRouters: AnyRouter[] = [
    trackingRoutes(services.tracking),
    stripeRoutes(services.stripeWebhooks),
    ...(ready ? [healthRoutes(ready)] : []),
    staticRoutes(),
    openApiRoutes(config.publicUrl, '0.1.0'),
    accessRoutes(services.partner, {
      secureCookies: config.publicUrl.startsWith('https:'),
      publicUrl: config.publicUrl,
    }),
    portalRoutes(services.partner, { publicUrl: config.publicUrl }),
    partnerPayoutRoutes(services.payouts, services.partner.authenticate, { publicUrl: config.publicUrl }),
    connectOnboardingRoutes(services.stripeConnect, services.partner.authenticate, { publicUrl: config.publicUrl }),
    // E-mail (issue 21): one-click unsubscribe, and the partner's e-mail preferences.
    unsubscribeRoutes(services.mailOutbox),
    emailPreferencesRoutes(services.partner.authenticate, services.mailOutbox, { publicUrl: config.publicUrl }),
    partnerEarningsRoutes(services.earnings, services.partner.authenticate, { publicUrl: config.publicUrl }),
    partnerTaxInfoRoutes(services.taxInfo, services.partner.authenticate, { publicUrl: config.publicUrl }),
    consoleRoutes(services.console, {
      secureCookies: config.publicUrl.startsWith('https:'),
      publicUrl: config.publicUrl,
    }),
  ];
  const adminRouters: AnyRouter[] = [
    affiliatesRoutes(services.affiliates, services.partner),
    linksRoutes(services.links),
    conversionsRoutes(services.conversions),
    promotionCodesRoutes(services.stripeSettings),
    stripeEventsRoutes(services.stripeEvents),
    commissionsRoutes(services.commissions, services.commissionDetails),
    commissionRulesRoutes(services.commissionRules),
    payoutsRoutes(services.payouts),
    balancesRoutes(services.payouts),
    payAllRoutes(services.payAll),
    programRoutes(services.programs),
    statsRoutes(services.stats),
    credentialsRoutes(services.credentials),
    webhookEndpointsRoutes(services.outgoingWebhooks),
    earningsRoutes(services.earnings),
    affiliateTaxInfoRoutes(services.taxInfo),
    stripeKeyRoutes(services.stripeSettings),
  ];
  return { publicRouters, adminRouters };
}
