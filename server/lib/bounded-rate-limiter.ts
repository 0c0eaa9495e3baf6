/**
 * A per-key rate limiter whose memory has a ceiling: rate-limiter-flexible does the counting (points per duration,
 * `blockDuration`, `RateLimiterRes`, the `consume` / `get` / `delete` API of `RateLimiterMemory`), over an
 * `lru-cache` store holding at most `maxKeys` keys.
 *
 * Why not `RateLimiterMemory`: its store keeps a Map entry and a timer per key until the key's duration ends, with
 * no cap (~430 B per key measured: 77 MB for the 180,000 distinct IPs of one click benchmark), so a flood of distinct
 * addresses (an IPv6 /64 holds 2^64) grows the heap without bound. Here a key costs ~150 B and no timer (expired
 * entries are found on read and overwritten, or pushed out by newer keys), and at `maxKeys` the least recently used key
 * is dropped: its count starts again. A key that is sending is recent, so it keeps its count; a dropped key was quiet
 * longer than every key kept.
 *
 * Counts live in this process only: N processes allow N times the limit. It suits limits that bound one process's
 * work on a hot path (clicks); limits that must hold across instances (logins, tokens) use `shared-rate-limiter.ts`.
 *
 * The store is plugged in the way rate-limiter-flexible's own stores (Redis, PostgreSQL, ...) are: a subclass of
 * `RateLimiterStoreAbstract` implementing `_upsert`, `_get`, `_delete` and `_getRateLimiterRes`
 * (https://github.com/animir/node-rate-limiter-flexible, lib/RateLimiterStoreAbstract.js).
 */
import { createRequire } from 'node:module';
import { LRUCache } from 'lru-cache';
import { RateLimiterRes, type RateLimiterStoreAbstract as StoreAbstract } from 'rate-limiter-flexible';

// The package's types declare `RateLimiterStoreAbstract` (the base of its stores) but its index does not export it.
const RateLimiterStoreAbstract = createRequire(import.meta.url)(
  'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js',
) as typeof StoreAbstract;

interface Counter {
  points: number;
  /** Epoch ms when the count ends; 0 = never (duration 0). */
  expiresAt: number;
}

export interface BoundedRateLimiterOptions {
  /** Points a key may consume per `duration`. */
  points: number;
  /** Seconds a key's count lasts, from its first point (0 = for ever). */
  duration: number;
  /** Seconds a key that went over `points` stays blocked (0 = until its count ends). */
  blockDuration?: number;
  /** Keys kept at most (the memory ceiling: ~150 B each). */
  maxKeys: number;
  keyPrefix?: string;
}

export class BoundedRateLimiter extends RateLimiterStoreAbstract {
  readonly #counters: LRUCache<string, Counter>;

  constructor(opts: BoundedRateLimiterOptions) {
    const counters = new LRUCache<string, Counter>({ max: opts.maxKeys });
    super({
      points: opts.points,
      duration: opts.duration,
      blockDuration: opts.blockDuration,
      keyPrefix: opts.keyPrefix,
      storeClient: counters,
    });
    this.#counters = counters;
  }

  /** The live counter of `rlKey`, or undefined (none, or its duration ended). */
  #live(rlKey: string, now: number): Counter | undefined {
    const c = this.#counters.get(rlKey);
    return c && (c.expiresAt === 0 || c.expiresAt > now) ? c : undefined;
  }

  /** Add `points` to the key's live count, or start a count of `points` (always when `forceExpire`: a block). */
  _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<Counter> {
    const now = Date.now();
    let c = forceExpire ? undefined : this.#live(rlKey, now);
    if (c) c.points += points;
    else {
      c = { points, expiresAt: msDuration > 0 ? now + msDuration : 0 };
      this.#counters.set(rlKey, c);
    }
    return Promise.resolve({ points: c.points, expiresAt: c.expiresAt });
  }

  _get(rlKey: string): Promise<Counter | null> {
    const c = this.#live(rlKey, Date.now());
    return Promise.resolve(c ? { points: c.points, expiresAt: c.expiresAt } : null);
  }

  _delete(rlKey: string): Promise<boolean> {
    return Promise.resolve(this.#counters.delete(rlKey));
  }

  _getRateLimiterRes(_rlKey: string, changedPoints: number, c: Counter): RateLimiterRes {
    const msBeforeNext = c.expiresAt === 0 ? -1 : Math.max(c.expiresAt - Date.now(), 0);
    return new RateLimiterRes(Math.max(this.points - c.points, 0), msBeforeNext, c.points, c.points === changedPoints);
  }

  /** Keys held now (expired ones included until they are overwritten or dropped). */
  get size(): number {
    return this.#counters.size;
  }
}
