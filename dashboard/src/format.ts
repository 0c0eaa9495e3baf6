/**
 * Formatting for people, in the browser's locale: money with `Intl.NumberFormat` in the commission's own
 * currency, counts, rates and dates. Amounts arrive as integer minor units (as Stripe writes them).
 */

/** Stripe's zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal). */
const ZERO_DECIMAL = new Set([
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
/** Stripe's three-decimal currencies (https://docs.stripe.com/currencies#three-decimal). */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

export function locale(): string | undefined {
  return typeof navigator !== 'undefined' ? navigator.language || undefined : undefined;
}

/** Decimal places of the currency's minor unit in Stripe's API. */
export function exponent(currency: string): number {
  const c = currency.toLowerCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

/** Minor units as an exact decimal string: (1999, 'usd') → "19.99", (-5, 'eur') → "-0.05", (1000, 'jpy') → "1000". */
export function toDecimal(amount: number, currency: string): string {
  const exp = exponent(currency);
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(Math.trunc(amount)));
  if (exp === 0) return sign + digits;
  const padded = digits.padStart(exp + 1, '0');
  return `${sign}${padded.slice(0, -exp)}.${padded.slice(-exp)}`;
}

const moneyFormats = new Map<string, Intl.NumberFormat>();
/**
 * `formatMoney(1999, 'usd')` → "$19.99" (en-US), "19,99 $" (fr-FR); `(1000, 'jpy')` → "¥1,000".
 * The decimal string is passed to Intl so no float rounding can change a cent.
 */
export function formatMoney(amount: number, currency: string, loc = locale()): string {
  const key = `${loc}|${currency}`;
  let f = moneyFormats.get(key);
  if (!f) {
    const exp = exponent(currency);
    f = new Intl.NumberFormat(loc, {
      style: 'currency',
      currency: currency.toUpperCase(),
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    });
    moneyFormats.set(key, f);
  }
  // Intl.NumberFormat formats decimal strings exactly (ECMA-402 NumberFormat v3); the type says number only.
  return f.format(toDecimal(amount, currency) as unknown as number);
}

/** Several currencies as one line: "$12.00 · €3.50", or the zero amount of `fallback` when empty. */
export function formatMoneyList(list: { amount: number; currency: string }[], fallback: string): string {
  const nonZero = list.filter((m) => m.amount !== 0);
  if (nonZero.length === 0) return formatMoney(0, fallback);
  return nonZero.map((m) => formatMoney(m.amount, m.currency)).join(' · ');
}

/** Minor units as a number of major units, only for drawing (chart axes), never for display of totals. */
export function toMajor(amount: number, currency: string): number {
  return amount / 10 ** exponent(currency);
}

export function formatCount(n: number, loc = locale()): string {
  return new Intl.NumberFormat(loc).format(n);
}

/** 0.1234 → "12.3%"; null → "—". */
export function formatRate(rate: number | null, loc = locale()): string {
  if (rate === null) return '—';
  return new Intl.NumberFormat(loc, { style: 'percent', maximumFractionDigits: 1 }).format(rate);
}

/** An ISO timestamp as a date: "Mar 4, 2025". */
export function formatDate(iso: string | null, loc = locale()): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(loc, { dateStyle: 'medium' }).format(new Date(iso));
}

/** A "YYYY-MM-DD" day (already local to the chosen time zone) as a short label: "Mar 4". */
export function formatDay(day: string, loc = locale()): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Intl.DateTimeFormat(loc, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(
    Date.UTC(y!, m! - 1, d!),
  );
}

/** Basis points as a percentage: 1000 → "10%", 1250 → "12.5%". */
export function formatBps(bps: number, loc = locale()): string {
  return new Intl.NumberFormat(loc, { style: 'percent', maximumFractionDigits: 2 }).format(bps / 10_000);
}

/** The browser's IANA time zone, or UTC. */
export function timeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** An instant as a date and time to the minute ("Dec 7, 2026, 11:05 PM"), in the browser's time zone. */
export function formatDateTime(iso: string | null, loc = locale()): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}
