/**
 * Step 2 of the webhooks pipeline (`webhooks.service.ts`): this process's in-memory processing queue, with
 * acknowledgement pacing (backpressure). Pure logic: the work (`run`), the key of an item and the clock are
 * injected, so it runs and is tested without PostgreSQL (`test/unit/processing-queue.test.ts`).
 *
 * - `enqueue` adds an item unless it is already waiting; an item already running is marked to run once more when
 *   its run ends (a wake-up that came while it ran is not lost). At most `concurrency` items run at once, in the
 *   order they were queued.
 * - `paced` holds an acknowledgement while processing trails (the oldest waiting item has waited longer than
 *   `pacing.lagMs`), until the queue hands an item to a worker (one out lets one in) or catches up, at most
 *   `pacing.maxWaitMs`.
 * - `idle` resolves when nothing waits and nothing runs; `close` drops what waits, releases every held
 *   acknowledgement and refuses new items (what runs finishes).
 */

/**
 * Acknowledgement pacing (backpressure): while the oldest event waiting in this process's queue has waited longer
 * than `lagMs`, the acknowledgement of a newly stored event is held until processing takes an event off the queue
 * (one out lets one in) or catches up, at most `maxWaitMs`. The event is already stored durably; only the answer
 * waits. A sender with bounded concurrency (Stripe delivers to an endpoint over a limited number of connections;
 * the benchmark over 20) then slows towards the rate processing keeps, so conversions trail their acknowledgement by
 * about a second instead of by a backlog that grows with the burst. Measured (2-core bench, 3,000 sales over 20
 * connections, after the click run): without pacing the burst was acknowledged at ~1,300/s and left ~2,100 events
 * to process (every conversion present 2.6 s after the last event); with it, 750–950/s, ~950–1,100 left, 1.1–1.4 s,
 * acknowledgement p99 35–41 ms (25 ms cap; target 50 ms).
 */
export const ACK_PACING = { lagMs: 500, maxWaitMs: 25 };

/** Pacing settings, in milliseconds. */
export type AckPacing = { lagMs: number; maxWaitMs: number };

/**
 * A processing queue over items of type `T`.
 * @param opts.key identity of an item (two items with one key are one piece of work)
 * @param opts.run processes one item; must return a promise (not throw synchronously). A rejection goes to
 *   `onError` and does not stop the queue.
 * @param opts.onError called with the item whose run rejected
 * @param opts.concurrency items run at once (>= 1)
 * @param opts.pacing `lagMs` / `maxWaitMs`, see `ACK_PACING`
 * @param opts.clock milliseconds, monotonic; default `performance.now()`
 */
export function createProcessingQueue<T>(opts: {
  key: (item: T) => string;
  run: (item: T) => Promise<unknown>;
  onError: (item: T, err: unknown) => void;
  concurrency: number;
  pacing: AckPacing;
  clock?: () => number;
}) {
  const { key, run, onError, concurrency, pacing } = opts;
  const clock = opts.clock ?? (() => performance.now());
  let closed = false;

  // Items waiting (with when they were queued, `clock()`), items running (with "run again when done" flags), idle
  // waiters, acknowledgements held by pacing.
  const queue: { item: T; queuedAt: number }[] = [];
  const queued = new Set<string>();
  const running = new Map<string, { again: boolean }>();
  let idleWaiters: (() => void)[] = [];
  let heldAcks: (() => void)[] = [];

  /** Whether processing trails: the oldest waiting item has waited longer than `pacing.lagMs`. */
  const lagging = () => queue.length > 0 && clock() - queue[0]!.queuedAt > pacing.lagMs;

  /** Release every held acknowledgement (`all`), or the longest-held one: one out of the queue lets one in. */
  function releaseAcks(all: boolean): void {
    for (const release of heldAcks.splice(0, all ? heldAcks.length : 1)) release();
  }

  /**
   * Hold an acknowledgement while processing trails: until processing takes an item off the queue for it (so
   * acknowledgements go at processing's pace) or catches up, at most `pacing.maxWaitMs`.
   * @returns undefined when not trailing (answer now), else a promise that resolves when the answer may go
   */
  function paced(): Promise<void> | undefined {
    if (!lagging()) return undefined;
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        heldAcks = heldAcks.filter((r) => r !== release);
        resolve();
      }, pacing.maxWaitMs);
      heldAcks.push(release);
    });
  }

  /** Queue an item (nothing after `close`; once if already waiting; once more after its run if running). */
  function enqueue(item: T): void {
    if (closed) return;
    const k = key(item);
    const r = running.get(k);
    if (r) {
      r.again = true;
      return;
    }
    if (queued.has(k)) return;
    queued.add(k);
    queue.push({ item, queuedAt: clock() });
    pump();
  }

  function pump(): void {
    while (running.size < concurrency && queue.length > 0) {
      const { item } = queue.shift()!;
      if (heldAcks.length) releaseAcks(!lagging());
      const k = key(item);
      queued.delete(k);
      const state = { again: false };
      running.set(k, state);
      run(item)
        .catch((err) => onError(item, err))
        .finally(() => {
          running.delete(k);
          if (state.again) enqueue(item);
          pump();
          if (running.size === 0 && queue.length === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  /** Resolves when this queue is empty and nothing is running. */
  function idle(): Promise<void> {
    if (running.size === 0 && queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  return {
    enqueue,
    paced,
    idle,
    /** Whether an item with this key is waiting or running here. */
    holds: (item: T): boolean => queued.has(key(item)) || running.has(key(item)),
    /** Whether `close` was called. */
    isClosed: (): boolean => closed,
    /** Refuse new items, drop the waiting ones, release every held acknowledgement; what runs goes on (`idle`). */
    close(): void {
      closed = true;
      queue.length = 0;
      queued.clear();
      releaseAcks(true);
    },
  };
}
export type ProcessingQueue<T> = ReturnType<typeof createProcessingQueue<T>>;
