/**
 * Rate limits shared by every app process on one PostgreSQL: rate-limiter-flexible's `RateLimiterPostgres` over
 * the `rate_limits` table (migration 0012), reached through the app's Kysely handle (so through its one pool).
 *
 * Each `consume(key, n)` is one atomic statement (`INSERT … ON CONFLICT (key) DO UPDATE SET points = points + n …
 * RETURNING points, expire`): parallel requests, in one process or in many, are counted one after another by the
 * row lock, so exactly `points` of a burst pass. Windows are fixed (from a key's first point, `duration` seconds)
 * and timed by each process's wall clock (`Date.now()`, epoch ms in `expire`).
 *
 * Use these for limits that must hold across instances (logins, tokens, forms). The click path's per-IP limit stays
 * per process (`bounded-rate-limiter.ts`): it runs on every click and only has to bound one process's work.
 */
import { CompiledQuery } from 'kysely';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { DbOrTrx } from './database.ts';

/** The table of migration 0012. */
export const RATE_LIMITS_TABLE = 'rate_limits';

export interface SharedRateLimiterOptions {
  /** Distinguishes this limiter's keys in the shared table (`<keyPrefix>:<key>`). */
  keyPrefix: string;
  /** Points a key may consume per `duration`. */
  points: number;
  /** Seconds a key's count lasts, from its first point. */
  duration: number;
  /**
   * Delete rows that expired over an hour ago, every 5 minutes, from this process (the library's timer, unref'd).
   * The table is shared: one limiter per process is enough.
   */
  prune?: boolean;
}

/**
 * The `pg`-like client `RateLimiterPostgres` talks to (`query({ text, values })` → `{ rows, rowCount }`), over
 * Kysely: the statements run on the app's pool (named prepared statements like every other query there).
 */
function kyselyClient(db: DbOrTrx) {
  return {
    async query(q: { text: string; values?: unknown[] }) {
      const r = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(q.text, q.values ?? []));
      return {
        rows: r.rows,
        rowCount: r.numAffectedRows !== undefined ? Number(r.numAffectedRows) : r.rows.length,
      };
    },
  };
}

/**
 * A limiter with rate-limiter-flexible's API (`consume`, `get`, `reward`, `penalty`, `delete`); `consume` rejects
 * with a `RateLimiterRes` (`msBeforeNext`) when the key went over `points`, with an `Error` when the database
 * failed (no in-memory fallback: a limit that silently stops being shared is not one).
 */
export function sharedRateLimiter(db: DbOrTrx, opts: SharedRateLimiterOptions): RateLimiterPostgres {
  return new RateLimiterPostgres({
    storeClient: kyselyClient(db),
    storeType: 'pool',
    tableName: RATE_LIMITS_TABLE,
    tableCreated: true,
    clearExpiredByTimeout: opts.prune ?? false,
    keyPrefix: opts.keyPrefix,
    points: opts.points,
    duration: opts.duration,
  });
}

/**
 * Consume one point of each `[limiter, key]` pair (all of them, in parallel).
 * @returns null when every limiter allowed it, else the longest wait in ms of those that refused
 * @throws the database's error when a consume failed for another reason than the limit
 */
export async function consumeAll(pairs: readonly (readonly [RateLimiterPostgres, string])[]): Promise<number | null> {
  const results = await Promise.allSettled(pairs.map(([limiter, key]) => limiter.consume(key, 1)));
  let wait: number | null = null;
  for (const r of results) {
    if (r.status === 'fulfilled') continue;
    if (!(r.reason instanceof RateLimiterRes)) throw r.reason;
    wait = Math.max(wait ?? 0, r.reason.msBeforeNext);
  }
  return wait;
}
