/**
 * The main job end to end over real HTTP and a real PostgreSQL: a referral click, a signed Stripe
 * checkout, a commission, approval after the hold period, and what the affiliate sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, BROWSER_UA, openShop, sendClick, type Shop } from '../helpers/fixtures.ts';
import { checkoutCompleted, deliver, sign } from '../helpers/stripe.ts';

const SECRET = 'whsec_test_main_flow_secret';
let app: TestApp;
let shop: Shop;
let program: Shop['program'];
let admin: Shop['admin'];

/** Jane, Kenji…: affiliates who applied and were approved by the merchant. */
const affiliateOf = async (email: string, code?: string) => {
  const { setPasswordUrl, ...affiliate } = await approvedAffiliate(shop, {
    email,
    name: 'Jane Doe',
    code,
    approve: true,
  });
  return { affiliate, setPasswordUrl };
};
/** The snippet's click, always from the same browser (so a repeat visit is one). */
const click = (code: string, extra: Record<string, unknown> = {}) =>
  sendClick(shop, code, { headers: { 'user-agent': BROWSER_UA }, body: extra });

beforeAll(async () => {
  app = await startTestApp();
  shop = await openShop(app, { secret: SECRET });
  ({ program, admin } = shop);
});
afterAll(async () => {
  await app?.stop();
});

describe('click → checkout → commission → dashboard', () => {
  it('turns a referred 19.99 usd checkout into one 2.00 usd commission the affiliate can see', async () => {
    const { affiliate, setPasswordUrl } = await affiliateOf('jane@example.com', 'jane');
    const c = await click(affiliate.code);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ affiliate: 'jane', cookieDays: 30, attribution: 'last_click' });
    expect(c.body.referral).toMatch(/^[A-Za-z0-9_-]{1,200}$/);

    const event = checkoutCompleted({ referral: c.body.referral, amountTotal: 1999, currency: 'usd' });
    // Acknowledged once stored; processed right after, in the server process.
    const first = await deliver(app.url, program.id, event, SECRET);
    expect(first).toMatchObject({ status: 200, body: { status: 'received' } });
    await app.services.stripeWebhooks.idle();
    // Stripe retries: the same event again changes nothing.
    const again = await deliver(app.url, program.id, event, SECRET);
    expect(again).toMatchObject({ status: 200, body: { status: 'duplicate' } });

    const conversions = await admin.get('/api/v1/conversions');
    expect(conversions.body.data).toHaveLength(1);
    expect(conversions.body.data[0]).toMatchObject({ amount: 1999, currency: 'usd', affiliateId: affiliate.id });
    const commissions = await admin.get('/api/v1/commissions');
    expect(commissions.body.data).toHaveLength(1);
    expect(commissions.body.data[0]).toMatchObject({ amount: 200, currency: 'usd', status: 'pending', rateBps: 1000 });

    // Nothing is approved before the 30-day hold period ends; after it, the job approves it.
    expect(await app.services.commissions.approveDue()).toBe(0);
    app.advance(31 * 86_400_000);
    expect(await app.services.commissions.approveDue()).toBe(1);
    app.advance(-31 * 86_400_000);

    // The affiliate sets a password through the one-time link and logs in.
    const token = new URL(setPasswordUrl).hash.replace('#set-password=', '');
    const setPw = await app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'correct horse battery' }),
    });
    expect(setPw.status).toBe(200);
    const reuse = await app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'another password!' }),
    });
    expect(reuse.status).toBe(401);

    const login = await app.request('/api/v1/partner/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'jane@example.com', password: 'correct horse battery' }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/pk_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/);
    const overview = await app.request('/api/v1/partner/overview', { headers: { cookie: cookie.split(';')[0]! } });
    expect(overview.status).toBe(200);
    expect(await overview.json()).toEqual({
      clicks: 1,
      leads: 1,
      customers: 1,
      conversions: 1,
      conversionRate: 1,
      revenue: [{ currency: 'usd', amount: 1999 }],
      earnings: [{ currency: 'usd', pending: 0, onHold: 0, approved: 200, clawbacks: 0, inPayouts: 0, paid: 0 }],
      nextPayout: [{ currency: 'usd', amount: 200, maturing: 0, minimum: 5000, reachesMinimum: false }],
      nextPayoutDate: expect.stringMatching(/^\d{4}-\d{2}-01T00:00:00\.000Z$/),
    });
  });

  it('rounds half-up per currency: 1000 jpy at 10 % earns 100 jpy', async () => {
    const { affiliate } = await affiliateOf('kenji@example.com');
    const c = await click(affiliate.code);
    const res = await deliver(
      app.url,
      program.id,
      checkoutCompleted({ referral: c.body.referral, amountTotal: 1000, currency: 'jpy' }),
      SECRET,
    );
    expect(res.body.status).toBe('received');
    await app.services.stripeWebhooks.idle();
    const list = await admin.get(`/api/v1/commissions?affiliateId=${affiliate.id}`);
    expect(list.body.data).toEqual([expect.objectContaining({ amount: 100, currency: 'jpy' })]);
  });

  it('counts the amount paid excluding tax, and attributes through metadata too', async () => {
    const { affiliate } = await affiliateOf('tax@example.com');
    const c = await click(affiliate.code);
    const event = checkoutCompleted({
      referral: null,
      metadataReferral: c.body.referral!,
      amountTotal: 12_000,
      tax: 2_000,
      currency: 'eur',
    });
    expect((await deliver(app.url, program.id, event, SECRET)).body.status).toBe('received');
    await app.services.stripeWebhooks.idle();
    const list = await admin.get(`/api/v1/conversions?affiliateId=${affiliate.id}`);
    expect(list.body.data).toEqual([expect.objectContaining({ amount: 10_000, currency: 'eur' })]);
  });
});

