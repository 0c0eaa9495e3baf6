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
import { createLogger, functionDestination, logFunction, type Logger } from './lib/logger.ts';
import { createMetrics, type Metrics } from './lib/metrics.ts';
import { countBacklog } from './stripe/stripe-events.repository.ts';
import { createServices, type AppOptions, type Services } from './services.ts';
import { createKoa } from './web/koa.ts';

export { createServices, type AppOptions, type Services };

/**
 * The start-up every entry point shares (the server, the CLI): resolve PostgreSQL (`DATABASE_URL` or embedded),
 * open the pool, apply the migrations, build the services, and prepare the stored secrets.
 * @param opts.secrets `prepare`: encrypt plain-text secrets an older version left and open every stored one, so a
 *   wrong `SECRET_KEY` stops the start (the server); `plainOnly`: only encrypt plain-text ones, no decryption, so a
 *   command still runs under a wrong key (the CLI; `secrets rotate` reports such values)
 * @param opened told the PostgreSQL server and pool as soon as they exist, so a caller can stop them if a later
 *   step throws
 * @throws when PostgreSQL cannot be reached, a migration fails, or (`prepare`) a stored secret does not open
 */
export async function openCore(
  config: Config,
  opts: AppOptions & { logger: Logger },
  how: { poolSize: number; secrets: 'prepare' | 'plainOnly' },
  opened: (part: { postgres: PostgresServer } | { database: DatabaseHandle }) => void = () => {},
): Promise<{ postgres: PostgresServer; database: DatabaseHandle; services: Services; metrics: Metrics }> {
  const log = logFunction(opts.logger);
  const postgres = await resolvePostgres(config.databaseUrl, config.dataDir, (l, err) => log(l, err));
  opened({ postgres });
  const database = openDatabase(postgres.url, how.poolSize, { log });
  opened({ database });
  const applied = await migrateToLatest(database.db);
  if (applied.length) opts.logger.info({ migrations: applied }, `migrations applied: ${applied.join(', ')}`);
  const db = database.db;
  const metrics = createMetrics({ inboxBacklog: () => countBacklog(db) });
  const services = createServices(db, config, { ...opts, metrics });
  if (how.secrets === 'prepare') await services.programSecrets.prepare(log);
  else await services.programSecrets.sweep({ reencrypt: false, plainOnly: true });
  return { postgres, database, services, metrics };
}

/** How long in-flight HTTP requests may run on after `stop()` before their connections are closed. */
const HTTP_GRACE_MS = 5_000;

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
  let postgres: PostgresServer | null = null;
  let database: DatabaseHandle | null = null;
  let server: http.Server | null = null;
  let scheduler: Scheduler | null = null;
  let services: Services | null = null;

  /** The step `stop()` is in (for a shutdown watchdog to name what hangs), or null when not stopping. */
  let stopPhase: string | null = null;
  async function step(name: string, run: () => Promise<void>): Promise<void> {
    stopPhase = name;
    const began = Date.now();
    await run();
    logger.debug({ phase: name, ms: Date.now() - began }, `stopped: ${name}`);
  }

  async function stop(): Promise<void> {
    try {
      await stopInOrder();
    } finally {
      stopPhase = null;
    }
  }

  async function stopInOrder(): Promise<void> {
    if (server) {
      const s = server;
      server = null;
      await step('HTTP server', async () => {
        await new Promise<void>((resolve) => {
          // Idle keep-alive connections would hold close() open; in-flight requests get a grace period to finish,
          // then their connections are cut (a slow or stalled client must not hold the shutdown).
          const grace = setTimeout(() => s.closeAllConnections(), HTTP_GRACE_MS);
          s.close(() => {
            clearTimeout(grace);
            resolve();
          });
          s.closeIdleConnections();
        });
      });
    }
    if (services) {
      const running = services;
      services = null;
      // Stripe events being processed in this process finish before the pool ends (stored ones are safe anyway).
      await step('Stripe event processing', () => running.stripeWebhooks.close());
      // Clicks acknowledged or in flight are written before the pool ends.
      await step('click writer', () => running.tracking.close());
    }
    if (scheduler) {
      const agenda = scheduler;
      scheduler = null;
      await step('Agenda', () => agenda.stop().catch((err) => logger.error({ err }, 'stopping Agenda failed')));
    }
    if (database) {
      const handle = database;
      database = null;
      await step('database pool', () => handle.close());
    }
    if (postgres) {
      const pgServer = postgres;
      postgres = null;
      await step('embedded PostgreSQL', () => pgServer.stop());
    }
  }

  async function start(): Promise<RunningApp> {
    try {
      const core = await openCore(config, { ...opts, logger }, { poolSize: 20, secrets: 'prepare' }, (part) => {
        if ('postgres' in part) postgres = part.postgres;
        else database = part.database;
      });
      database = core.database;
      services = core.services;
      const { metrics } = core;
      if (config.jobs) {
        scheduler = createScheduler({
          pool: database.pool,
          commissions: services.commissions,
          payouts: services.payouts,
          stripeWebhooks: services.stripeWebhooks,
          outgoingWebhooks: services.outgoingWebhooks,
          mailOutbox: services.mailOutbox,
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
      // First run (no program, no console user): a one-time link to the console's setup, printed once per start.
      const setupUrl = await services.console.issueSetupToken();
      if (setupUrl)
        logger.warn({ setupUrl }, `first run: open ${setupUrl} to create the owner account and the first program`);
      return { url, db: database.db, services: services!, scheduler };
    } catch (err) {
      await stop().catch(() => {});
      throw err;
    }
  }

  return { start, stop, stopPhase: (): string | null => stopPhase };
}
