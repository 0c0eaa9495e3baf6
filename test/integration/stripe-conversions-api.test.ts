/**
 * `POST /api/v1/conversions` for merchants who bill outside Stripe: a sale or a lead by referral id, affiliate
 * code or customer e-mail, with the admin API key, made exactly-once by the `Idempotency-Key` header.
 * (File named stripe-* as part of the Stripe conversions work: the same conversion and commission rules apply.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';

let ctx: StripeTestContext;
beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_conversions_api' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await ctx.app.request('/api/v1/conversions', {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.json() };
}

describe('POST /api/v1/conversions', () => {
  it('records a sale by referral id, once per Idempotency-Key, with its commission', async () => {
    const r = await ctx.referral();
    const body = { referral: r.referral, amount: 15_000, currency: 'EUR', customerEmail: 'buyer@example.com' };
    const first = await post(body, { 'idempotency-key': 'order-1001' });
    expect(first).toMatchObject({
      status: 201,
      replayed: null,
      body: {
        duplicate: false,
        conversion: {
          kind: 'sale',
          amount: 15_000,
          currency: 'eur',
          source: 'api',
          affiliateId: r.affiliateId,
          attributedBy: 'api_referral',
        },
        commission: { kind: 'sale', amount: 1_500, currency: 'eur', status: 'pending' },
      },
    });
    // A retry with the same key (and the same body, keys in another order) gets the same answer and writes nothing.
    const retry = await post(
      { currency: 'EUR', customerEmail: 'buyer@example.com', amount: 15_000, referral: r.referral },
      { 'idempotency-key': 'order-1001' },
    );
    expect(retry).toMatchObject({ status: 201, replayed: 'true', body: first.body });
    expect(await ctx.conversions(r.affiliateId)).toHaveLength(1);
    expect(await ctx.commissions(r.affiliateId)).toHaveLength(1);
    // The same key with another request is refused.
    const reused = await post({ ...body, amount: 1 }, { 'idempotency-key': 'order-1001' });
    expect(reused).toMatchObject({ status: 409, body: { error: { code: 'idempotency_key_reused' } } });
  });

  it('concurrent requests with one Idempotency-Key record one sale', async () => {
    const r = await ctx.referral();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        post({ referral: r.referral, amount: 2_000 }, { 'idempotency-key': `race-${r.referral}` }),
      ),
    );
    expect(results.map((x) => x.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((x) => x.body.conversion.id)).size).toBe(1);
    expect(await ctx.conversions(r.affiliateId)).toHaveLength(1);
  });

  it('records a sale by affiliate code (a referral is created for the customer) and dedupes by externalId', async () => {
    const r = await ctx.referral();
    const first = await post({
      affiliateCode: r.code,
      amount: 999,
      currency: 'usd',
      externalId: 'inv-77',
      customerEmail: 'new@example.com',
    });
    expect(first).toMatchObject({
      status: 201,
      body: {
        conversion: { amount: 999, externalId: 'inv-77', attributedBy: 'api_affiliate_code' },
        commission: { amount: 100 },
      },
    });
    const again = await post({
      affiliateCode: r.code,
      amount: 999,
      currency: 'usd',
      externalId: 'inv-77',
      customerEmail: 'new@example.com',
    });
    expect(again).toMatchObject({
      status: 200,
      body: {
        duplicate: true,
        conversion: { id: first.body.conversion.id },
        commission: { id: first.body.commission.id },
      },
    });
    expect(await ctx.conversions(r.affiliateId)).toHaveLength(1);
  });

  it('records a lead, then a sale by the lead’s e-mail within the attribution window', async () => {
    const r = await ctx.referral();
    const lead = await post(
      { type: 'lead', referral: r.referral, customerEmail: 'Lead@Example.com' },
      { 'idempotency-key': `lead-${r.referral}` },
    );
    expect(lead).toMatchObject({ status: 201, body: { conversion: { kind: 'lead', amount: 0 }, commission: null } });
    const referral = await ctx.app.db
      .selectFrom('referrals')
      .selectAll()
      .where('id', '=', r.referral)
      .executeTakeFirstOrThrow();
    expect(referral).toMatchObject({ status: 'lead', email: 'lead@example.com' });
    // One lead per referral.
    const second = await post(
      { type: 'lead', referral: r.referral, customerEmail: 'lead@example.com' },
      { 'idempotency-key': `lead2-${r.referral}` },
    );
    expect(second).toMatchObject({
      status: 200,
      body: { duplicate: true, conversion: { id: lead.body.conversion.id } },
    });

    const sale = await post(
      { customerEmail: 'lead@example.com', amount: 4_000 },
      { 'idempotency-key': `sale-${r.referral}` },
    );
    expect(sale).toMatchObject({
      status: 201,
      body: {
        conversion: { kind: 'sale', affiliateId: r.affiliateId, attributedBy: 'api_customer_email', currency: 'usd' },
      },
    });
  });

  it('refuses bad requests with a 4xx and writes nothing', async () => {
    const r = await ctx.referral();
    const before = (
      await ctx.app.db
        .selectFrom('conversions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    const cases: [unknown, Record<string, string>, number, string][] = [
      [{ referral: r.referral, amount: 100 }, {}, 400, 'idempotency_key_required'],
      [{ referral: r.referral }, { 'idempotency-key': 'k-1' }, 400, 'invalid_request'],
      [{ amount: 100 }, { 'idempotency-key': 'k-2' }, 400, 'invalid_request'],
      [{ referral: r.referral, amount: -5 }, { 'idempotency-key': 'k-3' }, 400, 'invalid_request'],
      [{ referral: r.referral, amount: 1.5 }, { 'idempotency-key': 'k-4' }, 400, 'invalid_request'],
      [
        { referral: r.referral, amount: 100, currency: 'dollars' },
        { 'idempotency-key': 'k-5' },
        400,
        'invalid_request',
      ],
      [{ referral: r.referral, amount: 100, surprise: true }, { 'idempotency-key': 'k-6' }, 400, 'invalid_request'],
      [{ referral: 'ref_nobody', amount: 100 }, { 'idempotency-key': 'k-7' }, 404, 'unknown_referral'],
      [{ affiliateCode: 'nobody', amount: 100 }, { 'idempotency-key': 'k-8' }, 404, 'unknown_affiliate'],
      [{ customerEmail: 'stranger@example.com', amount: 100 }, { 'idempotency-key': 'k-9' }, 422, 'no_referral'],
      ['{not json', { 'idempotency-key': 'k-10' }, 400, 'invalid_json'],
    ];
    for (const [body, headers, status, code] of cases) {
      const res = await post(body, headers);
      expect(res, JSON.stringify(body)).toMatchObject({ status, body: { error: { code } } });
    }
    const after = (
      await ctx.app.db
        .selectFrom('conversions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    expect(after).toBe(before);
    // An error is not stored under its key: the corrected request goes through with the same key.
    expect((await post({ referral: r.referral, amount: 100 }, { 'idempotency-key': 'k-1' })).status).toBe(201);
  });

  it('needs the admin API key', async () => {
    const res = await ctx.app.request('/api/v1/conversions', { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
  });
});
