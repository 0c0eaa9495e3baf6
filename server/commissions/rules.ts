/**
 * The commission rules engine: pure functions, no I/O (the service loads the rules and the facts).
 *
 * A program's rules are tried in ascending `priority` (ties: the order given, i.e. oldest first); the first
 * rule that matches the conversion wins and is recorded on the commission (`rule_id`). When none matches, the
 * program default applies: `default_rate_bps` of every sale payment, nothing for a lead.
 *
 * A rule matches when
 * - its `event` is the conversion's kind (`sale` covers first and recurring payments, `lead` a signup),
 * - its `affiliateId` is null or the conversion's affiliate (per-affiliate override),
 * - its `stripeProductId` / `stripePriceId` are null or among the sale's line items (Stripe product `prod_…` /
 *   price `price_…`), and
 * - a flat rule has an amount for the conversion's currency (flat amounts are per currency).
 *
 * What a matching rule pays:
 * - `percentage`: `applyRate(amount, rateBps)` (half-up, `money.ts`); `flat`: `flatAmounts[currency]`.
 * - recurring policy over the customer's payment month (1 = the month of their first payment):
 *   `first_payment` pays only the customer's first payment; `months` pays payments in months 1..N, then
 *   `rateAfterBps` of later ones when set, else nothing; `lifetime` pays every payment.
 * - then the caps of the currency, when set: at least `minAmounts[currency]`, at most `maxAmounts[currency]`.
 * A matching rule that pays nothing (e.g. past its months) still wins: later rules are not tried.
 * A sale of amount 0 (a trial invoice) earns nothing, whatever the rule.
 *
 * Per line (`evaluatePerLine`): when every line item of a sale carries its own amount (Checkout line items
 * fetched from Stripe), each line is matched on its own product / price, first match wins per line, and lines won
 * by the same rule (or by the program default) are paid together: a percentage of their sum, a flat amount once,
 * the caps on that sum. Line amounts are scaled to the sale amount first (shipping, rounding and discounts outside
 * the lines are shared pro rata), so a one-line sale earns exactly what the whole-sale evaluation gives. Lines
 * without amounts (invoice lines) keep the whole-sale evaluation: a product rule matches when any line has it.
 */
import { applyRate } from './money.ts';

export type RuleEvent = 'sale' | 'lead';
export type RecurringPolicy = 'first_payment' | 'months' | 'lifetime';

/** One rule as the engine sees it. Amount maps are `{ currency: minor units }` (lower-case ISO 4217). */
export interface CommissionRuleSpec {
  id: string;
  priority: number;
  event: RuleEvent;
  affiliateId: string | null;
  stripeProductId: string | null;
  stripePriceId: string | null;
  type: 'percentage' | 'flat';
  /** Basis points, for `percentage`. */
  rateBps: number | null;
  /** Per currency, for `flat`. */
  flatAmounts: Readonly<Record<string, number>> | null;
  minAmounts: Readonly<Record<string, number>>;
  maxAmounts: Readonly<Record<string, number>>;
  recurring: RecurringPolicy;
  /** N, for `months`. */
  recurringMonths: number | null;
  /** Basis points after the first N months (only with `months`); null = nothing after N months. */
  rateAfterBps: number | null;
}

/** A line of the sale (Stripe invoice line / Checkout line item): which product and price were bought. */
export interface SaleLineItem {
  stripeProductId?: string | null;
  stripePriceId?: string | null;
  /** What this line was paid excluding tax, minor units, when known (Checkout line items). */
  amount?: number | null;
}

/** What the engine needs to know about the conversion being commissioned. */
export interface CommissionFacts {
  kind: RuleEvent;
  affiliateId: string;
  /** Minor units paid excluding tax (0 for a lead). */
  amount: number;
  currency: string;
  lineItems: readonly SaleLineItem[];
  /** The customer's payment month, 1-based (see `paymentMonth`). Leads: 1. */
  month: number;
  /** Whether this is the customer's first payment (no earlier sale for the same referral). */
  firstPayment: boolean;
}

export interface CommissionOutcome {
  /** The winning rule, or null for the program default. */
  ruleId: string | null;
  /** Minor units in the conversion's currency, ≥ 0. */
  amount: number;
  /** The rate applied, for percentage outcomes; null for flat amounts. */
  rateBps: number | null;
  /** Why, for the commission history: `rule:<id>`, `program_default`, `recurring_limit:<id>`... */
  reason: string;
  /** True when the lines were matched one by one (`evaluatePerLine`). */
  perLine?: boolean;
  /** The winning rule's amount before its caps (whole-sale evaluation only), minor units: shows when a cap applied. */
  beforeCaps?: number;
}

