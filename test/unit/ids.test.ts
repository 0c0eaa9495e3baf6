/** Time-ordered ids: unguessable, valid Stripe client_reference_id values, and sorted by creation time as text. */
import { expect, it } from 'vitest';
import { newTimeOrderedId } from '../../server/lib/ids.ts';
import { REFERRAL_ID } from '../../server/tracking/tracking.service.ts';

it('sorts as text in creation order, across the alphabet boundaries, and stays a valid referral id', () => {
  const times = [0, 63, 64, 4095, 4096, Date.UTC(2026, 10, 29), Date.UTC(2026, 10, 29) + 1, Date.UTC(2100, 0, 1)];
  const ids = times.map((t) => newTimeOrderedId('ref', t));
  // Byte order, as PostgreSQL compares text under collation C (the embedded cluster's).
  const sorted = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  expect(sorted).toEqual(ids);
  for (const id of ids) expect(id).toMatch(REFERRAL_ID);
  expect(new Set(Array.from({ length: 1000 }, () => newTimeOrderedId('ref', 5))).size).toBe(1000);
});
