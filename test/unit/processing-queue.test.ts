/**
 * The webhooks processing queue without PostgreSQL (`server/stripe/webhooks/processing-queue.ts`): concurrency,
 * merging of duplicates, runs again after a wake-up that came while running, acknowledgement pacing
 * (backpressure), `idle` and `close`. Work is a promise the test settles; the clock is injected.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProcessingQueue } from '../../server/stripe/webhooks/processing-queue.ts';

/** Runs that wait until the test settles them, oldest first (`finish`) or by key. */
function manualRuns() {
  const pending: { key: string; resolve: () => void; reject: (err: unknown) => void }[] = [];
  const started: string[] = [];
  return {
    started,
    run: (key: string) =>
      new Promise<void>((resolve, reject) => {
        started.push(key);
        pending.push({ key, resolve, reject });
      }),
    /** Settle the oldest running item (or the one with `key`) and let the queue react. */
    async finish(key?: string, err?: unknown) {
      const i = key === undefined ? 0 : pending.findIndex((p) => p.key === key);
      const [p] = pending.splice(i, 1);
      if (!p) throw new Error(`nothing running${key ? ` for ${key}` : ''}`);
      if (err) p.reject(err);
      else p.resolve();
      await flush();
    },
    get running() {
      return pending.map((p) => p.key);
    },
  };
}

/** Let every pending promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether a promise has settled by now. */
async function settled(p: Promise<unknown> | undefined): Promise<boolean> {
  let done = false;
  void p?.then(() => {
    done = true;
  });
  await flush();
  return done;
}

describe('running', () => {
  it('never runs more than `concurrency` at once; runs each key once, plus once more if woken while running', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1, maxLength: 20 }),
        fc.scheduler(),
        async (concurrency, keys, s) => {
          let active = 0;
          let peak = 0;
          const runs = new Map<string, number>();
          const q = createProcessingQueue<string>({
            key: (k) => k,
            run: async (k) => {
              active++;
              peak = Math.max(peak, active);
              runs.set(k, (runs.get(k) ?? 0) + 1);
              await s.schedule(Promise.resolve(), k);
              active--;
            },
            onError: () => {},
            concurrency,
            pacing: { lagMs: 500, maxWaitMs: 25 },
          });
          for (const k of keys) q.enqueue(k);
          let idle = false;
          const idleP = q.idle().then(() => {
            idle = true;
          });
          // Nothing settles before the scheduler lets it: the first `concurrency` distinct keys are running, so a
          // later duplicate of one of them asks for a second run; a duplicate of a waiting key is merged.
          const distinct = [...new Set(keys)];
          const first = distinct.slice(0, concurrency);
          const expected = new Map(
            distinct.map((k) => [k, first.includes(k) && keys.lastIndexOf(k) > keys.indexOf(k) ? 2 : 1]),
          );
          for (;;) {
            await flush(); // the queue reacts to a finished run (and may start another)
            if (s.count() === 0) break;
            expect(idle).toBe(false);
            await s.waitOne();
          }
          await idleP;
          expect(peak).toBeLessThanOrEqual(concurrency);
          expect(peak).toBe(Math.min(concurrency, distinct.length));
          expect(Object.fromEntries(runs)).toEqual(Object.fromEntries(expected));
          expect(q.holds('a')).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('starts waiting items in the order they were queued', async () => {
    const w = manualRuns();
    const q = createProcessingQueue<string>({
      key: (k) => k,
      run: w.run,
      onError: () => {},
      concurrency: 2,
      pacing: { lagMs: 500, maxWaitMs: 25 },
    });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.enqueue(k);
    expect(w.started).toEqual(['a', 'b']);
    expect([q.holds('a'), q.holds('e'), q.holds('z')]).toEqual([true, true, false]); // running, waiting, neither
    await w.finish('b');
    await w.finish('a');
    expect(w.started).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a rejected run goes to onError with its item, and the queue carries on', async () => {
    const w = manualRuns();
    const errors: [string, unknown][] = [];
    const q = createProcessingQueue<string>({
      key: (k) => k,
      run: w.run,
      onError: (k, err) => errors.push([k, err]),
      concurrency: 1,
      pacing: { lagMs: 500, maxWaitMs: 25 },
    });
    q.enqueue('a');
    q.enqueue('b');
    const boom = new Error('database gone');
    await w.finish('a', boom);
    expect(errors).toEqual([['a', boom]]);
    expect(w.started).toEqual(['a', 'b']);
    await w.finish('b');
    expect(await settled(q.idle())).toBe(true);
  });
});

