import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { neutraliseFormula } from '../../server/lib/csv.ts';

describe('CSV cells (one formula guard for partner and payout exports)', () => {
  it('quotes what a spreadsheet would run as a formula', () => {
    for (const cell of ['=HYPERLINK("http://evil")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
      expect(neutraliseFormula(cell)).toBe(`'${cell}`);
    }
  });

  it('keeps plain numbers, negative ones included, as numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.nat({ max: 99 }), (units, cents) => {
        const cell = `${units}.${String(cents).padStart(2, '0')}`;
        expect(neutraliseFormula(cell)).toBe(cell);
      }),
    );
  });
});
