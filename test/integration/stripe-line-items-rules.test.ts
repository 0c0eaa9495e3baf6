/**
 * Per-product / per-price commission rules on Checkout sales. Checkout webhooks never carry `line_items`: with the
 * program's restricted key the session's line items are read from Stripe (a loopback fake of its API, serving
 * Stripe's own `item` fixture objects) and the rules apply per line; without a key the sale is commissioned
 * without them and the commission says so (`ruleReason: line_items_unavailable`) in the admin API.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutSession, freshId, loadResource, type PayloadShape } from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { applyRate } from '../../server/commissions/money.ts';

const KEY = 'rk_test_partnerkitLineItems0001';
const GOLD = 'price_test_gold_monthly';
const GOLD_PRODUCT = 'prod_test_gold';
let fake: FakeStripeApi;
let keyed: StripeTestContext;
let keyless: StripeTestContext;

/** A 50 % rule on the gold price, through the admin API. */
async function goldRule(ctx: StripeTestContext) {
  const res = await ctx.admin.post('/api/v1/commission-rules', {
    name: 'Gold plan pays half',
    priority: 10,
    type: 'percentage',
    rateBps: 5_000,
    stripePriceId: GOLD,
  });
  expect(res.status).toBe(201);
  return res.body.rule?.id ?? res.body.id;
}

beforeAll(async () => {
  fake = await startFakeStripeApi();
  keyed = await stripeTestContext({ secret: 'whsec_test_line_items_keyed', stripeEndpoint: fake.endpoint });
  await keyed.app.services.stripeSettings.setApiKey(keyed.program.id, KEY);
  keyless = await stripeTestContext({ secret: 'whsec_test_line_items_keyless' });
  await goldRule(keyed);
  await goldRule(keyless);
});
afterAll(async () => {
  await keyed?.app.stop();
  await keyless?.app.stop();
  await fake?.close();
});

/** A Checkout line item from Stripe's `item` fixture: `price` (and its product), paid `total` with `tax` in it. */
function item(price: string, product: string, total: number, tax = 0) {
  const it = loadResource('item');
  it.id = freshId('li');
  it.price.id = price;
  it.price.product = product;
  it.amount_subtotal = total - tax;
  it.amount_total = total;
  it.amount_tax = tax;
  it.amount_discount = 0;
  return it;
}

/** The commissions of an affiliate as the admin API shows them. */
async function adminCommissions(ctx: StripeTestContext, affiliateId: string) {
  const res = await ctx.admin.get(`/api/v1/commissions?affiliateId=${affiliateId}`);
  expect(res.status).toBe(200);
  return res.body.data as any[];
}

describe.each<PayloadShape>(['legacy', 'basil'])('Checkout sales and price rules (%s payload)', (shape) => {
  it('with a restricted key: the 50 % price rule pays its line, the default pays the other', async () => {
    const r = await keyed.referral();
    const event = checkoutSession({ shape, referral: r.referral, amountTotal: 9_000 });
    const session = event.data.object as any;
    expect(session.line_items).toBeUndefined();
    fake.lineItems.set(session.id, [
      item(GOLD, GOLD_PRODUCT, 6_000),
      item('price_test_basic', 'prod_test_basic', 3_000),
    ]);
    const from = fake.requests.length;

    const { row } = await keyed.send(event);
    expect(row).toMatchObject({ status: 'processed' });
    const sent = fake.requests.slice(from);
    expect(sent).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: `/v1/checkout/sessions/${session.id}/line_items`,
        authorization: `Bearer ${KEY}`,
      }),
    ]);
    const [commission] = await adminCommissions(keyed, r.affiliateId);
    // 50 % of 60.00 + 10 % (program default) of 30.00
    expect(commission).toMatchObject({ amount: 3_300, ruleReason: 'per_line_items', status: 'pending' });
    expect(commission.ruleId).toEqual(expect.any(String));
  });

  it('with a restricted key: one taxed line on the price rule earns 50 % of its net amount', async () => {
    const r = await keyed.referral();
    const event = checkoutSession({ shape, referral: r.referral, amountTotal: 11_900, tax: 1_900 });
    fake.lineItems.set((event.data.object as any).id, [item(GOLD, GOLD_PRODUCT, 11_900, 1_900)]);
    await keyed.send(event);
    const [commission] = await adminCommissions(keyed, r.affiliateId);
    expect(commission).toMatchObject({ amount: 5_000, rateBps: 5_000, ruleReason: 'per_line_items' });
  });

  it('without a key: the sale earns the default, and the commission says the line items were unavailable', async () => {
    const r = await keyless.referral();
    const { row } = await keyless.send(checkoutSession({ shape, referral: r.referral, amountTotal: 10_000 }));
    expect(row).toMatchObject({ status: 'processed' });
    const [commission] = await adminCommissions(keyless, r.affiliateId);
    expect(commission).toMatchObject({
      amount: 1_000,
      ruleId: null,
      rateBps: 1_000,
      ruleReason: 'line_items_unavailable',
    });
  });
});

