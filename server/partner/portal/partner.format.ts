/**
 * Small pure helpers for what the partner API shows: masked e-mails, decimal amounts for the CSV export,
 * and the human description of the rule that produced a commission.
 */
import { toDecimalString } from '../../commissions/money.ts';
import type { CommissionKind } from '../../db/schema.ts';

/** Minor units as an exact decimal string (`(1999, 'usd')` → `19.99`): money.ts's `toDecimalString`. */
export const formatDecimal = toDecimalString;

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
  const frac = String(Math.abs(rateBps % 100))
    .padStart(2, '0')
    .replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''}%`;
}

export interface CommissionRule {
  kind: CommissionKind;
  /** The merchant's name of the rule that set the amount; null = the program's default rate. */
  name: string | null;
  /** Basis points, or null for a fixed amount. */
  rateBps: number | null;
  /** The sale the rate applied to (minor units), when there is one. */
  base: { amount: number; currency: string } | null;
  /** e.g. `10% of 19.99 USD`, `Spring promo: 20% of 19.99 USD (recurring, month 2)`, `Clawback (refunded sale)`. */
  description: string;
}

/** Describe how a commission was computed from its row (kind, rate in basis points, the sale). */
export function commissionRule(c: {
  kind: CommissionKind;
  rate_bps: number | null;
  amount: number;
  currency: string;
  sale_amount: number | null;
  sale_currency: string | null;
  rule_name?: string | null;
  payment_month?: number | null;
}): CommissionRule {
  const base = c.sale_amount === null ? null : { amount: c.sale_amount, currency: c.sale_currency ?? c.currency };
  let description: string;
  if (c.kind === 'clawback') description = 'Clawback (refunded sale)';
  else if (c.kind === 'lead') description = 'Lead bounty';
  else if (c.rate_bps !== null && base)
    description = `${formatRate(c.rate_bps)} of ${formatDecimal(base.amount, base.currency)} ${base.currency.toUpperCase()}`;
  else description = 'Fixed amount';
  if (c.kind === 'recurring')
    description += c.payment_month ? ` (recurring, month ${c.payment_month})` : ' (recurring)';
  const name = c.rule_name ?? null;
  if (name && c.kind !== 'clawback') description = `${name}: ${description}`;
  return { kind: c.kind, name, rateBps: c.rate_bps, base, description };
}