/** Order rules as the engine tries them: ascending priority, ties in the given order. */
export function sortRules<R extends { priority: number }>(rules: readonly R[]): R[] {
  return rules
    .map((r, i) => [r, i] as const)
    .sort((a, b) => a[0].priority - b[0].priority || a[1] - b[1])
    .map(([r]) => r);
}

function matches(rule: CommissionRuleSpec, facts: CommissionFacts): boolean {
  if (rule.event !== facts.kind) return false;
  if (rule.affiliateId !== null && rule.affiliateId !== facts.affiliateId) return false;
  if (rule.stripeProductId !== null && !facts.lineItems.some((l) => l.stripeProductId === rule.stripeProductId))
    return false;
  if (rule.stripePriceId !== null && !facts.lineItems.some((l) => l.stripePriceId === rule.stripePriceId)) return false;
  if (rule.type === 'flat' && rule.flatAmounts?.[facts.currency] === undefined) return false;
  return true;
}

/** The rate or flat amount a matching rule pays for `facts.amount` in this payment month, before caps; null = nothing. */
function baseAmount(
  rule: CommissionRuleSpec,
  facts: CommissionFacts,
): { amount: number; rateBps: number | null } | null {
  if (facts.kind === 'sale') {
    if (rule.recurring === 'first_payment' && !facts.firstPayment) return null;
    if (rule.recurring === 'months' && facts.month > (rule.recurringMonths ?? 0)) {
      if (rule.rateAfterBps === null) return null;
      return { amount: applyRate(facts.amount, rule.rateAfterBps), rateBps: rule.rateAfterBps };
    }
  }
  if (rule.type === 'flat') return { amount: rule.flatAmounts![facts.currency]!, rateBps: null };
  return { amount: applyRate(facts.amount, rule.rateBps ?? 0), rateBps: rule.rateBps };
}

/** Clamp to the currency's caps (min first, then max: a max below the min wins, as the merchant's ceiling). */
export function applyCaps(
  amount: number,
  currency: string,
  caps: { minAmounts: Readonly<Record<string, number>>; maxAmounts: Readonly<Record<string, number>> },
): number {
  let out = amount;
  const min = caps.minAmounts[currency];
  const max = caps.maxAmounts[currency];
  if (min !== undefined && out < min) out = min;
  if (max !== undefined && out > max) out = max;
  return out;
}

/**
 * Evaluate `rules` for one conversion: first match wins (see the module comment for the semantics).
 * @param rules the program's active rules, any order (sorted here by priority)
 * @param defaultRateBps the program's default rate, basis points
 * @returns the winning rule (or null = program default), the amount in minor units (≥ 0) and why
 */
export function evaluateCommission(
  rules: readonly CommissionRuleSpec[],
  defaultRateBps: number,
  facts: CommissionFacts,
): CommissionOutcome {
  if (facts.kind === 'sale' && facts.amount <= 0)
    return { ruleId: null, amount: 0, rateBps: null, reason: 'zero_amount' };
  const lines = facts.lineItems;
  if (
    facts.kind === 'sale' &&
    lines.length > 0 &&
    lines.every((l) => Number.isSafeInteger(l.amount) && (l.amount as number) >= 0) &&
    lines.some((l) => (l.amount as number) > 0)
  ) {
    return evaluatePerLine(rules, defaultRateBps, facts);
  }
  for (const rule of sortRules(rules)) {
    if (!matches(rule, facts)) continue;
    const base = baseAmount(rule, facts);
    if (!base) return { ruleId: rule.id, amount: 0, rateBps: null, reason: `recurring_limit:${rule.id}` };
    return {
      ruleId: rule.id,
      amount: Math.max(0, applyCaps(base.amount, facts.currency, rule)),
      rateBps: base.rateBps,
      reason: `rule:${rule.id}`,
      beforeCaps: base.amount,
    };
  }
  if (facts.kind === 'lead') return { ruleId: null, amount: 0, rateBps: null, reason: 'no_lead_rule' };
  return {
    ruleId: null,
    amount: applyRate(facts.amount, defaultRateBps),
    rateBps: defaultRateBps,
    reason: 'program_default',
  };
}

/**
 * Split `total` over `weights` pro rata, in whole minor units summing exactly to `total` (largest remainder;
 * ties to the earlier weight). Weights are non-negative integers with a positive sum.
 */
