/**
 * What a logged-in affiliate reads and changes under `/api/v1/partner/*`, over real HTTP and PostgreSQL with
 * signed Stripe webhooks: overview numbers (checked against the database to the cent), daily stats, links,
 * referrals, commissions (+ CSV), payouts and payout method settings — and that one affiliate can never read
 * or change another's data (other affiliate of the same program, or the same e-mail in another program).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutSale, clickReferral, loggedInPartner, PARTNER_PASSWORD, type Shop } from '../helpers/fixtures.ts';
import type { CreatedProgram } from '../../server/programs/programs.service.ts';

const SECRET = 'whsec_partner_data_test';
const PASSWORD = PARTNER_PASSWORD;
const DAY = 86_400_000;

let app: TestApp;
let program: CreatedProgram;
let admin: ReturnType<typeof adminClient>;

type Session = Awaited<ReturnType<typeof partner>>;

function client(cookie: string, csrf: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(`/api/v1/partner${path}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const json = res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text;
    return { status: res.status, headers: res.headers, body: json };
  };
  return {
    get: (p: string) => call('GET', p),
    post: (p: string, b: unknown = {}) => call('POST', p, b),
    put: (p: string, b: unknown = {}) => call('PUT', p, b),
  };
}

/** An approved affiliate of `apiKey`'s program with a password, logged in. */
async function partner(email: string, apiKey = program.apiKey, code?: string) {
  const created = await adminClient(app, apiKey).post('/api/v1/affiliates', {
    email,
    name: `Partner ${email}`,
    code,
    status: 'approved',
  });
  expect(created.status).toBe(201);
  const session = await loggedInPartner(app, created.body.setPasswordUrl);
  return {
    id: created.body.affiliate.id as string,
    code: created.body.affiliate.code as string,
    ...client(session.headers.cookie, session.headers['x-csrf-token']),
  };
}

const shop = (): Shop => ({ app, program, admin, website: 'https://acme.test', secret: SECRET });
const click = (code: string) => clickReferral(shop(), code);
const sale = (referral: string, amountTotal: number, currency = 'usd') =>
  checkoutSale(shop(), referral, amountTotal, { currency });

async function commissionsOf(affiliateId: string) {
  return app.db
    .selectFrom('commissions')
    .selectAll()
    .where('affiliate_id', '=', affiliateId)
    .orderBy('created_at')
    .execute();
}

let ann: Session;
let ben: Session;
let annReferrals: string[] = [];

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' });
  program = await app.services.programs.create({
    name: 'Acme',
    website: 'https://acme.test',
    stripeWebhookSecret: SECRET,
  });
  admin = adminClient(app, program.apiKey);
  ann = await partner('ann@creator.test', program.apiKey, 'ann');
  ben = await partner('ben@creator.test', program.apiKey, 'ben');
  // Ann: four visitors, a lead, two sales (600.00 and 19.99 usd) and one in eur. Ben: one visitor, one sale.
  annReferrals = [await click('ann'), await click('ann'), await click('ann'), await click('ann')];
  const lead = await app.request('/api/v1/track/lead', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: 'https://acme.test' },
    body: JSON.stringify({ key: program.publicKey, referral: annReferrals[3], email: 'lena.lead@example.org' }),
  });
  expect(lead.status).toBe(200);
  await sale(annReferrals[0]!, 60_000);
  await sale(annReferrals[1]!, 1_999);
  await sale(annReferrals[2]!, 5_000, 'eur');
  await sale(await click('ben'), 7_000);
});
afterAll(async () => {
  await app?.stop();
});

