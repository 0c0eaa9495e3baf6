/**
 * The merchant's commission desk over real HTTP and PostgreSQL, on commissions made by real signed Stripe sales:
 * bulk approve / reject (`POST /api/v1/commissions/bulk`) with a result per id over mixed states, idempotent and
 * safe when two bulk requests race (each change written once), refused to a console viewer (403) and above 100
 * ids (400); the detail (`GET /api/v1/commissions/:id`) with its rule, conversion, history and Stripe Dashboard
 * links; the list's affiliate search and sort; the program-scoped, formula-safe CSV export.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runCli } from '../helpers/cli.ts';
import { consoleClient, type ConsoleClient } from '../helpers/console.ts';
import { approvedAffiliate, checkoutSale, clickReferral, openShop, type Shop } from '../helpers/fixtures.ts';
import { commissionResponses } from '../../server/commissions/commissions.schemas.ts';
import { COMMISSION_CSV_COLUMNS } from '../../server/commissions/commissions.service.ts';

let app: TestApp;
let shop: Shop;
let ann: { id: string; code: string; email: string };
let bob: { id: string; code: string; email: string };
let ruleId: string;

interface Listed {
  id: string;
  affiliateId: string;
  amount: number;
  status: string;
  holdReason: string | null;
}

/** A test-mode sale (`livemode: false`) by `code`'s affiliate; `email` is the customer's. Its commission. */
async function sale(s: Shop, code: string, amount: number, email?: string): Promise<Listed> {
  const referral = await clickReferral(s, code);
  await checkoutSale(s, referral, amount, {
    edit: (event) => {
      event.livemode = false;
      event.data.object.livemode = false;
      if (email) event.data.object.customer_details = { ...event.data.object.customer_details, email };
    },
  });
  const row = await s.app.db
    .selectFrom('commissions')
    .innerJoin('conversions', 'conversions.id', 'commissions.conversion_id')
    .select('commissions.id')
    .where('conversions.referral_id', '=', referral)
    .executeTakeFirstOrThrow();
  return (await s.admin.get(`/api/v1/commissions/${row.id}`)).body.commission;
}