describe('idle', () => {
  it('resolves at once when nothing waits or runs, else every waiter once the re-run of a woken item is done', async () => {
    const w = manualRuns();
    const q = createProcessingQueue<string>({
      key: (k) => k,
      run: w.run,
      onError: () => {},
      concurrency: 1,
      pacing: { lagMs: 500, maxWaitMs: 25 },
    });
    expect(await settled(q.idle())).toBe(true);
    q.enqueue('a');
    q.enqueue('a'); // woken while running: runs again
    const waiters = [q.idle(), q.idle()];
    await w.finish('a');
    expect(w.running).toEqual(['a']);
    expect(await settled(Promise.race(waiters))).toBe(false);
    await w.finish('a');
    expect(await settled(Promise.all(waiters))).toBe(true);
    expect(w.started).toEqual(['a', 'a']);
  });
});

describe('acknowledgement pacing', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const paced = (w: ReturnType<typeof manualRuns>, maxWaitMs = 25) =>
    createProcessingQueue<string>({
      key: (k) => k,
      run: w.run,
      onError: () => {},
      concurrency: 1,
      pacing: { lagMs: 500, maxWaitMs },
      clock: () => clock,
    });

  it('answers at once while the oldest waiting item has waited lagMs or less', async () => {
    const w = manualRuns();
    const q = paced(w);
    expect(q.paced()).toBeUndefined(); // nothing waits
    q.enqueue('a'); // running, not waiting
    expect(q.paced()).toBeUndefined();
    q.enqueue('b');
    clock = 500;
    expect(q.paced()).toBeUndefined();
    clock = 501;
    expect(await settled(q.paced())).toBe(false);
  });

  it('one out lets one in (oldest held first) while it trails; catching up releases every held answer', async () => {
    const w = manualRuns();
    const q = paced(w, 60_000);
    for (const k of ['a', 'b', 'c']) q.enqueue(k); // a runs; b and c wait since 0
    clock = 600;
    const held = [q.paced(), q.paced(), q.paced(), q.paced()];
    const released = async () => Promise.all(held.map(settled));
    expect(await released()).toEqual([false, false, false, false]);
    await w.finish(); // b taken, c still waits since 0: trailing, one answer goes
    expect(await released()).toEqual([true, false, false, false]);
    await w.finish(); // c taken: nothing waits, caught up, every answer goes
    expect(await released()).toEqual([true, true, true, true]);
  });

  it('holds an answer at most maxWaitMs, and a timed-out answer no longer counts as held', async () => {
    const w = manualRuns();
    const q = paced(w, 25);
    for (const k of ['a', 'b', 'c']) q.enqueue(k);
    clock = 600;
    const first = q.paced();
    vi.advanceTimersByTime(24);
    expect(await settled(first)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(await settled(first)).toBe(true);
    const second = q.paced();
    await w.finish(); // b taken, still trailing: releases one held answer, which must be `second`
    expect(await settled(second)).toBe(true);
  });

  it('close releases every held answer, drops what waits, refuses new items and lets the running one finish', async () => {
    const w = manualRuns();
    const q = paced(w, 60_000);
    for (const k of ['a', 'b', 'c']) q.enqueue(k);
    clock = 600;
    const held = [q.paced(), q.paced()];
    expect(q.isClosed()).toBe(false);
    q.close();
    expect(q.isClosed()).toBe(true);
    expect(await settled(Promise.all(held))).toBe(true);
    q.enqueue('d');
    q.enqueue('a'); // running: no second run after close
    expect(q.holds('b')).toBe(false);
    const idle = q.idle();
    expect(await settled(idle)).toBe(false);
    await w.finish('a');
    expect(await settled(idle)).toBe(true);
    expect(w.started).toEqual(['a']);
    expect(q.paced()).toBeUndefined();
  });
});