describe('overview and stats', () => {
  it('reports the funnel and the money exactly as the database has them', async () => {
    const res = await ann.get('/overview');
    expect(res.status).toBe(200);
    const [sums] = (
      await sql<{ pending_usd: number; pending_eur: number }>`
        SELECT coalesce(sum(amount) FILTER (WHERE currency = 'usd' AND status = 'pending'), 0)::bigint AS pending_usd,
               coalesce(sum(amount) FILTER (WHERE currency = 'eur' AND status = 'pending'), 0)::bigint AS pending_eur
        FROM commissions WHERE affiliate_id = ${ann.id}`.execute(app.db)
    ).rows;
    expect(Number(sums!.pending_usd)).toBe(6_200); // 10 % of 600.00 + 10 % of 19.99 = 60.00 + 2.00
    expect(Number(sums!.pending_eur)).toBe(500);
    expect(res.body).toEqual({
      clicks: 4,
      leads: 4, // the lead and the three customers
      customers: 3,
      conversions: 3,
      conversionRate: 0.75,
      revenue: [
        { currency: 'eur', amount: 5_000 },
        { currency: 'usd', amount: 61_999 },
      ],
      earnings: [
        { currency: 'eur', pending: 500, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
        { currency: 'usd', pending: 6_200, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
      ],
      nextPayout: [
        { currency: 'eur', amount: 0, maturing: 500, minimum: 5_000, reachesMinimum: false },
        { currency: 'usd', amount: 0, maturing: 6_200, minimum: 5_000, reachesMinimum: false },
      ],
      nextPayoutDate: expect.stringMatching(/^\d{4}-\d{2}-01T00:00:00\.000Z$/),
    });
    const benOverview = await ben.get('/overview');
    expect(benOverview.body).toMatchObject({ clicks: 1, customers: 1, revenue: [{ currency: 'usd', amount: 7_000 }] });
  });

  it('gives per-day clicks, sales and earnings for 7 / 30 / 90 days, in the asked time zone', async () => {
    const week = await ann.get('/stats?days=7');
    expect(week.status).toBe(200);
    expect(week.body.dates).toHaveLength(7);
    expect(week.body.dates.at(-1)).toBe(new Date().toISOString().slice(0, 10));
    expect(week.body.clicks.reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(week.body.sales.at(-1)).toBe(3);
    expect(week.body.earnings).toEqual([
      { currency: 'eur', amounts: [0, 0, 0, 0, 0, 0, 500] },
      { currency: 'usd', amounts: [0, 0, 0, 0, 0, 0, 6_200] },
    ]);
    const auckland = await ann.get('/stats?days=90&tz=Pacific/Auckland');
    expect(auckland.body).toMatchObject({ days: 90, timeZone: 'Pacific/Auckland' });
    expect(auckland.body.dates).toHaveLength(90);
    expect(auckland.body.clicks.reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect((await ann.get('/stats?days=5')).status).toBe(400);
    expect(await ann.get('/stats?tz=Mars/Olympus')).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringMatching(/^tz/) } },
    });
    expect((await ann.get("/stats?tz=UTC';DROP TABLE clicks;--")).status).toBe(400);
  });
});

describe('links', () => {
  it('creates links on the merchant’s site only, with unique slugs, and counts their clicks', async () => {
    const created = await ann.post('/links', {
      slug: 'ann-spring',
      destinationUrl: 'https://www.acme.test/pricing',
      campaign: 'newsletter',
    });
    expect(created).toMatchObject({
      status: 201,
      body: {
        link: {
          slug: 'ann-spring',
          url: 'http://localhost:0/r/ann-spring',
          destinationUrl: 'https://www.acme.test/pricing',
          campaign: 'newsletter',
          clicks: 0,
        },
      },
    });
    expect(await ben.post('/links', { slug: 'ann-spring' })).toMatchObject({
      status: 409,
      body: { error: { code: 'slug_taken' } },
    });
    expect(await ann.post('/links', { destinationUrl: 'https://evil.test/x' })).toMatchObject({
      status: 400,
      body: { error: { code: 'destination_not_allowed' } },
    });
    expect(await ann.post('/links', { slug: 'has space' })).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringMatching(/^slug/) } },
    });
    const random = await ann.post('/links', {});
    expect(random.body.link).toMatchObject({ destinationUrl: 'https://acme.test', campaign: null });

    const visit = await app.request('/r/ann-spring', {
      redirect: 'manual',
      headers: {
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0 link-visitor',
        'x-forwarded-for': '203.0.113.250',
      },
    });
    expect(visit.status).toBe(302);
    const list = await ann.get('/links');
    expect(list.body.defaultLink).toEqual({ url: 'https://acme.test/?ref=ann', clicks: 4, conversions: 3 });
    expect(list.body.links.map((l: { slug: string }) => l.slug)).toEqual([random.body.link.slug, 'ann-spring']);
    expect(list.body.links[1]).toMatchObject({ clicks: 1, conversions: 0 });
    // Ben sees none of Ann's links.
    expect((await ben.get('/links')).body.links).toEqual([]);
  });
});

