// @vitest-environment happy-dom
/** Money, counts and dates as the dashboard shows them (Intl.NumberFormat in the commission's currency). */
import { describe, expect, it } from 'vitest';
import {
  formatBps,
  formatDay,
  formatMoney,
  formatMoneyList,
  formatRate,
  toDecimal,
} from '../../dashboard/src/format.ts';

describe('formatMoney', () => {
  it.each([
    [1999, 'usd', 'en-US', '$19.99'],
    [5, 'usd', 'en-US', '$0.05'],
    [-200, 'usd', 'en-US', '-$2.00'],
    [1000, 'jpy', 'en-US', '¥1,000'],
    [5124, 'kwd', 'en-US', 'KWD 5.124'],
    [123456, 'eur', 'de-DE', '1.234,56 €'],
    [123456, 'eur', 'fr-FR', '1 234,56 €'],
    [10_000_000_00, 'gbp', 'en-GB', '£10,000,000.00'],
  ])('%i %s in %s → %s', (amount, currency, locale, expected) => {
    // Intl inserts narrow no-break spaces in some locales; compare with plain spaces.
    expect(formatMoney(amount, currency, locale).replace(/[\u202f\u00a0]/g, ' ')).toBe(expected);
  });

  it('keeps every cent of amounts beyond float precision', () => {
    expect(toDecimal(900_719_925_474_099_1, 'usd')).toBe('90071992547409.91');
    expect(formatMoney(900_719_925_474_099_1, 'usd', 'en-US')).toBe('$90,071,992,547,409.91');
  });

  it('joins several currencies and shows zero in the program currency when there is nothing', () => {
    expect(
      formatMoneyList(
        [
          { amount: 6200, currency: 'usd' },
          { amount: 500, currency: 'eur' },
        ],
        'usd',
      ),
    ).toMatch(/^\$62\.00 · €5\.00$/);
    expect(formatMoneyList([{ amount: 0, currency: 'eur' }], 'usd')).toBe('$0.00');
  });
});

describe('other formats', () => {
  it('formats rates, basis points and days', () => {
    expect(formatRate(0.75, 'en-US')).toBe('75%');
    expect(formatRate(2 / 3, 'en-US')).toBe('66.7%');
    expect(formatRate(null, 'en-US')).toBe('—');
    expect(formatBps(1000, 'en-US')).toBe('10%');
    expect(formatBps(1250, 'en-US')).toBe('12.5%');
    // A day stays the day it names, whatever the browser's zone.
    expect(formatDay('2025-03-04', 'en-US')).toBe('Mar 4');
  });
});
