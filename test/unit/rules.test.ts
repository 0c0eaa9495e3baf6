/**
 * The rules engine, table-driven: priority and first match, percentage and flat (per currency), caps, recurring
 * policies over payment months, product and price rules, per-affiliate overrides, lead bounties, zero-decimal
 * currencies; and the payment-month count.
 */
import { describe, expect, it } from 'vitest';
import {
  evaluateCommission,
  paymentMonth,
  type CommissionFacts,
  type CommissionRuleSpec,
} from '../../server/commissions/rules.ts';

const rule = (id: string, over: Partial<CommissionRuleSpec> = {}): CommissionRuleSpec => ({
  id,
  priority: 100,
  event: 'sale',
  affiliateId: null,
  stripeProductId: null,
  stripePriceId: null,
  type: 'percentage',
  rateBps: 2000,
  flatAmounts: null,
  minAmounts: {},
  maxAmounts: {},
  recurring: 'lifetime',
  recurringMonths: null,
  rateAfterBps: null,
  ...over,
});

const sale = (over: Partial<CommissionFacts> = {}): CommissionFacts => ({
  kind: 'sale',
  affiliateId: 'aff_1',
  amount: 10_000,
  currency: 'usd',
  lineItems: [],
  month: 1,
  firstPayment: true,
  ...over,
});

const DEFAULT_BPS = 1000;

describe('evaluateCommission', () => {
  const cases: {
    name: string;
    rules: CommissionRuleSpec[];
    facts: CommissionFacts;
    amount: number;
    ruleId: string | null;
    rateBps?: number | null;
  }[] = [
    {
      name: 'no rule: the program default rate',
      rules: [],
      facts: sale({ amount: 1999 }),
      amount: 200,
      ruleId: null,
      rateBps: 1000,
    },
    { name: 'percentage rule', rules: [rule('r20')], facts: sale(), amount: 2000, ruleId: 'r20', rateBps: 2000 },
    {
      name: 'percentage rounds half-up',
      rules: [rule('r15', { rateBps: 1500 })],
      facts: sale({ amount: 1999 }),
      amount: 300,
      ruleId: 'r15',
    },
    {
      name: 'flat amount in the sale currency',
      rules: [rule('flat', { type: 'flat', rateBps: null, flatAmounts: { usd: 2500, eur: 2300 } })],
      facts: sale(),
      amount: 2500,
      ruleId: 'flat',
      rateBps: null,
    },
    {
      name: 'flat rule without this currency does not match: the next rule does',
      rules: [
        rule('flat', { priority: 1, type: 'flat', rateBps: null, flatAmounts: { eur: 2300 } }),
        rule('pct', { priority: 2 }),
      ],
      facts: sale(),
      amount: 2000,
      ruleId: 'pct',
    },
    {
      name: 'min cap lifts a small commission',
      rules: [rule('min', { minAmounts: { usd: 500 } })],
      facts: sale({ amount: 1000 }),
      amount: 500,
      ruleId: 'min',
    },
    {
      name: 'max cap limits a large commission',
      rules: [rule('max', { maxAmounts: { usd: 5000 } })],
      facts: sale({ amount: 100_000 }),
      amount: 5000,
      ruleId: 'max',
    },
    {
      name: 'caps of another currency do not apply',
      rules: [rule('max', { maxAmounts: { eur: 1 } })],
      facts: sale(),
      amount: 2000,
      ruleId: 'max',
    },
    {
      name: 'lower priority number wins',
      rules: [rule('late', { priority: 50, rateBps: 5000 }), rule('early', { priority: 10, rateBps: 3000 })],
      facts: sale(),
      amount: 3000,
      ruleId: 'early',
    },
    {
      name: 'equal priority: the first given (oldest) wins',
      rules: [rule('first', { rateBps: 3000 }), rule('second', { rateBps: 4000 })],
      facts: sale(),
      amount: 3000,
      ruleId: 'first',
    },
    {
      name: 'per-affiliate override matches only that affiliate',
      rules: [rule('vip', { priority: 1, affiliateId: 'aff_vip', rateBps: 5000 }), rule('all', { priority: 2 })],
      facts: sale({ affiliateId: 'aff_1' }),
      amount: 2000,
      ruleId: 'all',
    },
    {
      name: 'per-affiliate override for its affiliate',
      rules: [rule('vip', { priority: 1, affiliateId: 'aff_vip', rateBps: 5000 }), rule('all', { priority: 2 })],
      facts: sale({ affiliateId: 'aff_vip' }),
      amount: 5000,
      ruleId: 'vip',
    },
    {
      name: 'product rule matches a line item of that product',
      rules: [rule('pro', { priority: 1, stripeProductId: 'prod_pro', rateBps: 3000 })],
      facts: sale({
        lineItems: [{ stripeProductId: 'prod_basic' }, { stripeProductId: 'prod_pro', stripePriceId: 'price_pro_m' }],
      }),
      amount: 3000,
      ruleId: 'pro',
    },
    {
      name: 'product rule without that product falls through to the default',
      rules: [rule('pro', { stripeProductId: 'prod_pro', rateBps: 3000 })],
      facts: sale({ lineItems: [{ stripeProductId: 'prod_basic' }] }),
      amount: 1000,
      ruleId: null,
    },
    {
      name: 'price rule matches the price',
      rules: [
        rule('annual', { stripePriceId: 'price_annual', type: 'flat', rateBps: null, flatAmounts: { usd: 9900 } }),
      ],
      facts: sale({ lineItems: [{ stripeProductId: 'prod_pro', stripePriceId: 'price_annual' }] }),
      amount: 9900,
      ruleId: 'annual',
    },
    {
      name: 'first payment only: the first payment earns',
      rules: [rule('once', { recurring: 'first_payment' })],
      facts: sale(),
      amount: 2000,
      ruleId: 'once',
    },
    {
      name: 'first payment only: a renewal earns nothing, and no later rule is tried',
      rules: [rule('once', { priority: 1, recurring: 'first_payment' }), rule('fallback', { priority: 2 })],
      facts: sale({ month: 2, firstPayment: false }),
      amount: 0,
      ruleId: 'once',
    },
    {
      name: 'first 12 months: month 12 earns',
      rules: [rule('year', { recurring: 'months', recurringMonths: 12 })],
      facts: sale({ month: 12, firstPayment: false }),
      amount: 2000,
      ruleId: 'year',
    },
    {
      name: 'first 12 months: month 13 earns nothing',
      rules: [rule('year', { recurring: 'months', recurringMonths: 12 })],
      facts: sale({ month: 13, firstPayment: false }),
      amount: 0,
      ruleId: 'year',
    },
    {
      name: 'first 3 months at 30 %, then 10 %',
      rules: [rule('step', { rateBps: 3000, recurring: 'months', recurringMonths: 3, rateAfterBps: 1000 })],
      facts: sale({ month: 4, firstPayment: false }),
      amount: 1000,
      ruleId: 'step',
      rateBps: 1000,
    },
    {
      name: 'caps apply to the rate after N months too',
      rules: [
        rule('step', {
          rateBps: 3000,
          recurring: 'months',
          recurringMonths: 3,
          rateAfterBps: 1000,
          minAmounts: { usd: 1500 },
        }),
      ],
      facts: sale({ month: 4, firstPayment: false }),
      amount: 1500,
      ruleId: 'step',
    },
    {
      name: 'lifetime: month 60 earns',
      rules: [rule('life')],
      facts: sale({ month: 60, firstPayment: false }),
      amount: 2000,
      ruleId: 'life',
    },
    {
      name: 'a zero sale (trial invoice) earns nothing, even with a min cap',
      rules: [rule('min', { minAmounts: { usd: 500 } })],
      facts: sale({ amount: 0 }),
      amount: 0,
      ruleId: null,
    },
    {
      name: 'lead bounty: flat amount for a signup',
      rules: [rule('sale20'), rule('lead', { event: 'lead', type: 'flat', rateBps: null, flatAmounts: { usd: 300 } })],
      facts: sale({ kind: 'lead', amount: 0 }),
      amount: 300,
      ruleId: 'lead',
    },
    {
      name: 'lead without a lead rule earns nothing (sale rules do not apply)',
      rules: [rule('sale20')],
      facts: sale({ kind: 'lead', amount: 0 }),
      amount: 0,
      ruleId: null,
    },
    {
      name: 'sale rules ignore leads and lead rules ignore sales',
      rules: [rule('lead', { priority: 1, event: 'lead', type: 'flat', rateBps: null, flatAmounts: { usd: 300 } })],
      facts: sale(),
      amount: 1000,
      ruleId: null,
    },
    {
      name: 'zero-decimal currency: 1000 jpy at the 10 % default = 100 jpy',
      rules: [],
      facts: sale({ amount: 1000, currency: 'jpy' }),
      amount: 100,
      ruleId: null,
    },
    {
      name: 'zero-decimal currency: 1999 jpy at 10 % = 200 jpy (half-up on whole yen)',
      rules: [],
      facts: sale({ amount: 1995, currency: 'jpy' }),
      amount: 200,
      ruleId: null,
    },
    {
      name: 'zero-decimal currency: flat and max in whole yen',
      rules: [rule('jp', { maxAmounts: { jpy: 800 }, rateBps: 2000 })],
      facts: sale({ amount: 5000, currency: 'jpy' }),
      amount: 800,
      ruleId: 'jp',
    },
  ];

  it.each(cases)('$name', ({ rules, facts, amount, ruleId, rateBps }) => {
    const out = evaluateCommission(rules, DEFAULT_BPS, facts);
    expect(out.amount).toBe(amount);
    expect(out.ruleId).toBe(ruleId);
    if (rateBps !== undefined) expect(out.rateBps).toBe(rateBps);
  });
});