describe('webhook route', () => {
  it('rejects a bad signature with 400 and stores nothing', async () => {
    const event = checkoutCompleted({ referral: 'ref_whatever', amountTotal: 500 });
    const payload = JSON.stringify(event);
    const res = await deliver(app.url, program.id, event, SECRET, { signature: sign(payload, 'whsec_wrong_secret') });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_signature');
    const stored = await app.db.selectFrom('stripe_events').select('id').where('id', '=', event.id).execute();
    expect(stored).toHaveLength(0);
  });

  it('rejects a signature older than the 5-minute tolerance', async () => {
    const event = checkoutCompleted({ referral: 'ref_whatever', amountTotal: 500 });
    const payload = JSON.stringify(event);
    const old = sign(payload, SECRET, Math.floor(Date.now() / 1000) - 600);
    const res = await deliver(app.url, program.id, event, SECRET, { signature: old });
    expect(res.status).toBe(400);
  });

  it('stores and acknowledges an event type it does not handle', async () => {
    const event = {
      id: 'evt_unhandled_1',
      object: 'event',
      type: 'payout.paid',
      created: 1_700_000_000,
      api_version: '2020-03-02',
      livemode: false,
      data: { object: { id: 'po_1', object: 'payout' } },
    };
    const res = await deliver(app.url, program.id, event, SECRET);
    expect(res).toMatchObject({ status: 200, body: { status: 'ignored' } });
    const row = await app.db
      .selectFrom('stripe_events')
      .selectAll()
      .where('id', '=', 'evt_unhandled_1')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ type: 'payout.paid', status: 'ignored', error: 'unhandled_type' });
  });

  it('acknowledges a checkout without a known referral and creates no conversion', async () => {
    const before = await app.db
      .selectFrom('conversions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const event = checkoutCompleted({ referral: 'ref_nobody', amountTotal: 500 });
    const res = await deliver(app.url, program.id, event, SECRET);
    expect(res.body.status).toBe('received');
    await app.services.stripeWebhooks.idle();
    const row = await app.db
      .selectFrom('stripe_events')
      .selectAll()
      .where('id', '=', event.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'ignored', error: 'unknown_referral' });
    const after = await app.db
      .selectFrom('conversions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});

describe('click endpoint', () => {
  it('answers an unknown affiliate code with 200 { referral: null } (no cookie) and rejects an unknown program key, storing nothing', async () => {
    const count = async () =>
      (
        await app.db
          .selectFrom('clicks')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const before = await count();
    const unknownCode = await app.request('/api/v1/track/click', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://acme.test', 'user-agent': BROWSER_UA },
      body: JSON.stringify({ key: program.publicKey, code: 'nobody-here' }),
    });
    // An answer, not an error: a 4xx would be a red console line on the merchant's page.
    expect([unknownCode.status, await unknownCode.json()]).toEqual([200, { referral: null }]);
    expect(unknownCode.headers.get('set-cookie')).toBeNull();
    expect(unknownCode.headers.get('access-control-allow-origin')).toBe('https://acme.test');
    const badKey = await app.request('/api/v1/track/click', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ key: 'pk_nope', code: 'jane' }),
    });
    expect(badKey.status).toBe(404);
    expect((await badKey.json()).error.code).toBe('unknown_program');
    expect(await count()).toBe(before);
  });

  it('answers a pending affiliate’s code like an unknown one, and rejects a malformed body with a 4xx', async () => {
    const pending = await admin.post('/api/v1/affiliates', { email: 'pending@example.com', name: 'Pat' });
    const res = await click(pending.body.affiliate.code);
    expect(res).toEqual({ status: 200, body: { referral: null } });
    expect(
      await app.db.selectFrom('clicks').select('id').where('affiliate_id', '=', pending.body.affiliate.id).execute(),
    ).toEqual([]);
    const garbage = await app.request('/api/v1/track/click', { method: 'POST', body: '{not json' });
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).error.code).toBe('invalid_json');
  });

  it('reuses the visitor referral for a repeat click of the same affiliate', async () => {
    const { affiliate } = await affiliateOf('repeat@example.com');
    const first = await click(affiliate.code);
    const second = await click(affiliate.code, { referral: first.body.referral });
    expect(second.body.referral).toBe(first.body.referral);
  });
});

