/**
 * The application factory: `createApp(config).start()` resolves PostgreSQL (existing or embedded), runs the
 * migrations, wires services, starts HTTP and Agenda. `stop()` closes HTTP, drains Agenda, ends the pool,
 * then stops embedded PostgreSQL — in that order (ARCHITECTURE.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { openDatabase, type DatabaseHandle, type Db } from './db/database.ts';
import { MIGRATION_NAMES, migrateToLatest } from './db/migrate.ts';
import { resolvePostgres, type PostgresServer } from './db/postgres.ts';
import { createScheduler, type Scheduler } from './jobs/scheduler.ts';
import { readinessCheck } from './web/health.routes.ts';
import { createLogger, functionDestination, logFunction } from './lib/logger.ts';
import { createMetrics } from './lib/metrics.ts';
import { countBacklog } from './stripe/stripe-events.repository.ts';
import { createServices, type AppOptions, type Services } from './services.ts';
import { createKoa } from './web/koa.ts';

export { createServices, type AppOptions, type Services };

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