describe('paymentMonth', () => {
  it.each([
    ['2024-01-15T10:00:00Z', '2024-01-15T10:00:00Z', 1],
    ['2024-01-15T10:00:00Z', '2024-01-20T00:00:00Z', 1],
    ['2024-01-15T10:00:00Z', '2024-02-14T23:59:59Z', 1],
    ['2024-01-15T10:00:00Z', '2024-02-15T09:00:00Z', 2], // same day, earlier hour: still the anniversary
    ['2024-01-15T10:00:00Z', '2024-03-05T00:00:00Z', 2], // a late (dunning) payment stays in its month
    ['2024-01-31T00:00:00Z', '2024-02-29T00:00:00Z', 2], // the 31st bills on the last day of shorter months
    ['2024-01-31T00:00:00Z', '2024-04-30T00:00:00Z', 4],
    ['2024-01-15T00:00:00Z', '2025-01-15T00:00:00Z', 13], // annual renewal: month 13
    ['2023-12-15T00:00:00Z', '2024-01-15T00:00:00Z', 2], // across a year end
    ['2024-02-15T00:00:00Z', '2024-01-15T00:00:00Z', 1], // out of order: never below 1
  ])('first paid %s, paid %s → month %i', (first, paid, month) => {
    expect(paymentMonth(new Date(first), new Date(paid))).toBe(month);
  });
});