describe('referrals and commissions', () => {
  it('lists referred customers and leads with masked e-mails and their sales', async () => {
    const res = await ann.get('/referrals');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(4);
    const customers = res.body.data.filter((r: { status: string }) => r.status === 'customer');
    expect(customers).toHaveLength(3);
    expect(customers.every((r: { customer: string }) => r.customer === 'bi•••@s•••.io')).toBe(true);
    const lead = res.body.data.find((r: { status: string }) => r.status === 'lead');
    expect(lead).toMatchObject({ customer: 'le•••@e•••.org', sales: [], revenue: [] });
    const big = customers.find((r: { revenue: { amount: number }[] }) => r.revenue[0]?.amount === 60_000);
    expect(big.sales).toEqual([
      expect.objectContaining({
        amount: 60_000,
        currency: 'usd',
        commission: expect.objectContaining({ amount: 6_000, currency: 'usd', status: 'pending' }),
      }),
    ]);
    expect(JSON.stringify(res.body)).not.toContain('billz@supabase.io');
    expect(JSON.stringify(res.body)).not.toContain('lena.lead');
    expect((await ann.get('/referrals?limit=2&offset=2')).body).toMatchObject({
      total: 4,
      limit: 2,
      offset: 2,
      data: [{}, {}],
    });
    expect((await ben.get('/referrals')).body.total).toBe(1);
  });

  it('lists commissions with rule, status and payable date, filters by status, and shows one with its history', async () => {
    const res = await ann.get('/commissions');
    expect(res.body.total).toBe(3);
    const usd = res.body.data.find((c: { amount: number }) => c.amount === 6_000);
    const rows = await commissionsOf(ann.id);
    const row = rows.find((r) => r.amount === 6_000)!;
    expect(usd).toMatchObject({
      id: row.id,
      currency: 'usd',
      status: 'pending',
      kind: 'sale',
      rule: { rateBps: 1000, base: { amount: 60_000, currency: 'usd' }, description: '10% of 600.00 USD' },
      customer: 'bi•••@s•••.io',
      payableAt: row.payable_at.toISOString(),
    });
    expect(new Date(usd.payableAt).getTime() - new Date(usd.saleAt).getTime()).toBe(30 * DAY);

    // The merchant approves one; the filter and the detail follow.
    expect((await admin.post(`/api/v1/commissions/${row.id}/approve`)).status).toBe(200);
    const approved = await ann.get('/commissions?status=approved');
    expect(approved.body.data.map((c: { id: string }) => c.id)).toEqual([row.id]);
    expect((await ann.get('/commissions?status=pending,on_hold')).body.total).toBe(2);
    expect((await ann.get('/commissions?status=bogus')).status).toBe(400);
    const one = await ann.get(`/commissions/${row.id}`);
    expect(one.body.commission).toMatchObject({ id: row.id, status: 'approved' });
    expect(one.body.history.at(-1)).toMatchObject({ to: 'approved' });
  });

  it('exports the affiliate’s own commissions as CSV with exact decimal amounts', async () => {
    const res = await ann.get('/commissions.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="commissions-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = (res.body as string).trim().split('\n');
    expect(lines[0]).toBe(
      'id,created_at,status,kind,rule,sale_amount,amount,currency,amount_minor,payable_at,paid_at,payout_id,customer',
    );
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes(',6000,'))).toMatch(
      /,approved,sale,10% of 600\.00 USD,600\.00,60\.00,USD,6000,/,
    );
    expect(lines.find((l) => l.includes(',200,'))).toMatch(/,2\.00,USD,200,/);
    expect(lines.find((l) => l.includes('EUR'))).toMatch(/,50\.00,5\.00,EUR,500,/);
    const benCsv = (await ben.get('/commissions.csv')).body as string;
    expect(benCsv.trim().split('\n')).toHaveLength(2);
    for (const r of await commissionsOf(ann.id)) expect(benCsv).not.toContain(r.id);
  });
});

