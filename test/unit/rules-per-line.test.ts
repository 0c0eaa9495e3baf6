/**
 * The per-line evaluation of commission rules (`rules.evaluatePerLine`) and its pro rata split, as properties:
 * parts sum to the whole, a one-line sale earns what the whole-sale evaluation gives, and lines of rules that
 * match nothing fall to the program default.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateCommission, splitProRata, type CommissionRuleSpec } from '../../server/commissions/rules.ts';
import { applyRate } from '../../server/commissions/money.ts';

const rule = (over: Partial<CommissionRuleSpec>): CommissionRuleSpec => ({
  id: 'r',
  priority: 100,
  event: 'sale',
  affiliateId: null,
  stripeProductId: null,
  stripePriceId: null,
  type: 'percentage',
  rateBps: 5_000,
  flatAmounts: null,
  minAmounts: {},
  maxAmounts: {},
  recurring: 'lifetime',
  recurringMonths: null,
  rateAfterBps: null,
  ...over,
});
const facts = (amount: number, lineItems: { stripePriceId?: string; amount?: number }[]) => ({
  kind: 'sale' as const,
  affiliateId: 'aff',
  amount,
  currency: 'usd',
  lineItems,
  month: 1,
  firstPayment: true,
});

describe('splitProRata', () => {
  it('parts are whole, sum to the total, and each is within one unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 8 }),
        (total, weights) => {
          fc.pre(weights.some((w) => w > 0));
          const parts = splitProRata(total, weights);
          const sum = weights.reduce((a, b) => a + b, 0);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
          parts.forEach((p, i) => {
            expect(Number.isInteger(p)).toBe(true);
            expect(Math.abs(p - (total * weights[i]!) / sum)).toBeLessThan(1);
          });
        },
      ),
    );
  });
});

describe('evaluatePerLine', () => {
  const rules = [rule({ id: 'gold', priority: 10, stripePriceId: 'price_gold' })];

  it('a one-line sale earns what the whole-sale evaluation gives, whatever the line amount says', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.boolean(),
        (amount, lineAmount, gold) => {
          const price = gold ? 'price_gold' : 'price_other';
          const perLine = evaluateCommission(
            rules,
            1_000,
            facts(amount, [{ stripePriceId: price, amount: lineAmount }]),
          );
          const whole = evaluateCommission(rules, 1_000, facts(amount, [{ stripePriceId: price }]));
          expect(perLine).toMatchObject({ amount: whole.amount, ruleId: whole.ruleId, rateBps: whole.rateBps });
        },
      ),
    );
  });

  it('pays each rule on its own lines and the default on the rest; a flat rule once per sale', () => {
    const out = evaluateCommission(
      [
        ...rules,
        rule({
          id: 'flat',
          priority: 20,
          type: 'flat',
          rateBps: null,
          flatAmounts: { usd: 700 },
          stripePriceId: 'price_kit',
        }),
      ],
      1_000,
      facts(10_000, [
        { stripePriceId: 'price_gold', amount: 6_000 },
        { stripePriceId: 'price_kit', amount: 1_000 },
        { stripePriceId: 'price_kit', amount: 1_000 },
        { stripePriceId: 'price_other', amount: 2_000 },
      ]),
    );
    expect(out).toMatchObject({
      amount: applyRate(6_000, 5_000) + 700 + applyRate(2_000, 1_000),
      ruleId: 'gold',
      rateBps: null,
      perLine: true,
    });
  });
});