export function splitProRata(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((s, w) => s + BigInt(w), 0n);
  const T = BigInt(total);
  const parts = weights.map((w) => (T * BigInt(w)) / sum);
  const rems = weights.map((w, i) => ({ i, r: (T * BigInt(w)) % sum }));
  let left = T - parts.reduce((s, p) => s + p, 0n);
  rems.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of rems) {
    if (left <= 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/**
 * Evaluate a sale line by line (see the module comment): each line's first matching rule, lines grouped by that
 * rule, each group paid on its sum. The outcome's `ruleId` is the group with the largest share of the sale (ties:
 * the earlier rule; the program default last); `rateBps` is set only when one group took the whole sale.
 * @param facts a sale whose every line item has an `amount` (minor units, excluding tax)
 */
export function evaluatePerLine(
  rules: readonly CommissionRuleSpec[],
  defaultRateBps: number,
  facts: CommissionFacts,
): CommissionOutcome {
  const sorted = sortRules(rules);
  const amounts = splitProRata(
    facts.amount,
    facts.lineItems.map((l) => l.amount ?? 0),
  );
  // Group index in `sorted` order; -1 = the program default.
  const groups = new Map<number, number>();
  facts.lineItems.forEach((line, i) => {
    const share = amounts[i]!;
    const at = sorted.findIndex((r) => matches(r, { ...facts, amount: share, lineItems: [line] }));
    groups.set(at, (groups.get(at) ?? 0) + share);
  });
  let total = 0;
  const parts: string[] = [];
  let lead: { index: number; share: number; rateBps: number | null } | null = null;
  for (const [index, share] of [...groups.entries()].sort((a, b) => (a[0] < 0 ? 1 : b[0] < 0 ? -1 : a[0] - b[0]))) {
    const rule = index >= 0 ? sorted[index]! : null;
    let amount = 0;
    let rateBps: number | null = null;
    let label: string;
    if (!rule) {
      amount = applyRate(share, defaultRateBps);
      rateBps = defaultRateBps;
      label = 'program_default';
    } else {
      const base = baseAmount(rule, { ...facts, amount: share });
      label = base ? `rule:${rule.id}` : `recurring_limit:${rule.id}`;
      if (base) {
        amount = Math.max(0, applyCaps(base.amount, facts.currency, rule));
        rateBps = base.rateBps;
      }
    }
    total += amount;
    parts.push(`${label}=${amount}/${share}`);
    if (!lead || share > lead.share) lead = { index, share, rateBps };
  }
  const single = groups.size === 1;
  const leadRule = lead && lead.index >= 0 ? sorted[lead.index]! : null;
  return {
    ruleId: leadRule?.id ?? null,
    amount: total,
    rateBps: single ? (lead?.rateBps ?? null) : null,
    reason: `lines ${parts.join(' ')}`,
    perLine: true,
  };
}

function daysInMonthUtc(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

/**
 * The customer's payment month of a payment at `paidAt`, counted from their first payment at `firstPaidAt`:
 * 1 + the whole calendar months elapsed (UTC dates; time of day ignored). A monthly renewal on the same day
 * of the month starts a new month; when that day does not exist (first paid on the 31st, renewed on
 * 30 April or 28 February), the month's last day counts, as Stripe bills on the last day then.
 * A late payment (dunning retry) stays in the month it belongs to.
 *
 * | first paid | paid | month |
 * |---|---|---|
 * | 2024-01-15 | 2024-01-20 | 1 |
 * | 2024-01-15 | 2024-02-15 | 2 |
 * | 2024-01-15 | 2024-02-14 | 1 |
 * | 2024-01-31 | 2024-02-29 | 2 |
 * | 2024-01-15 | 2025-01-15 | 13 |
 *
 * @returns an integer ≥ 1 (a payment dated before the first counts as month 1)
 */
export function paymentMonth(firstPaidAt: Date, paidAt: Date): number {
  const y1 = firstPaidAt.getUTCFullYear();
  const m1 = firstPaidAt.getUTCMonth();
  const d1 = firstPaidAt.getUTCDate();
  const y2 = paidAt.getUTCFullYear();
  const m2 = paidAt.getUTCMonth();
  const d2 = paidAt.getUTCDate();
  let months = (y2 - y1) * 12 + (m2 - m1);
  // The anniversary of this month: the same day, or the last day when the month is shorter.
  const anniversary = Math.min(d1, daysInMonthUtc(y2, m2));
  if (d2 < anniversary) months -= 1;
  return Math.max(1, months + 1);
}