describe('payouts and payout method', () => {
  it('needs the password to set a payout method, validates it, and never touches another affiliate', async () => {
    expect((await ann.get('/payout-settings')).body).toEqual({
      method: null,
      details: null,
      summary: null,
      updatedAt: null,
    });
    expect(
      await ann.put('/payout-settings', { method: 'paypal', details: { email: 'ann@paypal.test' } }),
    ).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^password/) } } });
    expect(
      await ann.put('/payout-settings', { method: 'paypal', details: { email: 'ann@paypal.test' }, password: 'wrong' }),
    ).toMatchObject({ status: 401, body: { error: { code: 'invalid_credentials' } } });
    const badIban = await ann.put('/payout-settings', {
      method: 'bank_transfer',
      details: { accountHolder: 'Ann', iban: 'DE89 3704 0044 0532 0130 01', country: 'DE' },
      password: PASSWORD,
    });
    expect(badIban).toMatchObject({ status: 400, body: { error: { message: 'details.iban: is not a valid IBAN' } } });
    expect(
      (
        await ann.put('/payout-settings', {
          method: 'stripe_connect',
          details: { accountId: 'cus_123' },
          password: PASSWORD,
        })
      ).status,
    ).toBe(400);
    expect((await ann.put('/payout-settings', { method: 'check', details: {}, password: PASSWORD })).status).toBe(400);
    expect(
      (await app.db.selectFrom('affiliates').select('payout_method').where('id', '=', ann.id).executeTakeFirstOrThrow())
        .payout_method,
    ).toBeNull();

    const bank = await ann.put('/payout-settings', {
      method: 'bank_transfer',
      details: { accountHolder: 'Ann Creator', iban: 'de89 3704 0044 0532 0130 00', bic: 'cobadeffxxx', country: 'de' },
      password: PASSWORD,
    });
    expect(bank).toMatchObject({
      status: 200,
      body: {
        method: 'bank_transfer',
        details: { accountHolder: 'Ann Creator', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', country: 'DE' },
        summary: 'Bank transfer •••• 3000',
      },
    });
    const paypal = await ann.put('/payout-settings', {
      method: 'paypal',
      details: { email: 'ann@paypal.test' },
      password: PASSWORD,
    });
    expect(paypal.body).toMatchObject({
      method: 'paypal',
      details: { email: 'ann@paypal.test' },
      summary: 'PayPal ann@paypal.test',
    });
    const stored = await app.db
      .selectFrom('affiliates')
      .select(['id', 'payout_method', 'payout_details'])
      .where('id', 'in', [ann.id, ben.id])
      .orderBy('email')
      .execute();
    expect(stored).toEqual([
      { id: ann.id, payout_method: 'paypal', payout_details: { email: 'ann@paypal.test' } },
      { id: ben.id, payout_method: null, payout_details: null },
    ]);
  });

  it('shows the balance, the payout history with method and reference, and one payout with its commissions', async () => {
    const before = await ann.get('/payouts');
    expect(before.body).toMatchObject({
      total: 0,
      data: [],
      minimum: { amount: 5_000, currency: 'usd' },
      payoutMethod: { method: 'paypal', summary: 'PayPal ann@paypal.test' },
      openPayouts: 0,
      canRequest: true,
    });
    expect(before.body.balance.find((b: { currency: string }) => b.currency === 'usd')).toEqual({
      currency: 'usd',
      amount: 6_000,
      maturing: 200,
      minimum: 5_000,
      reachesMinimum: true,
    });

    const created = await admin.post('/api/v1/payouts', { affiliateId: ann.id });
    expect(created.status).toBe(201);
    const payoutId: string = created.body.payout.id;
    const during = await ann.get('/payouts');
    expect(during.body).toMatchObject({
      openPayouts: 1,
      canRequest: false,
      data: [{ id: payoutId, amount: 6_000, currency: 'usd', status: 'pending', method: 'paypal', commissions: 1 }],
    });
    expect(
      (await ann.get('/overview')).body.earnings.find((e: { currency: string }) => e.currency === 'usd'),
    ).toMatchObject({ approved: 0, inPayouts: 6_000 });

    expect((await admin.post(`/api/v1/payouts/${payoutId}/complete`, { reference: 'PAYPAL-TX-42' })).status).toBe(200);
    const after = await ann.get('/payouts');
    expect(after.body.data[0]).toMatchObject({
      id: payoutId,
      status: 'completed',
      reference: 'PAYPAL-TX-42',
      completedAt: expect.any(String),
    });
    expect(
      (await ann.get('/overview')).body.earnings.find((e: { currency: string }) => e.currency === 'usd'),
    ).toMatchObject({ paid: 6_000, inPayouts: 0 });
    const one = await ann.get(`/payouts/${payoutId}`);
    expect(one.body.payout).toMatchObject({ id: payoutId, amount: 6_000, reference: 'PAYPAL-TX-42' });
    expect(one.body.commissions).toEqual([expect.objectContaining({ amount: 6_000, status: 'paid', payoutId })]);
  });
});

