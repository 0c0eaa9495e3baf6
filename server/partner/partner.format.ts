/**
 * Small pure helpers for what the partner API shows: masked e-mails, decimal amounts for the CSV export,
 * and the human description of the rule that produced a commission.
 */
import { ZERO_DECIMAL_CURRENCIES } from '../commissions/money.ts';

/**
 * Currencies Stripe writes with three decimals (amount 1000 bhd-minor = 1.000 BHD).
 * Source: https://docs.stripe.com/currencies#three-decimal
 */
export const THREE_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Decimal places of a currency's minor unit as Stripe counts them (0, 2 or 3). */
export function currencyExponent(currency: string): number {
  const c = currency.toLowerCase();
  if (ZERO_DECIMAL_CURRENCIES.has(c)) return 0;
  if (THREE_DECIMAL_CURRENCIES.has(c)) return 3;
  return 2;
}

/**
 * Minor units as an exact decimal string without grouping, for spreadsheets:
 * `(1999, 'usd')` → `19.99`, `(-5, 'eur')` → `-0.05`, `(1000, 'jpy')` → `1000`. No floats involved.
 */
export function formatDecimal(amount: number, currency: string): string {
  const exp = currencyExponent(currency);
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount));
  if (exp === 0) return sign + digits;
  const padded = digits.padStart(exp + 1, '0');
  return `${sign}${padded.slice(0, -exp)}.${padded.slice(-exp)}`;
}

/**
 * Mask an e-mail so an affiliate can recognise a customer without learning the address:
 * `jane.doe@example.com` → `ja•••@e•••.com`; null stays null.
 */
export function maskEmail(email: string | null | undefined): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  if (at < 1) return '•••';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const tld = dot > 0 ? domain.slice(dot) : '';
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  const keep = local.length > 3 ? 2 : 1;
  return `${local.slice(0, keep)}•••@${host.slice(0, 1)}•••${tld}`;
}

/** Basis points as a percentage for people: 1000 → `10%`, 1250 → `12.5%`, 333 → `3.33%`. */
export function formatRate(rateBps: number): string {
  const whole = Math.trunc(rateBps / 100);
  const frac = String(Math.abs(rateBps % 100)).padStart(2, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''}%`;
}

export interface CommissionRule {
  kind: string;
  /** Basis points, or null for a fixed amount. */
  rateBps: number | null;
  /** The sale the rate applied to (minor units), when there is one. */
  base: { amount: number; currency: string } | null;
  /** e.g. `10% of 19.99 USD`, `10% of 19.99 USD (recurring)`, `Clawback`. */
  description: string;
}

/** Describe how a commission was computed from its row (kind, rate in basis points, the sale). */
export function commissionRule(c: {
  kind: string;
  rate_bps: number | null;
  amount: number;
  currency: string;
  sale_amount: number | null;
  sale_currency: string | null;
}): CommissionRule {
  const base = c.sale_amount === null ? null : { amount: c.sale_amount, currency: c.sale_currency ?? c.currency };
  let description: string;
  if (c.kind === 'clawback') description = 'Clawback (refunded sale)';
  else if (c.kind === 'lead') description = 'Lead bounty';
  else if (c.rate_bps !== null && base) {
    description = `${formatRate(c.rate_bps)} of ${formatDecimal(base.amount, base.currency)} ${base.currency.toUpperCase()}`;
    if (c.kind === 'recurring') description += ' (recurring)';
  } else description = c.kind === 'recurring' ? 'Fixed amount (recurring)' : 'Fixed amount';
  return { kind: c.kind, rateBps: c.rate_bps, base, description };
}
