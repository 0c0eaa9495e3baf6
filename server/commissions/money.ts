/**
 * Money arithmetic. Amounts are integer minor units of an ISO 4217 currency (lower case, as Stripe writes
 * them); rates are basis points (1 bp = 0.01 %, 10 % = 1000 bp).
 */

/**
 * Currencies without a minor unit in Stripe's API (amount 1000 jpy = ¥1000).
 * Source: https://docs.stripe.com/currencies#zero-decimal
 */
export const ZERO_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/**
 * The one rounding function for commissions: `amount × rateBps / 10 000`, rounded half-up to the minor
 * unit (half away from zero for negative amounts, so a clawback mirrors its commission exactly).
 * Exact for any safe integer: computed with BigInt, never with floats.
 *
 * | amount | rateBps | result |
 * |---|---|---|
 * | 1999 (19.99 usd) | 1000 | 200 (199.9 → 200) |
 * | 1000 (1000 jpy) | 1000 | 100 |
 * | 5 | 1000 | 1 (0.5 → 1) |
 * | 4 | 1000 | 0 (0.4 → 0) |
 * | -1999 | 1000 | -200 |
 *
 * @param amount integer minor units (may be negative)
 * @param rateBps integer basis points, 0..10 000
 * @returns integer minor units
 * @throws RangeError when an argument is not a safe integer
 */
export function applyRate(amount: number, rateBps: number): number {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`amount must be an integer, got ${amount}`);
  if (!Number.isSafeInteger(rateBps)) throw new RangeError(`rateBps must be an integer, got ${rateBps}`);
  const product = BigInt(amount) * BigInt(rateBps);
  const sign = product < 0n ? -1n : 1n;
  const rounded = ((sign * product + 5000n) / 10000n) * sign;
  return Number(rounded);
}

/**
 * Scale `amount` by `part / whole`, rounded half-up (used for pro-rata refunds).
 * @throws RangeError when `whole` is not positive
 */
export function prorate(amount: number, part: number, whole: number): number {
  if (whole <= 0) throw new RangeError('whole must be positive');
  const product = BigInt(amount) * BigInt(part);
  const sign = product < 0n ? -1n : 1n;
  const w = BigInt(whole);
  return Number(((sign * product * 2n + w) / (2n * w)) * sign);
}

/**
 * Currencies with three decimals in Stripe's API (amount 5124 kwd = 5.124 KWD).
 * Source: https://docs.stripe.com/currencies#three-decimal
 */
export const THREE_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** How many decimals a minor unit of `currency` has in Stripe's API: 0, 2 or 3. */
export function currencyExponent(currency: string): number {
  const c = currency.toLowerCase();
  if (ZERO_DECIMAL_CURRENCIES.has(c)) return 0;
  if (THREE_DECIMAL_CURRENCIES.has(c)) return 3;
  return 2;
}

/**
 * Minor units as a plain decimal string in major units, exact (no floats), for payment files:
 * `toDecimalString(1999, 'usd')` → `"19.99"`, `(1000, 'jpy')` → `"1000"`, `(-5, 'eur')` → `"-0.05"`.
 * @throws RangeError when `amount` is not a safe integer
 */
export function toDecimalString(amount: number, currency: string): string {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`amount must be an integer, got ${amount}`);
  const digits = currencyExponent(currency);
  const sign = amount < 0 ? '-' : '';
  const abs = String(Math.abs(amount));
  if (digits === 0) return sign + abs;
  const padded = abs.padStart(digits + 1, '0');
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/** Format minor units for people, e.g. `formatMoney(1999, 'usd')` → `$19.99`, `(1000, 'jpy')` → `¥1,000`. */
export function formatMoney(amount: number, currency: string, locale = 'en-US'): string {
  const digits = currencyExponent(currency);
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(amount / 10 ** digits);
}
