/**
 * The OpenAPI document describes what the admin API answers, not only what it accepts: every admin operation has a
 * documented success status and body shape (`<concept>.schemas.ts`), and the real answers of a merchant's whole
 * day — affiliates, links, a click, a signed Stripe sale, conversions, commissions, rules, payouts, promotion codes,
 * API keys, webhook secrets, webhook endpoints — and the affiliate's side of it in the partner API, match them
 * exactly (strict shapes: an undocumented field fails too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { documentedResponse, openApiDocument } from '../../server/web/openapi.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutSale, clickReferral, loggedInPartner, openShop, type Shop } from '../helpers/fixtures.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';

let app: TestApp;
let shop: Shop;
let fakeStripe: FakeStripeApi;
const exercised = new Set<string>();

beforeAll(async () => {
  fakeStripe = await startFakeStripeApi();
  app = await startTestApp({ TRUST_PROXY: 'on' }, { stripeEndpoint: fakeStripe.endpoint });
  shop = await openShop(app);
});
afterAll(async () => {
  await app?.stop();
  await fakeStripe?.close();
});

/** Call an admin operation by its documented path template; expect a documented status and a body of its shape. */
async function call(
  method: 'get' | 'post' | 'put' | 'patch' | 'delete',
  template: string,
  params: Record<string, string> = {},
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<any> {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
  const query = params.query ? `?${params.query}` : '';
  const res = await app.request(path + query, {
    method: method.toUpperCase(),
    headers: {
      authorization: `Bearer ${shop.program.apiKey}`,
      ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' } : {}),
      ...headers,
    },
    // A string body is sent as it is (the CSV import); anything else as JSON.
    body: typeof body === 'string' ? body : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const documented = documentedResponse(method, template);
  expect(documented, `${method} ${template} has a documented answer`).toBeDefined();
  const text = await res.text();
  expect([documented!.status, documented!.or], `${method} ${template}: ${text.slice(0, 300)}`).toContain(res.status);
  exercised.add(`${method} ${template}`);
  if (documented!.csv) {
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    return text;
  }
  if (!documented!.body) {
    expect(text).toBe('');
    return null;
  }
  const json = JSON.parse(text);
  const parsed = (documented!.body as z.ZodType).safeParse(json);
  expect(parsed.success, `${method} ${template} answered ${text.slice(0, 500)}\n${parsed.error?.message}`).toBe(true);
  return json;
}

describe('documented answers', () => {
  it('every admin operation documents its success status and shape', () => {
    const doc = openApiDocument('http://localhost', 'test') as {
      paths: Record<string, Record<string, { security: { apiKey?: [] }[]; responses: Record<string, unknown> }>>;
    };
    const undescribed: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.security.some((s) => 'apiKey' in s)) continue;
        const key = `${method} ${path}`;
        if ('2XX' in op.responses) undescribed.push(key);
      }
    }
    expect(undescribed).toEqual([]);
  });

  it('match the real answers of a merchant’s whole day, and every described operation is exercised', async () => {
    await call('get', '/api/v1/program');
    await call('patch', '/api/v1/program', {}, { holdDays: 14 });

    // Affiliates through their whole life cycle.
    const created = await call(
      'post',
      '/api/v1/affiliates',
      {},
      { email: 'ann@x.test', name: 'Ann', status: 'approved' },
    );
    const ann = created.affiliate;
    expect(created.setPasswordUrl).toEqual(expect.any(String));
    await call('get', '/api/v1/affiliates');
    await call('get', '/api/v1/affiliates/{id}', { id: ann.id });
    await call('patch', '/api/v1/affiliates/{id}', { id: ann.id }, { name: 'Ann B.' });
    const invited = await call('post', '/api/v1/affiliates/{id}/invite', { id: ann.id });
    const pending = (await call('post', '/api/v1/affiliates', {}, { email: 'bo@x.test', name: 'Bo' })).affiliate;
    await call('post', '/api/v1/affiliates/{id}/approve', { id: pending.id });
    await call('post', '/api/v1/affiliates/{id}/suspend', { id: pending.id });
    const spam = (await call('post', '/api/v1/affiliates', {}, { email: 'spam@x.test', name: 'Spam' })).affiliate;
    await call('post', '/api/v1/affiliates/{id}/reject', { id: spam.id }, { reason: 'Spam' });
    await call('get', '/api/v1/affiliates/export', { query: 'sort=name' });
    await call('post', '/api/v1/affiliates/import', {}, 'email,name\nimported@x.test,Imported\nspam@x.test,Again\n');
    await call('delete', '/api/v1/affiliates/{id}', { id: spam.id });

    const link = (await call('post', '/api/v1/links', {}, { affiliateId: ann.id, campaign: 'spring' })).link;
    await call('get', '/api/v1/links');
    await call('patch', '/api/v1/links/{id}', { id: link.id }, { campaign: null });
    await call('delete', '/api/v1/links/{id}', { id: link.id });

    // A click, a signed Stripe sale, and a sale billed outside Stripe (then its replay).
    const referral = await clickReferral(shop, ann.code);
    await checkoutSale(shop, referral, 100_000);
    const events = (await call('get', '/api/v1/stripe-events')).data;
    await call('get', '/api/v1/stripe-events/{id}', { id: events[0].id });
    await call('post', '/api/v1/stripe-events/{id}/replay', { id: events[0].id });
    await call('get', '/api/v1/program/stripe-key');
    await call('post', '/api/v1/program/stripe-key/test', {}, { key: 'rk_test_openapiResponses01' });
    await call('get', '/api/v1/conversions');
    const offline = { affiliateCode: ann.code, amount: 20_000, currency: 'usd', externalId: 'inv-1' };
    await call('post', '/api/v1/conversions', {}, offline, { 'idempotency-key': 'day-1' });
    await call('post', '/api/v1/conversions', {}, offline, { 'idempotency-key': 'day-1' });

    const commissions = (await call('get', '/api/v1/commissions')).data as { id: string; amount: number }[];
    expect(commissions.length).toBe(2);
    await call('get', '/api/v1/commissions/{id}', { id: commissions[0]!.id });
    const big = commissions.find((c) => c.amount === 10_000)!;
    await call('post', '/api/v1/commissions/{id}/approve', { id: big.id }, { reason: 'checked' });
    const small = commissions.find((c) => c.id !== big.id)!;
    await call('post', '/api/v1/commissions/{id}/reject', { id: small.id }, { reason: 'test order' });

    const rule = (
      await call(
        'post',
        '/api/v1/commission-rules',
        {},
        { name: 'VIP', type: 'percentage', rateBps: 2_000, affiliateId: ann.id },
      )
    ).rule;
    await call('get', '/api/v1/commission-rules');
    await call('get', '/api/v1/commission-rules/{id}', { id: rule.id });
    await call('patch', '/api/v1/commission-rules/{id}', { id: rule.id }, { priority: 5 });
    await call(
      'post',
      '/api/v1/commission-rules/preview',
      {},
      { amount: 10_000, currency: 'usd', affiliateId: ann.id },
    );
    await call('delete', '/api/v1/commission-rules/{id}', { id: rule.id });

    // Paying Ann: one payout completed; a second one (after another approved sale) failed.
    await call('get', '/api/v1/balances');
    const payout = (await call('post', '/api/v1/payouts', {}, { affiliateId: ann.id, method: 'paypal' })).payout;
    await call('get', '/api/v1/payouts');
    await call('get', '/api/v1/payouts/{id}', { id: payout.id });
    await call('get', '/api/v1/payouts/export', { query: 'format=paypal' });
    await call('post', '/api/v1/payouts/{id}/process', { id: payout.id });
    await call('post', '/api/v1/payouts/{id}/complete', { id: payout.id }, { reference: 'PAYPAL-1' });
    await checkoutSale(shop, await clickReferral(shop, ann.code), 100_000);
    const second = (await call('get', '/api/v1/commissions', { query: 'status=pending' })).data[0];
    await call('post', '/api/v1/commissions/{id}/approve', { id: second.id });
    const again = (await call('post', '/api/v1/payouts', {}, { affiliateId: ann.id, method: 'paypal' })).payout;
    await call('post', '/api/v1/payouts/{id}/fail', { id: again.id }, { reason: 'PayPal account closed' });
    const run = await call('post', '/api/v1/payouts/pay-all', {}, { dryRun: true });
    expect(run.notPaid.length + run.exported.length).toBeGreaterThan(0);
    const stats = await call('get', '/api/v1/stats', { query: 'days=30' });
    // Two referred checkouts and the sale billed outside Stripe.
    expect(stats).toMatchObject({ clicks: 2, customers: 3 });

    const code = (
      await call(
        'post',
        '/api/v1/promotion-codes',
        {},
        { affiliateId: ann.id, stripePromotionCodeId: 'promo_ann20', code: 'ANN20' },
      )
    ).promotionCode;
    await call('get', '/api/v1/promotion-codes');
    await call('delete', '/api/v1/promotion-codes/{id}', { id: code.id });

    const key = (await call('post', '/api/v1/api-keys', {}, { name: 'Zapier' })).apiKey;
    await call('get', '/api/v1/api-keys');
    const rotated = (await call('post', '/api/v1/api-keys/{id}/rotate', { id: key.id })).apiKey;
    await call('delete', '/api/v1/api-keys/{id}', { id: rotated.id });
    const secrets = (await call('post', '/api/v1/webhook-secrets', {}, { secret: 'whsec_rolled0123456789' })).data;
    await call('get', '/api/v1/webhook-secrets');
    const rolled = secrets.find((s: { hint: string }) => s.hint === 'whsec_…6789');
    await call('delete', '/api/v1/webhook-secrets/{id}', { id: rolled.id });

    // Ann's side of the same day, in the partner dashboard's API (the types the dashboard is built on).
    const partner = await loggedInPartner(app, invited.setPasswordUrl);
    const as = (headers: Record<string, string> = {}) => ({ ...partner.headers, ...headers });
    await call('get', '/api/v1/partner/programs/{programId}', { programId: shop.program.id });
    await call('get', '/api/v1/partner/me', {}, undefined, as());
    await call('get', '/api/v1/partner/overview', {}, undefined, as());
    await call('get', '/api/v1/partner/stats', { query: 'days=7' }, undefined, as());
    await call('post', '/api/v1/partner/links', {}, { campaign: 'newsletter' }, as());
    await call('get', '/api/v1/partner/links', {}, undefined, as());
    const referrals = (await call('get', '/api/v1/partner/referrals', {}, undefined, as())).data;
    expect(referrals.some((r: { sales: unknown[] }) => r.sales.length > 0)).toBe(true);
    const own = (await call('get', '/api/v1/partner/commissions', {}, undefined, as())).data;
    expect(own.map((c: { status: string }) => c.status).sort()).toEqual(['approved', 'paid', 'rejected']);
    await call('get', '/api/v1/partner/commissions/{id}', { id: own[0].id }, undefined, as());
    await call('get', '/api/v1/partner/commissions.csv', {}, undefined, as());
    await call('get', '/api/v1/partner/payouts', {}, undefined, as());
    await call('get', '/api/v1/partner/payouts/{id}', { id: payout.id }, undefined, as());
    await call('get', '/api/v1/partner/payout-settings', {}, undefined, as());
    const method = { method: 'paypal', details: { email: 'ann@paypal.test' }, password: partner.password };
    await call('put', '/api/v1/partner/payout-settings', {}, method, as());
    // Outgoing webhooks: an endpoint (on a loopback name: refused when sending, logged), its log and a redelivery.
    const endpoint = (
      await call(
        'post',
        '/api/v1/webhook-endpoints',
        {},
        { url: 'http://localhost:9/hooks', eventTypes: ['affiliate.approved'], description: 'ERP' },
      )
    ).webhookEndpoint;
    await call('get', '/api/v1/webhook-endpoints');
    await call('get', '/api/v1/webhook-endpoints/{id}', { id: endpoint.id });
    await call('patch', '/api/v1/webhook-endpoints/{id}', { id: endpoint.id }, { description: null });
    await call('post', '/api/v1/webhook-endpoints/{id}/rotate-secret', { id: endpoint.id });
    await call('post', '/api/v1/affiliates', {}, { email: 'cy@x.test', name: 'Cy', status: 'approved' });
    const deliveries = (await call('get', '/api/v1/webhook-endpoints/{id}/deliveries', { id: endpoint.id })).data;
    expect(deliveries).toHaveLength(1);
    await call('post', '/api/v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver', {
      id: endpoint.id,
      deliveryId: deliveries[0].id,
    });
    await call('delete', '/api/v1/webhook-endpoints/{id}', { id: endpoint.id });
    await call('get', '/api/v1/partner/payouts/{id}/statement.csv', { id: payout.id }, undefined, as());
    await call('get', '/api/v1/partner/earnings', {}, undefined, as());
    await call('get', '/api/v1/partner/tax-info', {}, undefined, as());
    const tax = { legalName: 'Ann B. LLC', country: 'US', taxId: '12-3456789', password: partner.password };
    await call('put', '/api/v1/partner/tax-info', {}, tax, as());
    await call('get', '/api/v1/partner/stripe-connect', {}, undefined, as());

    // What Ann was paid this year, for the merchant's 1099-NEC (tax details: none given yet).
    const year = (await call('get', '/api/v1/earnings/yearly')).year;
    await call('get', '/api/v1/earnings/yearly.csv', { query: `year=${year}` });
    await call('get', '/api/v1/affiliates/{id}/tax-info', { id: ann.id });

    await call('get', '/api/v1/stats/daily', { query: 'days=7' });
    // The console's commission desk: the CSV export and a bulk decision (an approved one again is a no-op).
    await call('get', '/api/v1/commissions/export', { query: 'status=approved' });
    const approvedIds = (await call('get', '/api/v1/commissions', { query: 'status=approved' })).data.map(
      (c: { id: string }) => c.id,
    );
    await call('post', '/api/v1/commissions/bulk', {}, { action: 'approve', ids: approvedIds.slice(0, 2) });
    const doc = openApiDocument('http://localhost', 'test') as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => documentedResponse(m, path))
        .map((m) => `${m} ${path}`),
    );
    expect(described.filter((k) => !exercised.has(k))).toEqual([]);
  });
});