it('reads every page of a long session (150 lines over two pages)', async () => {
  const r = await keyed.referral();
  const event = checkoutSession({ referral: r.referral, amountTotal: 150 * 100 });
  const session = event.data.object as any;
  fake.lineItems.set(
    session.id,
    Array.from({ length: 150 }, (_, i) =>
      i % 2 ? item(GOLD, GOLD_PRODUCT, 100) : item('price_test_x', 'prod_x', 100),
    ),
  );
  const from = fake.requests.length;
  await keyed.send(event);
  const pages = fake.requests.slice(from).filter((q) => q.path.endsWith('/line_items'));
  expect(pages.map((p) => p.query.starting_after ?? null)).toEqual([null, expect.stringMatching(/^li_/)]);
  const [commission] = await adminCommissions(keyed, r.affiliateId);
  expect(commission.amount).toBe(applyRate(75 * 100, 5_000) + applyRate(75 * 100, 1_000));
});

it('a program without product or price rules makes no line item request', async () => {
  const plain = await stripeTestContext({ secret: 'whsec_test_line_items_plain', stripeEndpoint: fake.endpoint });
  try {
    await plain.app.services.stripeSettings.setApiKey(plain.program.id, KEY);
    const r = await plain.referral();
    const from = fake.requests.length;
    await plain.send(checkoutSession({ referral: r.referral, amountTotal: 5_000 }));
    expect(fake.requests.slice(from).filter((q) => q.path.includes('/checkout/'))).toEqual([]);
    const [commission] = await adminCommissions(plain, r.affiliateId);
    expect(commission).toMatchObject({ amount: 500, ruleReason: null });
  } finally {
    await plain.app.stop();
  }
});

it('property: any mix of lines earns 50 % of the gold lines plus the default 10 % of the rest', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ gold: fc.boolean(), amount: fc.integer({ min: 0, max: 50_000 }) }), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.constantFrom<PayloadShape>('legacy', 'basil'),
      async (lines, shape) => {
        const total = lines.reduce((s, l) => s + l.amount, 0);
        fc.pre(total > 0);
        const r = await keyed.referral();
        const event = checkoutSession({ shape, referral: r.referral, amountTotal: total });
        fake.lineItems.set(
          (event.data.object as any).id,
          lines.map((l) =>
            l.gold ? item(GOLD, GOLD_PRODUCT, l.amount) : item('price_test_other', 'prod_o', l.amount),
          ),
        );
        await keyed.send(event);
        const gold = lines.filter((l) => l.gold).reduce((s, l) => s + l.amount, 0);
        const expected = applyRate(gold, 5_000) + applyRate(total - gold, 1_000);
        const commissions = await adminCommissions(keyed, r.affiliateId);
        if (expected === 0) expect(commissions).toEqual([]);
        else expect(commissions).toEqual([expect.objectContaining({ amount: expected, ruleReason: 'per_line_items' })]);
      },
    ),
    { numRuns: 12 },
  );
});
