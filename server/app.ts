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
import { MIGRATION_NAMES, migrateToLatest } from './db/migrate.ts';
import { resolvePostgres, type PostgresServer } from './db/postgres.ts';
import { errorMiddleware, noSniff } from './http/errors.middleware.ts';
import { adminAuth } from './http/admin-auth.ts';
import { staticRoutes } from './http/static.routes.ts';
import { createProgramsService } from './programs/programs.service.ts';
import { createProgramSecrets } from './programs/program-secrets.ts';
import { createSecretBox } from './secrets.ts';
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
import { healthRoutes, readinessCheck, type Readiness } from './http/health.routes.ts';
import { createLogger, functionDestination, logFunction, silentLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { metricsRoutes, observeRequests } from './observability/http.ts';
import { countBacklog } from './stripe/stripe-events.repository.ts';

export interface AppOptions {
  /** The clock (tests move time forward to pass hold periods). */
  now?: () => Date;
  /** Where log lines go; default: JSON lines on stdout at `config.logLevel` (`observability/logger.ts`). */
  logger?: Logger;
  /**
   * Instead of `logger`: receives the message and `err` of every line of level `info` and above, whatever
   * `LOG_LEVEL` says (tests collect messages this way).
   */
  log?: (msg: string, err?: unknown) => void;
  /** Where Stripe API calls go (payout transfers); default: Stripe. Tests point it at a loopback fake. */
  stripeEndpoint?: StripeEndpoint;
}

export type Services = ReturnType<typeof createServices>;

/**
 * Every service, built over one database handle.
 * @param opts.logger default: nothing is logged; `opts.metrics` default: nothing is recorded
 */
export function createServices(db: Db, config: Config, opts: AppOptions & { metrics?: Metrics | null } = {}) {
  const now = opts.now;
  const logger = opts.logger ?? silentLogger;
  const metrics = opts.metrics ?? null;
  const programSecrets = createProgramSecrets({ db, box: createSecretBox(config) });
  return {
    programSecrets,
    programs: createProgramsService({ db, config, programSecrets }),
    stats: createStatsService({ db, now }),
    affiliates: createAffiliatesService({ db }),
    links: createLinksService({ db, config }),
    tracking: createTrackingService({ db, now, logger, metrics }),
    conversions: createConversionsService({ db, now }),
    commissions: createCommissionsService({ db, now }),
    commissionRules: createCommissionRulesService({ db, now }),
    payouts: createPayoutsService({ db, now, stripeEndpoint: opts.stripeEndpoint, logger, programSecrets }),
    stripeWebhooks: createStripeWebhooksService({
      db,
      now,
      logger,
      metrics,
      stripeApi: createStripeApi(opts.stripeEndpoint),
      programSecrets,
    }),
    stripeSettings: createStripeSettingsService({ db, programSecrets }),
    partner: createPartnerService({ db, config, now, mailer: createMailer(config, logger) }),
  };
}

/**
 * The Koa application over `services` (no listening, no database lifecycle).
 * @param ready the readiness check behind `GET /readyz` (`GET /healthz` and `/readyz` are mounted only with it)
 * @param metrics request durations, and `GET /metrics` when `config.metricsToken` is set (`observability/http.ts`)
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
  koa.use(errorMiddleware(logger));

  // Highest-traffic first: every router in front of a route matches the path against its own routes.
  // biome-ignore lint/suspicious/noExplicitAny: each router has a state type of its own; Koa only mounts them
  const publicRouters: Router<any>[] = [
    trackingRoutes(services.tracking),
    stripeRoutes(services.stripeWebhooks),
    ...(ready ? [healthRoutes(ready)] : []),
    staticRoutes(),
    openApiRoutes(config.publicUrl, '0.1.0'),
    partnerRoutes(services.partner, {
      secureCookies: config.publicUrl.startsWith('https:'),
      publicUrl: config.publicUrl,
    }),
    partnerPayoutRoutes(services.payouts, services.partner, { publicUrl: config.publicUrl }),
  ];
  for (const r of publicRouters) koa.use(r.routes()).use(r.allowedMethods());
  // Without METRICS_TOKEN there is no /metrics at all (a 404), see observability/http.ts.
  if (metrics && config.metricsToken) koa.use(metricsRoutes(metrics, config.metricsToken).routes());
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
  const logger =
    opts.logger ??
    (opts.log
      ? createLogger({ level: 'info', destination: functionDestination(opts.log) })
      : createLogger({ level: config.logLevel }));
  // For the modules that take a `(msg, err?)` function (pool, embedded PostgreSQL, stored secrets).
  const log = logFunction(logger);
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
      await scheduler.stop().catch((err) => logger.error({ err }, 'stopping Agenda failed'));
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
      postgres = await resolvePostgres(config.databaseUrl, config.dataDir, (l, err) => log(l, err));
      database = openDatabase(postgres.url, 20, { log });
      const applied = await migrateToLatest(database.db);
      if (applied.length) logger.info({ migrations: applied }, `migrations applied: ${applied.join(', ')}`);
      const db = database.db;
      const metrics = createMetrics({ inboxBacklog: () => countBacklog(db) });
      services = createServices(database.db, config, { ...opts, logger, metrics });
      // Plain-text secrets of an older version are encrypted now; a wrong SECRET_KEY stops the start here.
      await services.programSecrets.prepare(log);
      if (config.jobs) {
        scheduler = createScheduler({
          pool: database.pool,
          commissions: services.commissions,
          payouts: services.payouts,
          stripeWebhooks: services.stripeWebhooks,
          logger,
          metrics,
        });
        await scheduler.start();
      } else {
        // No scheduler here (its start runs the same pass): stored events left due are processed now all the same.
        void services.stripeWebhooks.resume();
      }
      const koa = createKoa(services!, config, logger, readinessCheck(database.db, MIGRATION_NAMES), metrics);
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