describe('isolation between affiliates', () => {
  it('answers 404 for another affiliate’s commission or payout, and lists only one’s own rows', async () => {
    const annCommission = (await commissionsOf(ann.id))[0]!;
    const benCommission = (await commissionsOf(ben.id))[0]!;
    const annPayout = (
      await app.db.selectFrom('payouts').select('id').where('affiliate_id', '=', ann.id).executeTakeFirstOrThrow()
    ).id;
    expect(await ben.get(`/commissions/${annCommission.id}`)).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect((await ben.get(`/payouts/${annPayout}`)).status).toBe(404);
    expect((await ann.get(`/commissions/${benCommission.id}`)).status).toBe(404);
    expect((await ben.get('/commissions')).body.data.map((c: { id: string }) => c.id)).toEqual([benCommission.id]);
    expect((await ben.get('/payouts')).body).toMatchObject({ total: 0, data: [] });
    expect((await ben.get('/stats?days=7')).body.clicks.reduce((a: number, b: number) => a + b, 0)).toBe(1);
  });

  it('keeps the same e-mail in another program apart: login picks the program, data stays separate', async () => {
    const other = await app.services.programs.create({ name: 'Other', website: 'https://other.test' });
    const twin = await partner('ann@creator.test', other.apiKey, 'ann-other');
    expect((await twin.get('/me')).body).toMatchObject({
      affiliate: { id: twin.id, code: 'ann-other' },
      program: { id: other.id },
    });
    expect((await twin.get('/overview')).body).toMatchObject({ clicks: 0, customers: 0, revenue: [], earnings: [] });
    expect((await twin.get('/commissions')).body.total).toBe(0);
    expect((await twin.get(`/commissions/${(await commissionsOf(ann.id))[0]!.id}`)).status).toBe(404);
    const login = await app.request('/api/v1/partner/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.77' },
      body: JSON.stringify({ email: 'ann@creator.test', password: PASSWORD, program: other.id }),
    });
    const me = await app.request('/api/v1/partner/me', {
      headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! },
    });
    expect(((await me.json()) as { program: { id: string } }).program.id).toBe(other.id);
  });

  it('answers 401 on every partner route without a session, and ignores ids smuggled in the request', async () => {
    const routes: [string, string][] = [
      ['GET', '/me'],
      ['GET', '/overview'],
      ['GET', '/stats'],
      ['GET', '/links'],
      ['POST', '/links'],
      ['GET', '/referrals'],
      ['GET', '/commissions'],
      ['GET', '/commissions.csv'],
      ['GET', '/commissions/com_x'],
      ['GET', '/payouts'],
      ['GET', '/payouts/po_x'],
      ['GET', '/payout-settings'],
      ['PUT', '/payout-settings'],
      ['POST', '/logout'],
      ['POST', '/password/change'],
    ];
    for (const [method, path] of routes) {
      const res = await app.request(`/api/v1/partner${path}`, {
        method,
        headers: { cookie: 'pk_session=ps_forged', 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      expect([method, path, res.status]).toEqual([method, path, 401]);
    }
    // An affiliateId in the body or query changes nothing: the session decides whose data it is.
    const smuggled = await ben.post('/links', { slug: 'ben-own', affiliateId: ann.id });
    expect(smuggled.status).toBe(201);
    expect(
      (await app.db.selectFrom('links').select('affiliate_id').where('slug', '=', 'ben-own').executeTakeFirstOrThrow())
        .affiliate_id,
    ).toBe(ben.id);
    expect((await ben.get(`/commissions?affiliateId=${ann.id}`)).body.total).toBe(1);
  });
});

describe('concurrent reads', () => {
  it('answers a burst of overview requests alike, and never from before a committed sale', async () => {
    const before = (await ann.get('/overview')).body;
    const burst = await Promise.all(Array.from({ length: 12 }, () => ann.get('/overview')));
    for (const r of burst) expect(r.body).toEqual(before);
    // A sale lands while requests keep coming; any request sent after it is stored must count it.
    const during = Promise.all(Array.from({ length: 12 }, () => ann.get('/overview')));
    await sale(await click('ann'), 1_000);
    const after = await Promise.all(Array.from({ length: 6 }, () => ann.get('/overview')));
    for (const r of after) expect(r.body.conversions).toBe(before.conversions + 1);
    for (const r of await during) expect([before.conversions, before.conversions + 1]).toContain(r.body.conversions);
  });
});
