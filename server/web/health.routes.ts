/**
 * Probes for load balancers and orchestrators. Public, unauthenticated, not rate-limited, never cached:
 * - `GET /healthz`: the process is up and serving HTTP — `200 { "status": "ok" }`, whatever the database does
 *   (a liveness probe must not restart a server that is only waiting for PostgreSQL).
 * - `GET /readyz`: the database answers and every migration this build knows is applied — `200 { "status": "ready" }`;
 *   otherwise `503 database_unavailable` with `Retry-After` (through the one error middleware).
 *
 * Cheap: one `SELECT name FROM kysely_migration` (a dozen rows), bounded by `READY_TIMEOUT_MS`, and its outcome is
 * shared by all probes for `READY_CACHE_MS` (concurrent probes wait for the same query).
 */
import Router from '@koa/router';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../lib/errors.ts';

/** A readiness query that takes longer than this counts as "database unavailable". */
export const READY_TIMEOUT_MS = 2_000;
/** How long one readiness outcome answers further probes. */
export const READY_CACHE_MS = 1_000;

/** Outcome of a readiness check: ready, or why not (a message safe to show). */
export type Readiness = { ready: true } | { ready: false; message: string };

/**
 * A readiness check over `db`: the database answers within `READY_TIMEOUT_MS` and `kysely_migration` lists every
 * name of `migrations`. Never throws.
 */
export function readinessCheck(db: Db, migrations: readonly string[]): () => Promise<Readiness> {
  let cached: { at: number; outcome: Promise<Readiness> } | null = null;

  async function check(): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('readiness query timed out')), READY_TIMEOUT_MS);
    });
    try {
      const { rows } = await Promise.race([
        sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db),
        timeout,
      ]);
      const applied = new Set(rows.map((r) => r.name));
      const pending = migrations.filter((m) => !applied.has(m));
      if (pending.length) return { ready: false, message: `Database migrations pending: ${pending.join(', ')}` };
      return { ready: true };
    } catch (err) {
      if (isDatabaseUnavailable(err) || (err as Error).message === 'readiness query timed out')
        return { ready: false, message: 'The database is unavailable; retry shortly' };
      // e.g. no migration table: the schema is not this server's
      return { ready: false, message: 'The database schema could not be checked' };
    } finally {
      clearTimeout(timer);
    }
  }

  return () => {
    const now = Date.now();
    if (!cached || now - cached.at >= READY_CACHE_MS) cached = { at: now, outcome: check() };
    return cached.outcome;
  };
}

/** `GET /healthz` and `GET /readyz` (see the module header). */
export function healthRoutes(ready: () => Promise<Readiness>): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const r = await ready();
    if (!r.ready) throw new DatabaseUnavailableError(r.message);
    ctx.body = { status: 'ready' };
  });
  return router;
}
