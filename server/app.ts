/**
 * The application factory: `createApp(config).start()` resolves PostgreSQL (existing or embedded), runs the
 * migrations, wires services, starts HTTP and Agenda. `stop()` closes HTTP, drains Agenda, ends the pool,
 * then stops embedded PostgreSQL — in that order (ARCHITECTURE.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type Router from '@koa/router';
import type { Config } from './config.ts';
import { openDatabase, type DatabaseHandle, type Db } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { resolvePostgres, type PostgresServer } from './db/postgres.ts';
import { errorMiddleware } from './http/errors.middleware.ts';
import { adminAuth } from './http/admin-auth.ts';
import { staticRoutes } from './http/static.routes.ts';
import { createProgramsService } from './programs/programs.service.ts';
import { createAffiliatesService } from './affiliates/affiliates.service.ts';
import { affiliatesRoutes } from './affiliates/affiliates.routes.ts';
import { createLinksService } from './links/links.service.ts';
import { linksRoutes } from './links/links.routes.ts';
import { createTrackingService } from './tracking/tracking.service.ts';
import { trackingRoutes } from './tracking/tracking.routes.ts';
import { createConversionsService } from './conversions/conversions.service.ts';
import { conversionsRoutes } from './conversions/conversions.routes.ts';
import { createCommissionsService } from './commissions/commissions.service.ts';
import { commissionsRoutes } from './commissions/commissions.routes.ts';
import { createCommissionRulesService } from './commissions/commission-rules.service.ts';
import { commissionRulesRoutes } from './commissions/commission-rules.routes.ts';
import { createPayoutsService } from './payouts/payouts.service.ts';
import { balancesRoutes, partnerPayoutRoutes, payoutsRoutes } from './payouts/payouts.routes.ts';
import { createStripeApi, type StripeEndpoint } from './stripe/stripe-api.ts';
import { createStripeSettingsService } from './stripe/stripe-settings.service.ts';
import { promotionCodesRoutes } from './stripe/promotion-codes.routes.ts';
import { programRoutes } from './programs/programs.routes.ts';
import { createStripeWebhooksService } from './stripe/stripe-webhooks.service.ts';
import { stripeRoutes } from './stripe/stripe.routes.ts';
import { createPartnerService } from './partner/partner.service.ts';
import { partnerRoutes } from './partner/partner.routes.ts';
import { createMailer } from './mail/mailer.ts';
import { createScheduler, type Scheduler } from './jobs/scheduler.ts';
import { createStatsService } from './programs/stats.service.ts';
import { statsRoutes } from './programs/stats.routes.ts';
import { openApiRoutes } from './http/openapi.ts';

export interface AppOptions {
  /** The clock (tests move time forward to pass hold periods). */
  now?: () => Date;
  /** Where log lines go; default: console per `config.logLevel`. */
  log?: (msg: string, err?: unknown) => void;
  /** Where Stripe API calls go (payout transfers); default: Stripe. Tests point it at a loopback fake. */
  stripeEndpoint?: StripeEndpoint;
}

export type Services = ReturnType<typeof createServices>;

/** Every service, built over one database handle. */
export function createServices(db: Db, config: Config, opts: AppOptions = {}) {
  const now = opts.now;
  const log = opts.log;
  return {
    programs: createProgramsService({ db, config }),
    stats: createStatsService({ db, now }),
    affiliates: createAffiliatesService({ db }),
    links: createLinksService({ db, config }),
    tracking: createTrackingService({ db, now, log }),
    conversions: createConversionsService({ db, now }),
    commissions: createCommissionsService({ db, now }),
    commissionRules: createCommissionRulesService({ db, now }),
    payouts: createPayoutsService({ db, now, stripeEndpoint: opts.stripeEndpoint, log }),
    stripeWebhooks: createStripeWebhooksService({ db, now, log, stripeApi: createStripeApi(opts.stripeEndpoint) }),
    stripeSettings: createStripeSettingsService({ db }),
    partner: createPartnerService({ db, config, now, mailer: createMailer(config, log ?? (() => {})) }),
  };
}