describe('admin API', () => {
  it('keeps programs apart: another program’s key gets 404 for this program’s affiliate', async () => {
    const { affiliate } = await affiliateOf('isolated@example.com');
    const other = await app.services.programs.create({ name: 'Other', website: 'https://other.test' });
    const otherAdmin = adminClient(app, other.apiKey);
    expect((await otherAdmin.get(`/api/v1/affiliates/${affiliate.id}`)).status).toBe(404);
    expect((await otherAdmin.post(`/api/v1/affiliates/${affiliate.id}/suspend`)).status).toBe(404);
    expect((await otherAdmin.get('/api/v1/affiliates')).body.data).toEqual([]);
    expect((await admin.get(`/api/v1/affiliates/${affiliate.id}`)).status).toBe(200);
  });

  it('requires a valid API key', async () => {
    const res = await app.request('/api/v1/affiliates');
    expect(res.status).toBe(401);
    const bad = await adminClient(app, 'sk_pk_nope').get('/api/v1/affiliates');
    expect(bad).toMatchObject({ status: 401, body: { error: { code: 'invalid_api_key' } } });
  });

  it('generates a unique code when none is given and refuses a taken one', async () => {
    const a = await admin.post('/api/v1/affiliates', { email: 'gen@example.com', name: 'Gen Erated' });
    expect(a.status).toBe(201);
    expect(a.body.affiliate.code).toMatch(/^generated-[a-z0-9]{4}$/);
    const dup = await admin.post('/api/v1/affiliates', {
      email: 'dup@example.com',
      name: 'Dup',
      code: a.body.affiliate.code,
    });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'code_taken' } } });
    const bad = await admin.post('/api/v1/affiliates', { email: 'not-an-email', name: 'X' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });

  it('creates links only to the merchant’s own site', async () => {
    const { affiliate } = await affiliateOf('links@example.com');
    const ok = await admin.post('/api/v1/links', {
      affiliateId: affiliate.id,
      slug: 'spring-sale',
      destinationUrl: 'https://www.acme.test/pricing',
      campaign: 'spring',
    });
    expect(ok.status).toBe(201);
    expect(ok.body.link).toMatchObject({
      slug: 'spring-sale',
      campaign: 'spring',
      destinationUrl: 'https://www.acme.test/pricing',
    });
    expect(ok.body.link.url).toMatch(/\/r\/spring-sale$/);
    const evil = await admin.post('/api/v1/links', { affiliateId: affiliate.id, destinationUrl: 'https://evil.test/' });
    expect(evil).toMatchObject({ status: 400, body: { error: { code: 'destination_not_allowed' } } });
    const list = await admin.get('/api/v1/links');
    expect(list.body.data.map((l: { slug: string }) => l.slug)).toContain('spring-sale');
  });
});

describe('GET /api/v1/stats', () => {
  it('shows the merchant the program at a glance, to the cent, and only their own program', async () => {
    const own = await app.services.programs.create({
      name: 'Stats',
      website: 'https://acme.test',
      stripeWebhookSecret: SECRET,
    });
    const ownAdmin = adminClient(app, own.apiKey);
    const a = (
      await ownAdmin.post('/api/v1/affiliates', { email: 'stats@example.com', name: 'Stat', status: 'approved' })
    ).body.affiliate;
    await ownAdmin.post('/api/v1/affiliates', { email: 'waiting@example.com', name: 'Wait' });
    const res = await app.request('/api/v1/track/click', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://acme.test', 'user-agent': BROWSER_UA },
      body: JSON.stringify({ key: own.publicKey, code: a.code }),
    });
    const { referral } = await res.json();
    await deliver(app.url, own.id, checkoutCompleted({ referral, amountTotal: 1999, currency: 'usd' }), SECRET);
    await app.services.stripeWebhooks.idle();

    const stats = await ownAdmin.get('/api/v1/stats?days=30');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({
      affiliates: { approved: 1, pending: 1 },
      clicks: 1,
      customers: 1,
      conversionRate: 1,
      sales: [{ currency: 'usd', sales: 1, revenue: 1999, refunded: 0 }],
      commissions: [{ currency: 'usd', pending: 200, approved: 0, paid: 0, balance: 0 }],
    });
    expect((await ownAdmin.get('/api/v1/stats?days=0')).status).toBe(400);
    // The first program's key sees only its own usd sale (the 19.99 of the first test), not this one.
    const first = await admin.get('/api/v1/stats');
    expect(first.body.sales.find((s: { currency: string }) => s.currency === 'usd')).toMatchObject({
      sales: 1,
      revenue: 1999,
    });
  });
});