/** A console member of the shop's program with `role`, logged in through the invitation link. */
async function member(role: 'owner' | 'viewer'): Promise<ConsoleClient> {
  const email = `${role}-${Date.now()}@acme.test`;
  const { inviteUrl } = await app.services.console.addMember(shop.program.id, { email, role });
  const client = consoleClient(app);
  const token = new URL(inviteUrl!).hash.replace('#invite=', '');
  const res = await client.call('POST', '/api/v1/console/invite/accept', { token, password: `${role} password 123` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  client.programId = shop.program.id;
  return client;
}

const eventsOf = (id: string) =>
  app.db
    .selectFrom('commission_events')
    .select(['from_status', 'to_status', 'actor', 'reason'])
    .where('commission_id', '=', id)
    .orderBy('id')
    .execute();

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' });
  shop = await openShop(app);
  ann = await approvedAffiliate(shop, { name: 'Ann Archer' });
  bob = await approvedAffiliate(shop, { name: 'Bob Baker' });
  const rule = await shop.admin.post('/api/v1/commission-rules', {
    name: 'Launch 25%',
    type: 'percentage',
    rateBps: 2500,
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  ruleId = rule.body.rule.id;
});
afterAll(async () => {
  await app?.stop();
});

describe('bulk approve / reject', () => {
  it('approves pending and held ones, reports approved ones as unchanged, and refuses the rest, per id', async () => {
    const pending = await sale(shop, ann.code, 10_000);
    // The customer pays with the affiliate's own e-mail: held by the fraud check.
    const held = await sale(shop, ann.code, 4_000, ann.email);
    expect(held).toMatchObject({ status: 'on_hold', holdReason: 'self_referral_email' });
    const approved = await sale(shop, bob.code, 2_000);
    expect((await shop.admin.post(`/api/v1/commissions/${approved.id}/approve`)).status).toBe(200);
    const rejected = await sale(shop, bob.code, 3_000);
    expect((await shop.admin.post(`/api/v1/commissions/${rejected.id}/reject`)).status).toBe(200);
    const approvedEvents = (await eventsOf(approved.id)).length;

    const res = await shop.admin.post('/api/v1/commissions/bulk', {
      action: 'approve',
      ids: [pending.id, held.id, approved.id, rejected.id, 'com_doesnotexist', pending.id],
      reason: 'checked the orders',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { results } = commissionResponses.bulk.parse(res.body);
    expect(results.map((r) => [r.id, r.outcome, r.commission?.status ?? r.error?.code])).toEqual([
      [pending.id, 'changed', 'approved'],
      [held.id, 'changed', 'approved'],
      [approved.id, 'unchanged', 'approved'],
      [rejected.id, 'error', 'invalid_transition'],
      ['com_doesnotexist', 'error', 'not_found'],
    ]);
    // Moved through the single routes' rule: one merchant entry each, with the reason; the no-op wrote nothing.
    expect((await eventsOf(pending.id)).at(-1)).toEqual({
      from_status: 'pending',
      to_status: 'approved',
      actor: 'merchant',
      reason: 'checked the orders',
    });
    expect((await eventsOf(held.id)).at(-1)).toMatchObject({ from_status: 'on_hold', to_status: 'approved' });
    expect(await eventsOf(approved.id)).toHaveLength(approvedEvents);

    const rejecting = await shop.admin.post('/api/v1/commissions/bulk', {
      action: 'reject',
      ids: [pending.id, rejected.id],
      reason: 'test orders',
    });
    expect(rejecting.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['changed', 'unchanged']);
    expect((await eventsOf(pending.id)).at(-1)).toMatchObject({ to_status: 'rejected', reason: 'test orders' });
    const stored = await app.db
      .selectFrom('commissions')
      .select('reason')
      .where('id', '=', pending.id)
      .executeTakeFirst();
    expect(stored?.reason).toBe('test orders');
  });

  it('two bulk approves of the same commissions at once write each change once', async () => {
    const ids = [
      (await sale(shop, ann.code, 1_000)).id,
      (await sale(shop, bob.code, 1_100)).id,
      (await sale(shop, ann.code, 1_200)).id,
    ];
    const [a, b] = await Promise.all([
      shop.admin.post('/api/v1/commissions/bulk', { action: 'approve', ids }),
      shop.admin.post('/api/v1/commissions/bulk', { action: 'approve', ids: [...ids].reverse() }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    for (const id of ids) {
      const outcomes = [a, b].map((r) => r.body.results.find((x: { id: string }) => x.id === id).outcome).sort();
      expect(outcomes).toEqual(['changed', 'unchanged']);
      const merchant = (await eventsOf(id)).filter((e) => e.actor === 'merchant');
      expect(merchant).toEqual([
        { from_status: 'pending', to_status: 'approved', actor: 'merchant', reason: 'approved_by_merchant' },
      ]);
    }
  });

  it('refuses a console viewer (403 read_only) and changes nothing; an owner’s session approves', async () => {
    const c = await sale(shop, bob.code, 5_000);
    const viewer = await member('viewer');
    const refused = await viewer.call('POST', '/api/v1/commissions/bulk', { action: 'approve', ids: [c.id] });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('read_only');
    expect((await shop.admin.get(`/api/v1/commissions/${c.id}`)).body.commission.status).toBe('pending');
    // The viewer still reads.
    expect((await viewer.call('GET', `/api/v1/commissions/${c.id}`)).status).toBe(200);

    const owner = await member('owner');
    const done = await owner.call('POST', '/api/v1/commissions/bulk', { action: 'approve', ids: [c.id] });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.results[0]).toMatchObject({ outcome: 'changed', commission: { status: 'approved' } });
  });

  it('answers 400 for more than 100 ids, none, or an unknown action, before touching anything', async () => {
    const c = await sale(shop, ann.code, 6_000);
    const many = [c.id, ...Array.from({ length: 100 }, (_, i) => `com_${i}`)];
    for (const body of [
      { action: 'approve', ids: many },
      { action: 'approve', ids: [] },
      { action: 'pay', ids: [c.id] },
      { action: 'approve', ids: ['not an id!'] },
    ]) {
      const res = await shop.admin.post('/api/v1/commissions/bulk', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect((await shop.admin.get(`/api/v1/commissions/${c.id}`)).body.commission.status).toBe('pending');
  });
});

describe('CLI', { timeout: 90_000 }, () => {
  it('`commissions approve|reject <ids...>` decides several at once, through the same rule, per id', async () => {
    const a = await sale(shop, ann.code, 1_500);
    const b = await sale(shop, bob.code, 2_500);
    const cli = (...args: string[]) => runCli(app.databaseUrl, args);
    const approve = await cli(
      'commissions',
      'approve',
      a.id,
      b.id,
      'com_missing',
      '--program',
      shop.program.id,
      '--json',
    );
    expect(approve.status, approve.stderr).toBe(1);
    const { results } = JSON.parse(approve.stdout);
    expect(results.map((r: any) => [r.id, r.outcome, r.error?.code ?? r.commission.status])).toEqual([
      [a.id, 'changed', 'approved'],
      [b.id, 'changed', 'approved'],
      ['com_missing', 'error', 'not_found'],
    ]);
    const reject = await cli(
      'commissions',
      'reject',
      a.id,
      '--program',
      shop.program.id,
      '--reason',
      'duplicate order',
    );
    expect(reject.status, reject.stderr).toBe(0);
    expect(reject.stdout.trim()).toBe(`${a.id}: changed (rejected)`);
    expect((await eventsOf(a.id)).at(-1)).toMatchObject({
      to_status: 'rejected',
      actor: 'merchant',
      reason: 'duplicate order',
    });
  });
});

describe('detail', () => {
  it('shows the rule, the conversion, the whole history and the Stripe objects linked to the test Dashboard', async () => {
    const c = await sale(shop, ann.code, 8_000);
    await shop.admin.post(`/api/v1/commissions/${c.id}/approve`, { reason: 'looks fine' });
    const res = await shop.admin.get(`/api/v1/commissions/${c.id}`);
    expect(res.status).toBe(200);
    const { commission } = commissionResponses.detail.parse(res.body);
    expect(commission).toMatchObject({
      amount: 2_000,
      ruleId,
      rule: { id: ruleId, name: 'Launch 25%', rateBps: 2500 },
    });
    expect(commission.conversion).toMatchObject({ amount: 8_000, source: 'stripe' });
    expect(commission.events.map((e) => [e.from, e.to, e.actor])).toEqual([
      [null, 'pending', 'stripe'],
      ['pending', 'approved', 'merchant'],
    ]);
    expect(commission.events[1]!.reason).toBe('looks fine');
    const conv = commission.conversion!;
    expect(commission.stripe.livemode).toBe(false);
    const byKind = Object.fromEntries(commission.stripe.objects.map((o) => [o.kind, o]));
    expect(byKind.payment_intent).toEqual({
      kind: 'payment_intent',
      id: conv.stripePaymentIntentId,
      dashboardUrl: `https://dashboard.stripe.com/test/payments/${conv.stripePaymentIntentId}`,
    });
    expect(byKind.customer!.dashboardUrl).toBe(`https://dashboard.stripe.com/test/customers/${conv.stripeCustomerId}`);
    expect(byKind.checkout_session).toEqual({
      kind: 'checkout_session',
      id: conv.stripeCheckoutSessionId,
      dashboardUrl: null,
    });
    expect(byKind.event!.id).toMatch(/^evt_/);
  });

  it('a live-mode sale links to the live Dashboard; another program’s commission is a 404', async () => {
    const referral = await clickReferral(shop, bob.code);
    await checkoutSale(shop, referral, 9_000);
    const [row] = await app.db
      .selectFrom('commissions')
      .innerJoin('conversions', 'conversions.id', 'commissions.conversion_id')
      .select('commissions.id')
      .where('conversions.referral_id', '=', referral)
      .execute();
    const { commission } = (await shop.admin.get(`/api/v1/commissions/${row!.id}`)).body;
    expect(commission.stripe.livemode).toBe(true);
    const pi = commission.stripe.objects.find((o: { kind: string }) => o.kind === 'payment_intent');
    expect(pi.dashboardUrl).toBe(`https://dashboard.stripe.com/payments/${pi.id}`);
    const other = await openShop(app, { name: 'Other' });
    expect((await other.admin.get(`/api/v1/commissions/${row!.id}`)).status).toBe(404);
  });
});

describe('list and export', () => {
  it('searches by the affiliate’s name, e-mail or code and sorts', async () => {
    const bobs = (await shop.admin.get('/api/v1/commissions?search=baker&limit=500')).body.data as Listed[];
    expect(bobs.length).toBeGreaterThan(0);
    expect(bobs.every((c) => c.affiliateId === bob.id)).toBe(true);
    const byCode = (await shop.admin.get(`/api/v1/commissions?search=${ann.code}&limit=500`)).body.data as Listed[];
    expect(byCode.every((c) => c.affiliateId === ann.id)).toBe(true);
    const sorted = (await shop.admin.get('/api/v1/commissions?sort=amount&limit=500')).body.data as Listed[];
    expect(sorted.map((c) => c.amount)).toEqual([...sorted.map((c) => c.amount)].sort((x, y) => x - y));
    expect((await shop.admin.get('/api/v1/commissions?sort=bogus')).status).toBe(400);
    expect((await shop.admin.get('/api/v1/commissions?search=nobody-at-all')).body.data).toEqual([]);
  });

  it('exports the program’s commissions as formula-safe CSV, filtered like the list', async () => {
    const other = await openShop(app, { name: 'Other shop' });
    const eve = await approvedAffiliate(other, { name: '=HYPERLINK("http://evil.test")' });
    await sale(other, eve.code, 7_000);
    const res = await app.request('/api/v1/commissions/export?status=approved', {
      headers: { authorization: `Bearer ${shop.program.apiKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="commissions-\d{4}-\d{2}-\d{2}\.csv"/);
    const [header, ...rows] = parse(await res.text()) as string[][];
    expect(header).toEqual([...COMMISSION_CSV_COLUMNS]);
    const listed = (await shop.admin.get('/api/v1/commissions?status=approved&limit=500')).body.data as Listed[];
    expect(rows.map((r) => r[0]).sort()).toEqual(listed.map((c) => c.id).sort());
    const col = (name: string) => COMMISSION_CSV_COLUMNS.indexOf(name as never);
    const first = rows.find((r) => r[0] === listed[0]!.id)!;
    expect(first[col('status')]).toBe('approved');
    expect(first[col('amount')]).toMatch(/^\d+\.\d{2}$/);

    const theirs = await app.request('/api/v1/commissions/export', {
      headers: { authorization: `Bearer ${other.program.apiKey}` },
    });
    const [, ...theirRows] = parse(await theirs.text()) as string[][];
    expect(theirRows).toHaveLength(1);
    expect(theirRows[0]![col('affiliate_name')]).toBe(`'=HYPERLINK("http://evil.test")`);
    expect(theirRows[0]![col('amount')]).toBe('7.00');
    expect(
      (
        await app.request('/api/v1/commissions/export?status=nope', {
          headers: { authorization: `Bearer ${other.program.apiKey}` },
        })
      ).status,
    ).toBe(400);
  });
});
