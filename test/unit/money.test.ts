/**
 * THE rounding function and the money helpers, table-driven: half-up to the minor unit (half away from zero for
 * negative amounts), exact for any safe integer, zero- and three-decimal currencies.
 */
import { describe, expect, it } from 'vitest';
import { applyRate, currencyExponent, formatMoney, prorate, toDecimalString } from '../../server/commissions/money.ts';

describe('applyRate (amount × bps / 10 000, half-up)', () => {
  it.each([
    [1999, 1000, 200], // 19.99 usd at 10 % = 1.999 → 2.00
    [1000, 1000, 100], // 1000 jpy at 10 % = 100 jpy
    [5, 1000, 1], // 0.5 → 1
    [4, 1000, 0], // 0.4 → 0
    [15, 1000, 2], // 1.5 → 2
    [25, 1000, 3], // 2.5 → 3 (half-up, not banker's)
    [-1999, 1000, -200], // a clawback mirrors its commission
    [-5, 1000, -1],
    [1234567, 0, 0],
    [1234567, 10_000, 1234567],
    [9_007_199_254_740_991, 3333, 3_002_099_511_605_172], // exact beyond float precision
    [1, 4999, 0],
    [1, 5000, 1],
    [333, 3333, 111], // 110.9889 → 111
  ])('applyRate(%i, %i) = %i', (amount, bps, expected) => {
    expect(applyRate(amount, bps)).toBe(expected);
  });

  it('refuses non-integers instead of rounding money twice', () => {
    expect(() => applyRate(19.99, 1000)).toThrow(RangeError);
    expect(() => applyRate(1999, 10.5)).toThrow(RangeError);
  });
});

describe('prorate (amount × part / whole, half-up)', () => {
  it.each([
    [200, 500, 1999, 50], // 200 × 0.2501 = 50.03 → 50
    [200, 1999, 1999, 200],
    [3, 1, 2, 2], // 1.5 → 2
    [-3, 1, 2, -2],
    [100, 0, 1999, 0],
  ])('prorate(%i, %i, %i) = %i', (amount, part, whole, expected) => {
    expect(prorate(amount, part, whole)).toBe(expected);
  });
});

describe('currencies', () => {
  it.each([
    ['usd', 2],
    ['JPY', 0],
    ['krw', 0],
    ['kwd', 3],
    ['eur', 2],
  ])('%s has %i decimals in Stripe amounts', (currency, digits) => {
    expect(currencyExponent(currency)).toBe(digits);
  });

  it.each([
    [1999, 'usd', '19.99'],
    [5, 'usd', '0.05'],
    [-5, 'eur', '-0.05'],
    [1000, 'jpy', '1000'],
    [5124, 'kwd', '5.124'],
    [0, 'usd', '0.00'],
    [123456789012, 'usd', '1234567890.12'],
  ])('toDecimalString(%i, %s) = %s', (amount, currency, text) => {
    expect(toDecimalString(amount, currency)).toBe(text);
  });

  it('formats for people with the currency’s own decimals', () => {
    expect(formatMoney(1999, 'usd')).toBe('$19.99');
    expect(formatMoney(1000, 'jpy')).toBe('¥1,000');
  });
});
