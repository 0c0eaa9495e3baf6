/**
 * The bounded per-key limiter: the same answers as rate-limiter-flexible's memory limiter (points per duration,
 * blocks, get / penalty / delete), and a key count that never passes `maxKeys`, while a key that keeps sending
 * keeps its count.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { BoundedRateLimiter } from '../../server/lib/bounded-rate-limiter.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-11-29T12:00:00Z'));
});
afterEach(() => vi.useRealTimers());

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (r: unknown) => r,
  );

it('allows `points` per duration per key, then refuses with the time left, and starts again when the duration ends', async () => {
  const limiter = new BoundedRateLimiter({ points: 3, duration: 60, maxKeys: 100 });
  const first = await limiter.consume('10.0.0.1');
  expect(first).toMatchObject({ consumedPoints: 1, remainingPoints: 2, isFirstInDuration: true, msBeforeNext: 60_000 });
  await limiter.consume('10.0.0.1');
  vi.setSystemTime(new Date('2026-11-29T12:00:20Z'));
  expect(await limiter.consume('10.0.0.1')).toMatchObject({
    consumedPoints: 3,
    remainingPoints: 0,
    isFirstInDuration: false,
  });
  const refused = await rejection(limiter.consume('10.0.0.1'));
  expect(refused).toBeInstanceOf(RateLimiterRes);
  expect(refused).toMatchObject({ consumedPoints: 4, remainingPoints: 0, msBeforeNext: 40_000 });
  // Another key has its own count.
  expect(await limiter.consume('10.0.0.2')).toMatchObject({ consumedPoints: 1 });

  vi.setSystemTime(new Date('2026-11-29T12:01:00.001Z'));
  expect(await limiter.consume('10.0.0.1')).toMatchObject({
    consumedPoints: 1,
    isFirstInDuration: true,
    msBeforeNext: 60_000,
  });
});

it('blocks a key that went over for blockDuration', async () => {
  const limiter = new BoundedRateLimiter({ points: 1, duration: 10, blockDuration: 300, maxKeys: 100 });
  await limiter.consume('k');
  expect(await rejection(limiter.consume('k'))).toMatchObject({ msBeforeNext: 300_000 });
  vi.setSystemTime(new Date('2026-11-29T12:00:30Z')); // the 10 s count is over, the block is not
  expect(await rejection(limiter.consume('k'))).toMatchObject({ msBeforeNext: 270_000 });
  vi.setSystemTime(new Date('2026-11-29T12:05:01Z'));
  expect(await limiter.consume('k')).toMatchObject({ consumedPoints: 1 });
});

it('reads, penalises and forgets a key as the partner login does', async () => {
  const limiter = new BoundedRateLimiter({ points: 2, duration: 900, maxKeys: 100 });
  expect(await limiter.get('a@b.test|10.0.0.1')).toBeNull();
  await limiter.penalty('a@b.test|10.0.0.1', 1);
  await limiter.penalty('a@b.test|10.0.0.1', 1);
  expect(await limiter.get('a@b.test|10.0.0.1')).toMatchObject({
    remainingPoints: 0,
    consumedPoints: 2,
    msBeforeNext: 900_000,
  });
  expect(await limiter.delete('a@b.test|10.0.0.1')).toBe(true);
  expect(await limiter.get('a@b.test|10.0.0.1')).toBeNull();
  expect(await limiter.delete('a@b.test|10.0.0.1')).toBe(false);
});

it('never holds more than maxKeys keys, and a key that keeps sending through a flood of new ones is still limited', async () => {
  const limiter = new BoundedRateLimiter({ points: 60, duration: 60, maxKeys: 1000 });
  let refusedAt = -1;
  for (let i = 0; i < 100_000 && refusedAt < 0; i++) {
    await limiter.consume(`2001:db8::${i.toString(16)}`);
    // The abuser sends one click per 50 distinct visitors: 1,000 keys cover its last 20 clicks' worth of traffic.
    if (i % 50 === 0 && (await rejection(limiter.consume('203.0.113.7'))) !== null) refusedAt = i / 50;
    expect(limiter.size).toBeLessThanOrEqual(1000);
  }
  expect(refusedAt).toBe(60);
  // Visitors seen long ago were forgotten: the first one starts a new count.
  expect(await limiter.consume('2001:db8::0')).toMatchObject({ consumedPoints: 1 });
});