/** The Koa application over `services` (no listening, no database lifecycle). */
export function createKoa(services: Services, config: Config, log: (msg: string, err?: unknown) => void): Koa {
  // `maxIpsCount`: only the entries our own proxies appended (the rightmost ones) count; a client can write
  // anything to the left of them, and the first entry was spoofable (per-IP limits, fraud checks by IP).
  const koa = new Koa({ proxy: config.proxyHops > 0, maxIpsCount: config.proxyHops });
  koa.silent = true;
  koa.use(errorMiddleware(log));

  // Highest-traffic first: every router in front of a route matches the path against its own routes.
  // biome-ignore lint/suspicious/noExplicitAny: each router has a state type of its own; Koa only mounts them
  const publicRouters: Router<any>[] = [
    trackingRoutes(services.tracking),
    stripeRoutes(services.stripeWebhooks),
    staticRoutes(),
    openApiRoutes(config.publicUrl, '0.1.0'),
    partnerRoutes(services.partner, {
      secureCookies: config.publicUrl.startsWith('https:'),
      publicUrl: config.publicUrl,
    }),
    partnerPayoutRoutes(services.payouts, services.partner, { publicUrl: config.publicUrl }),
  ];
  for (const r of publicRouters) koa.use(r.routes()).use(r.allowedMethods());
  koa.use(async (ctx, next) => {
    if (ctx.path.startsWith('/api/v1/')) ctx.set('Cache-Control', 'no-store');
    await next();
  });

  // biome-ignore lint/suspicious/noExplicitAny: as above, each router has a state type of its own
  const adminRouters: Router<any>[] = [
    affiliatesRoutes(services.affiliates, services.partner),
    linksRoutes(services.links),
    conversionsRoutes(services.conversions),
    promotionCodesRoutes(services.stripeSettings),
    commissionsRoutes(services.commissions),
    commissionRulesRoutes(services.commissionRules),
    payoutsRoutes(services.payouts),
    balancesRoutes(services.payouts),
    programRoutes(services.programs),
    statsRoutes(services.stats),
  ];
  const auth = adminAuth(services.programs);
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

export interface RunningApp {
  url: string;
  db: Db;
  services: Services;
  scheduler: Scheduler | null;
}

/**
 * @returns `{ start, stop }`; `start()` resolves to the running app's URL, database and services.
 * @throws from `start()` when PostgreSQL cannot be reached or a migration fails (everything started is stopped)
 */
export function createApp(config: Config, opts: AppOptions = {}) {
  const log =
    opts.log ??
    ((msg: string, err?: unknown) => {
      if (config.logLevel === 'silent') return;
      if (err) console.error(`[partnerkit] ${msg}:`, err);
      else if (config.logLevel === 'info') console.log(`[partnerkit] ${msg}`);
    });
  let postgres: PostgresServer | null = null;
  let database: DatabaseHandle | null = null;
  let server: http.Server | null = null;
  let scheduler: Scheduler | null = null;
  let services: Services | null = null;

  async function stop(): Promise<void> {
    if (server) {
      const s = server;
      server = null;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Idle keep-alive connections would hold close() open; in-flight requests still finish.
        s.closeIdleConnections();
      });
    }
    if (services) {
      // Stripe events being processed in this process finish before the pool ends (stored ones are safe anyway).
      await services.stripeWebhooks.close();
      // Clicks acknowledged or in flight are written before the pool ends.
      await services.tracking.close();
      services = null;
    }
    if (scheduler) {
      await scheduler.stop().catch((err) => log('stopping Agenda failed', err));
      scheduler = null;
    }
    if (database) {
      await database.close();
      database = null;
    }
    if (postgres) {
      await postgres.stop();
      postgres = null;
    }
  }

  async function start(): Promise<RunningApp> {
    try {
      postgres = await resolvePostgres(config.databaseUrl, config.dataDir, (l) => log(l));
      database = openDatabase(postgres.url);
      const applied = await migrateToLatest(database.db);
      if (applied.length) log(`migrations applied: ${applied.join(', ')}`);
      services = createServices(database.db, config, { ...opts, log });
      if (config.jobs) {
        scheduler = createScheduler({
          pool: database.pool,
          commissions: services.commissions,
          payouts: services.payouts,
          stripeWebhooks: services.stripeWebhooks,
          log,
        });
        await scheduler.start();
      }
      const koa = createKoa(services!, config, log);
      server = http.createServer(koa.callback());
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const url = config.port === 0 ? `http://127.0.0.1:${port}` : config.publicUrl;
      return { url, db: database.db, services: services!, scheduler };
    } catch (err) {
      await stop().catch(() => {});
      throw err;
    }
  }

  return { start, stop };
}
