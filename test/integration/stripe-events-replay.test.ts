/**
 * The console's Stripe page over the admin API: the events inbox by status with pages, one event's payload, a
 * replay of a stored event (`POST /api/v1/stripe-events/:id/replay`) through the webhook's own attempt — a processed
 * sale replayed creates no second conversion or commission, a failed event replayed after its cause is fixed is
 * processed —, and the Stripe key's connection test against the loopback fake of Stripe's API. A console viewer
 * reads all of it and the server refuses their replay and test (403 `read_only`). Real signed fixture payloads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutSession, freshId, invoicePaid } from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { consoleClient, type ConsoleClient } from '../helpers/console.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../server/stripe/webhooks/webhooks.service.ts';

const KEY = 'rk_test_partnerkitReplay0001';
let fake: FakeStripeApi;
let ctx: StripeTestContext;
let viewer: ConsoleClient;

beforeAll(async () => {
  fake = await startFakeStripeApi();
  ctx = await stripeTestContext({ secret: 'whsec_test_replay_0123', stripeEndpoint: fake.endpoint });
  await ctx.app.services.stripeSettings.setApiKey(ctx.program.id, KEY);
  const { inviteUrl } = await ctx.app.services.console.addMember(ctx.program.id, {
    email: 'viewer@acme.test',
    role: 'viewer',
  });
  viewer = consoleClient(ctx.app);
  const accepted = await viewer.call('POST', '/api/v1/console/invite/accept', {
    token: new URL(inviteUrl!).hash.replace('#invite=', ''),
    password: 'viewer password 1',
  });
  expect(accepted.status).toBe(200);
});
afterAll(async () => {
  await ctx?.app.stop();
  await fake?.close();
});

const count = async (table: 'conversions' | 'commissions', affiliateId: string) =>
  (await ctx.app.db.selectFrom(table).select('id').where('affiliate_id', '=', affiliateId).execute()).length;

describe('replaying a stored event', () => {
  it('a processed sale replayed stays one conversion and one commission', async () => {
    const r = await ctx.referral();
    const event = checkoutSession({ referral: r.referral, amountTotal: 12_000 });
    expect((await ctx.send(event)).row).toMatchObject({ status: 'processed', attempts: 1 });
    expect([await count('conversions', r.affiliateId), await count('commissions', r.affiliateId)]).toEqual([1, 1]);

    for (let i = 0; i < 2; i++) {
      const res = await ctx.admin.post(`/api/v1/stripe-events/${event.id}/replay`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        before: 'processed',
        event: { id: event.id, type: 'checkout.session.completed', status: 'processed', attempts: 2 + i },
      });
    }
    expect([await count('conversions', r.affiliateId), await count('commissions', r.affiliateId)]).toEqual([1, 1]);
    expect((await ctx.conversions(r.affiliateId)).map((c) => c.amount)).toEqual([12_000]);
  });

  it('a failed event replayed after its cause is fixed is processed, once', async () => {
    const r = await ctx.referral();
    const subscription = freshId('sub');
    const customer = freshId('cus');
    fake.failWith({ status: 401, type: 'invalid_request_error', message: 'Expired API Key provided' });
    const event = invoicePaid({ subscription, customer, billingReason: 'subscription_create', amountPaid: 7_000 });
    let moved = 0;
    try {
      await ctx.send(event);
      for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
        ctx.app.advance(RETRY_DELAYS_MS[attempt - 2]!);
        moved += RETRY_DELAYS_MS[attempt - 2]!;
        await ctx.app.services.stripeWebhooks.processPending();
      }
    } finally {
      ctx.app.advance(-moved);
      fake.failWith(null);
    }
    const failed = await ctx.admin.get('/api/v1/stripe-events?status=failed');
    expect(failed.body.data.map((e: { id: string }) => e.id)).toContain(event.id);
    expect(await count('conversions', r.affiliateId)).toBe(0);

    // The cause fixed: Stripe answers, and the subscription names the referral.
    fake.subscriptions.set(subscription, {
      id: subscription,
      object: 'subscription',
      customer,
      status: 'active',
      metadata: { partnerkit_referral: r.referral },
    });
    const res = await ctx.admin.post(`/api/v1/stripe-events/${event.id}/replay`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ before: 'failed', event: { status: 'processed', error: null } });
    expect((await ctx.conversions(r.affiliateId)).map((c) => c.amount)).toEqual([7_000]);
    await ctx.admin.post(`/api/v1/stripe-events/${event.id}/replay`);
    expect([await count('conversions', r.affiliateId), await count('commissions', r.affiliateId)]).toEqual([1, 1]);
  });

  it('an unknown event, or an id that cannot be one, is a 404', async () => {
    expect((await ctx.admin.post('/api/v1/stripe-events/evt_unknown/replay')).status).toBe(404);
    expect((await ctx.admin.post('/api/v1/stripe-events/%20bad/replay')).status).toBe(404);
  });
});

describe('the inbox by status, in pages', () => {
  it('filters by status, pages with offset, shows one payload', async () => {
    const r = await ctx.referral();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const e = checkoutSession({ referral: r.referral, amountTotal: 1_000 + i });
      await ctx.send(e);
      ids.push(e.id);
    }
    const ignored = checkoutSession({ referral: r.referral });
    ignored.type = 'checkout.session.expired';
    await ctx.send(ignored);

    const page1 = await ctx.admin.get('/api/v1/stripe-events?status=processed&limit=2');
    const page2 = await ctx.admin.get('/api/v1/stripe-events?status=processed&limit=2&offset=2');
    expect(page1.body.data.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    expect(page2.body.data[0].id).toBe(ids[0]);
    expect(page2.body.data.every((e: { status: string }) => e.status === 'processed')).toBe(true);
    const onlyIgnored = await ctx.admin.get('/api/v1/stripe-events?status=ignored');
    expect(onlyIgnored.body.data.map((e: { id: string; status: string }) => e.status)).not.toContain('processed');
    expect(onlyIgnored.body.data.map((e: { id: string; error: string }) => [e.id, e.error])).toContainEqual([
      ignored.id,
      'unhandled_type',
    ]);
    const one = await ctx.admin.get(`/api/v1/stripe-events/${ids[0]}`);
    expect(one.body.event.payload).toMatchObject({ id: ids[0], data: { object: { amount_total: 1_000 } } });
    expect((await ctx.admin.get('/api/v1/stripe-events?offset=-1')).status).toBe(400);
    expect((await ctx.admin.get('/api/v1/stripe-events?status=lost')).status).toBe(400);
  });
});

describe('the Stripe key', () => {
  it('shows the permissions it needs, and a connection test says ok or what is missing', async () => {
    expect((await ctx.admin.patch('/api/v1/program', { stripeApiKey: null })).status).toBe(200);
    const status = await ctx.admin.get('/api/v1/program/stripe-key');
    expect(status.body.stripeKey).toMatchObject({ set: false, mode: null });
    expect(status.body.stripeKey.permissions.map((p: { permission: string }) => p.permission)).toContain(
      'Checkout Sessions: Read',
    );
    const none = await ctx.admin.post('/api/v1/program/stripe-key/test');
    expect(none).toMatchObject({ status: 409, body: { error: { code: 'stripe_key_missing' } } });
    expect((await ctx.admin.post('/api/v1/program/stripe-key/test', { key: 'pk_live_nope' })).status).toBe(400);

    expect((await ctx.admin.patch('/api/v1/program', { stripeApiKey: KEY })).status).toBe(200);
    expect((await ctx.admin.get('/api/v1/program/stripe-key')).body.stripeKey).toMatchObject({
      set: true,
      mode: 'test',
    });
    const from = fake.requests.length;
    const ok = await ctx.admin.post('/api/v1/program/stripe-key/test');
    expect(ok.status).toBe(200);
    expect(ok.body.test).toMatchObject({ ok: true, mode: 'test' });
    expect(fake.requests.slice(from).map((r) => [r.path, r.query.limit, r.authorization])).toEqual(
      ['/v1/customers', '/v1/subscriptions', '/v1/charges', '/v1/invoices', '/v1/checkout/sessions'].map((p) => [
        p,
        '1',
        `Bearer ${KEY}`,
      ]),
    );

    fake.denied.add('checkout');
    try {
      const lacking = await ctx.admin.post('/api/v1/program/stripe-key/test');
      expect(lacking.body.test.ok).toBe(false);
      expect(lacking.body.test.message).toBe('The key works but lacks: Checkout Sessions: Read');
      expect(lacking.body.test.checks.find((c: { ok: boolean }) => c.ok === false).error).toMatch(
        /403 .*does not have the required permissions/,
      );
    } finally {
      fake.denied.clear();
    }
    fake.failWith({ status: 401, type: 'invalid_request_error', message: 'Invalid API Key provided: rk_test_***0002' });
    try {
      const refused = await ctx.admin.post('/api/v1/program/stripe-key/test', { key: 'rk_test_somethingElse0002' });
      expect(refused.body.test).toMatchObject({ ok: false, checks: [] });
      expect(refused.body.test.message).toMatch(/^Stripe refused the key: 401 Invalid API Key provided/);
    } finally {
      fake.failWith(null);
    }
  });
});

describe('a console viewer', () => {
  it('reads the inbox and the key status; the server refuses a replay and a key test', async () => {
    const list = await viewer.call('GET', '/api/v1/stripe-events?status=processed');
    expect(list.status).toBe(200);
    const id = list.body.data[0].id;
    expect((await viewer.call('GET', `/api/v1/stripe-events/${id}`)).status).toBe(200);
    expect((await viewer.call('GET', '/api/v1/program/stripe-key')).status).toBe(200);
    for (const path of [`/api/v1/stripe-events/${id}/replay`, '/api/v1/program/stripe-key/test']) {
      const res = await viewer.call('POST', path, {});
      expect(res, path).toMatchObject({ status: 403, body: { error: { code: 'read_only' } } });
    }
  });
});
