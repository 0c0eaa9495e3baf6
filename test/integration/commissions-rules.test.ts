/**
 * Commission rules over real HTTP and PostgreSQL: the `/api/v1/commission-rules` admin API (zod validation,
 * archive instead of delete), the rules applied to real sales (per-affiliate override, flat per currency, caps,
 * product rules from line items, recurring months counted from the customer's first payment, lead bounty) with
 * the winning rule recorded on the commission, and the program's attribution settings applied on the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { freshId } from '../helpers/stripe.ts';
import { approvedAffiliate, click, createShop, DAY_MS, recordPaidSale, type Shop } from '../helpers/commissions.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await app?.stop();
});

const monthsAfter = (d: Date, n: number) =>
  new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, d.getUTCDate(), 12));

async function rule(shop: Shop, body: Record<string, unknown>) {
  const res = await shop.admin.post('/api/v1/commission-rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.rule as { id: string };
}

describe('/api/v1/commission-rules', () => {
  it('creates, lists in evaluation order, updates and archives rules, validating every field', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const flat = await rule(shop, {
      name: 'Flat 25',
      priority: 20,
      type: 'flat',
      flatAmounts: { USD: 2500, eur: 2300 },
      maxAmounts: { usd: 5000 },
    });
    const vip = await rule(shop, {
      name: 'VIP',
      priority: 5,
      affiliateId: a.id,
      type: 'percentage',
      rateBps: 3000,
      recurring: 'months',
      recurringMonths: 12,
    });
    expect(flat).toMatchObject({
      type: 'flat',
      flatAmounts: { usd: 2500, eur: 2300 },
      rateBps: null,
      recurring: 'lifetime',
      event: 'sale',
      archivedAt: null,
    });

    const list = await shop.admin.get('/api/v1/commission-rules');
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([vip.id, flat.id]);

    const invalid: [Record<string, unknown>, string][] = [
      [{ name: 'x', type: 'percentage' }, 'rateBps'],
      [{ name: 'x', type: 'percentage', rateBps: 10_001 }, 'rateBps'],
      [{ name: 'x', type: 'flat' }, 'flatAmounts'],
      [{ name: 'x', type: 'flat', flatAmounts: { dollars: 5 } }, 'flatAmounts'],
      [{ name: 'x', type: 'flat', flatAmounts: { usd: 2.5 } }, 'flatAmounts'],
      [{ name: 'x', type: 'percentage', rateBps: 100, recurring: 'months' }, 'recurringMonths'],
      [{ name: 'x', type: 'percentage', rateBps: 100, rateAfterBps: 50 }, 'rateAfterBps'],
      [
        { name: 'x', type: 'percentage', rateBps: 100, minAmounts: { usd: 500 }, maxAmounts: { usd: 100 } },
        'maxAmounts',
      ],
      [{ name: 'x', type: 'percentage', rateBps: 100, surprise: true }, 'body'],
      [{ type: 'percentage', rateBps: 100 }, 'name'],
    ];
    for (const [body, field] of invalid) {
      const res = await shop.admin.post('/api/v1/commission-rules', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message.startsWith(field), `${JSON.stringify(body)} → ${res.body.error.message}`).toBe(
        true,
      );
    }
    const unknown = await shop.admin.post('/api/v1/commission-rules', {
      name: 'x',
      affiliateId: 'aff_nope',
      type: 'percentage',
      rateBps: 100,
    });
    expect(unknown).toMatchObject({ status: 422, body: { error: { code: 'unknown_affiliate' } } });

    const patched = await shop.admin.patch(`/api/v1/commission-rules/${flat.id}`, { priority: 1, maxAmounts: {} });
    expect(patched.body.rule).toMatchObject({ priority: 1, maxAmounts: {}, flatAmounts: { usd: 2500, eur: 2300 } });
    const switchType = await shop.admin.patch(`/api/v1/commission-rules/${flat.id}`, { type: 'percentage' });
    expect(switchType.status).toBe(400);
    expect(
      (
        await shop.admin.patch(`/api/v1/commission-rules/${flat.id}`, {
          type: 'percentage',
          rateBps: 1500,
          flatAmounts: null,
        })
      ).body.rule,
    ).toMatchObject({ type: 'percentage', rateBps: 1500 });

    const archived = await shop.admin.delete(`/api/v1/commission-rules/${flat.id}`);
    expect(archived.body.rule.archivedAt).not.toBeNull();
    expect((await shop.admin.get('/api/v1/commission-rules')).body.data.map((r: { id: string }) => r.id)).toEqual([
      vip.id,
    ]);
    expect((await shop.admin.get('/api/v1/commission-rules?includeArchived=true')).body.data).toHaveLength(2);
    expect((await shop.admin.patch(`/api/v1/commission-rules/${flat.id}`, { priority: 3 })).status).toBe(404);

    const other = await createShop(app);
    expect((await other.admin.get(`/api/v1/commission-rules/${vip.id}`)).status).toBe(404);
    expect((await other.admin.delete(`/api/v1/commission-rules/${vip.id}`)).status).toBe(404);
  });
});

describe('rules applied to sales', () => {
  it('first match in priority order wins and is recorded on the commission', async () => {
    const shop = await createShop(app);
    const vip = await approvedAffiliate(shop);
    const other = await approvedAffiliate(shop);
    const vipRule = await rule(shop, {
      name: 'VIP 30 %',
      priority: 1,
      affiliateId: vip.id,
      type: 'percentage',
      rateBps: 3000,
      maxAmounts: { usd: 4000 },
    });
    const flat = await rule(shop, {
      name: 'Flat',
      priority: 5,
      type: 'flat',
      flatAmounts: { usd: 1500 },
      minAmounts: { usd: 2000 },
    });
    const pro = await rule(shop, {
      name: 'Pro plan',
      priority: 3,
      stripeProductId: 'prod_pro',
      type: 'percentage',
      rateBps: 2500,
    });
    const jpy = await rule(shop, { name: 'Yen flat', priority: 6, type: 'flat', flatAmounts: { jpy: 800 } });

    const sale = async (
      code: string,
      amount: number,
      currency = 'usd',
      lineItems?: { stripeProductId?: string; stripePriceId?: string }[],
    ) => recordPaidSale(app, shop, await click(app, shop, code), { amount, currency, lineItems });

    expect(await sale(vip.code, 10_000)).toMatchObject({
      amount: 3000,
      rule_id: vipRule.id,
      rate_bps: 3000,
      kind: 'sale',
      payment_month: 1,
    });
    expect(await sale(vip.code, 50_000)).toMatchObject({ amount: 4000, rule_id: vipRule.id }); // max cap
    expect(
      await sale(other.code, 10_000, 'usd', [{ stripeProductId: 'prod_pro', stripePriceId: 'price_pro_monthly' }]),
    ).toMatchObject({ amount: 2500, rule_id: pro.id });
    expect(await sale(other.code, 10_000, 'usd', [{ stripeProductId: 'prod_basic' }])).toMatchObject({
      amount: 2000,
      rule_id: flat.id,
      rate_bps: null,
    }); // min cap lifts 15.00
    expect(await sale(other.code, 10_000, 'jpy')).toMatchObject({ amount: 800, rule_id: jpy.id, currency: 'jpy' });
    expect(await sale(other.code, 1999, 'eur')).toMatchObject({ amount: 200, rule_id: null, rate_bps: 1000 }); // no rule for eur: program default

    const listed = await shop.admin.get(`/api/v1/commissions?affiliateId=${vip.id}`);
    expect(listed.body.data.every((c: { ruleId: string }) => c.ruleId === vipRule.id)).toBe(true);
    const [first] = listed.body.data;
    const detail = await shop.admin.get(`/api/v1/commissions/${first.id}`);
    expect(detail.body.commission.events[0].reason).toContain(`rule:${vipRule.id}`);
  });

  it('counts recurring months from the customer’s first payment: 30 % for 3 months, then 10 %', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const step = await rule(shop, {
      name: 'Launch',
      type: 'percentage',
      rateBps: 3000,
      recurring: 'months',
      recurringMonths: 3,
      rateAfterBps: 1000,
    });
    const referral = await click(app, shop, a.code);
    const sub = freshId('sub');
    const start = new Date(Date.now() - 200 * DAY_MS);
    const rows = [];
    for (let i = 0; i < 5; i++) {
      rows.push(
        await recordPaidSale(app, shop, referral, {
          amount: 10_000,
          subscription: sub,
          sequence: i + 1,
          occurredAt: monthsAfter(start, i),
        }),
      );
    }
    expect(rows.map((c) => [c!.kind, c!.payment_month, c!.amount, c!.rule_id])).toEqual([
      ['sale', 1, 3000, step.id],
      ['recurring', 2, 3000, step.id],
      ['recurring', 3, 3000, step.id],
      ['recurring', 4, 1000, step.id],
      ['recurring', 5, 1000, step.id],
    ]);
  });

  it('pays only the first payment under a first-payment rule; renewals earn nothing', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await rule(shop, { name: 'One-off', type: 'flat', flatAmounts: { usd: 5000 }, recurring: 'first_payment' });
    const referral = await click(app, shop, a.code);
    const sub = freshId('sub');
    const start = new Date(Date.now() - 100 * DAY_MS);
    expect(
      await recordPaidSale(app, shop, referral, { amount: 2900, subscription: sub, sequence: 1, occurredAt: start }),
    ).toMatchObject({ amount: 5000 });
    expect(
      await recordPaidSale(app, shop, referral, {
        amount: 2900,
        subscription: sub,
        sequence: 2,
        occurredAt: monthsAfter(start, 1),
      }),
    ).toBeNull();
    const conversions = await app.db
      .selectFrom('conversions')
      .select('id')
      .where('referral_id', '=', referral)
      .execute();
    expect(conversions).toHaveLength(2);
  });

  it('pays a flat lead bounty for a signup, and nothing without a lead rule', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const lead = (referral: string) =>
      app.request('/api/v1/conversions', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${shop.apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': freshId('idem'),
        },
        body: JSON.stringify({ type: 'lead', referral, customerEmail: `${freshId('u')}@customers.test` }),
      });
    const before = await lead(await click(app, shop, a.code));
    expect(before.status).toBe(201);
    expect((await before.json()).commission).toBeNull();

    const bounty = await rule(shop, { name: 'Signup bounty', event: 'lead', type: 'flat', flatAmounts: { usd: 300 } });
    const res = await lead(await click(app, shop, a.code));
    const body = await res.json();
    expect(body.commission).toMatchObject({ kind: 'lead', amount: 300, currency: 'usd', status: 'pending' });
    const row = await app.db
      .selectFrom('commissions')
      .select(['rule_id', 'payment_month'])
      .where('id', '=', body.commission.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ rule_id: bounty.id, payment_month: null });
  });
});

describe('program settings: attribution on the server', () => {
  it('applies the attribution model and window the merchant sets', async () => {
    const shop = await createShop(app);
    const first = await approvedAffiliate(shop);
    const second = await approvedAffiliate(shop);
    const bad = await shop.admin.patch('/api/v1/program', { attributionModel: 'linear' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(bad.body.error.message).toMatch(/^attributionModel/);
    expect((await shop.admin.patch('/api/v1/program', { payoutSchedule: 'every day' })).body.error.message).toMatch(
      /^payoutSchedule/,
    );
    const set = await shop.admin.patch('/api/v1/program', { attributionModel: 'first_click', cookieDays: 7 });
    expect(set.body.program).toMatchObject({ attributionModel: 'first_click', cookieDays: 7 });

    // First click: a later click of another affiliate leaves the visitor with the first.
    const referral = await click(app, shop, first.code);
    const res = await app.request('/api/v1/track/click', {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        origin: shop.website,
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0',
        'x-forwarded-for': '198.51.100.23',
      },
      body: JSON.stringify({ key: shop.publicKey, code: second.code, referral }),
    });
    const body = await res.json();
    expect(body).toMatchObject({ referral, affiliate: first.code, attribution: 'first_click' });
    const c = await recordPaidSale(app, shop, body.referral, { amount: 10_000 });
    expect(c).toMatchObject({ affiliate_id: first.id });

    // The 7-day window: a sale reported 8 days after the click is refused.
    const late = await app.request('/api/v1/conversions', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${shop.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': freshId('idem'),
      },
      body: JSON.stringify({
        referral: await click(app, shop, second.code),
        amount: 10_000,
        currency: 'usd',
        occurredAt: new Date(Date.now() + 8 * DAY_MS).toISOString(),
      }),
    });
    expect(late.status).toBe(422);
    expect((await late.json()).error.code).toBe('referral_expired');
    expect(await app.db.selectFrom('commissions').select('id').where('affiliate_id', '=', second.id).execute()).toEqual(
      [],
    );
  });
});
