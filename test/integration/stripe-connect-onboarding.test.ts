/**
 * "Get paid with Stripe" over real HTTP and PostgreSQL against the loopback fake of Stripe's API: the partner's
 * Express account is created once through the program's key (even when asked twice at once), becomes the payout
 * method only with the partner's password, and the answer is a Stripe Account Link back to the dashboard;
 * `account.updated` (signed, a Connect event) keeps its state current, older events never overwrite newer ones, and
 * pay-all pays the account once Stripe says it is ready.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, approvedSales, createShop, type Shop } from '../helpers/commissions.ts';
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe-transfers.ts';
import { deliver, envelope } from '../helpers/stripe.ts';
import { waitFor } from '../helpers/wait.ts';

const PASSWORD = 'a long enough partner password';
let app: TestApp;
let stripe: FakeStripe;

beforeAll(async () => {
  stripe = await startFakeStripe();
  app = await startTestApp(
    { PUBLIC_URL: 'https://affiliates.shop.test', TRUST_PROXY: 'on' },
    { stripeEndpoint: stripe.endpoint },
  );
});
afterAll(async () => {
  await app?.stop();
  await stripe?.close();
});

/** An approved affiliate of `shop` with a password, logged in: a JSON client of the partner API. */
async function loggedIn(shop: Shop) {
  const a = await approvedAffiliate(shop);
  const token = a.setPasswordUrl.split('#set-password=')[1];
  const res = await app.request('/api/v1/partner/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  const csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const onboard = async (body: unknown) => {
    const r = await app.request('/api/v1/partner/stripe-connect/onboard', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  return { ...a, onboard };
}

const accountCreations = () => stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/accounts');

async function processed(shop: Shop, event: { id: string }) {
  expect((await deliver(app.url, shop.id, event, shop.secret)).status).toBe(200);
  return waitFor(async () => {
    const row = await app.db
      .selectFrom('stripe_events')
      .select(['status', 'error'])
      .where('id', '=', event.id)
      .executeTakeFirst();
    return row && row.status !== 'received' && row.status !== 'retrying' ? row : undefined;
  });
}

describe('Stripe Connect onboarding', () => {
  it('creates one Express account, needs the password, links to Stripe and back, and pays it once ready', async () => {
    const shop = await createShop(app);
    const partner = await loggedIn(shop);
    expect(await partner.onboard({ country: 'DE', password: PASSWORD })).toMatchObject({
      status: 422,
      body: { error: { code: 'stripe_not_configured' } },
    });
    await shop.admin.patch('/api/v1/program', { stripeApiKey: 'sk_test_51FakeKeyForConnect' });

    expect((await partner.onboard({ country: 'DE' })).status).toBe(400);
    expect((await partner.onboard({ country: 'Germany', password: PASSWORD })).status).toBe(400);
    expect(await partner.onboard({ country: 'DE', password: 'wrong' })).toMatchObject({
      status: 401,
      body: { error: { code: 'invalid_credentials' } },
    });
    const before = accountCreations().length;

    // Two clicks at once: one account.
    const [first, second] = await Promise.all([
      partner.onboard({ country: 'de', password: PASSWORD }),
      partner.onboard({ country: 'de', password: PASSWORD }),
    ]);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(second.body.accountId).toBe(first.body.accountId);
    expect(first.body).toMatchObject({
      accountId: expect.stringMatching(/^acct_/),
      status: 'needs_information',
      url: expect.stringMatching(/^https:\/\/connect\.stripe\.com\//),
    });
    const created = accountCreations().slice(before);
    expect(created).toHaveLength(1);
    expect(created[0]!.form).toMatchObject({
      type: 'express',
      country: 'DE',
      'capabilities[transfers][requested]': 'true',
      'metadata[partnerkit_affiliate_id]': partner.id,
    });
    expect(created[0]!.headers.authorization).toBe('Bearer sk_test_51FakeKeyForConnect');
    const link = stripe.requests.filter((r) => r.path === '/v1/account_links').at(-1)!;
    expect(link.form).toMatchObject({
      account: first.body.accountId,
      type: 'account_onboarding',
      return_url: 'https://affiliates.shop.test/partner/payouts?stripe=return',
      refresh_url: 'https://affiliates.shop.test/partner/payouts?stripe=refresh',
    });
    const affiliate = await app.db
      .selectFrom('affiliates')
      .select(['payout_method', 'payout_details'])
      .where('id', '=', partner.id)
      .executeTakeFirstOrThrow();
    expect(affiliate).toEqual({ payout_method: 'stripe_connect', payout_details: { accountId: first.body.accountId } });

    // Not ready yet: pay-all keeps the balance.
    await approvedSales(app, shop, partner.code, 1, 90_000);
    const notYet = (await shop.admin.post('/api/v1/payouts/pay-all', {})).body;
    expect(notYet.notPaid).toEqual([
      expect.objectContaining({ affiliateId: partner.id, reason: 'stripe_account_not_ready' }),
    ]);

    // The partner finishes onboarding; Stripe says so with account.updated (a Connect event).
    const ready = {
      ...stripe.accounts.get(first.body.accountId)!,
      capabilities: { transfers: 'active' },
      payouts_enabled: true,
      details_submitted: true,
      requirements: { currently_due: [], disabled_reason: null },
    };
    stripe.accounts.set(first.body.accountId, ready);
    const now = Math.floor(Date.now() / 1000);
    const updated = { ...envelope('account.updated', ready, { created: now }), account: first.body.accountId };
    expect(await processed(shop, updated)).toMatchObject({ status: 'processed' });
    // An older event delivered late does not undo it.
    const stale = envelope('account.updated', { ...ready, payouts_enabled: false }, { created: now - 60 });
    expect(await processed(shop, { ...stale, account: first.body.accountId } as { id: string })).toMatchObject({
      status: 'ignored',
      error: 'stale_event',
    });
    const again = await partner.onboard({ country: 'DE', password: PASSWORD });
    expect(again.body).toMatchObject({ accountId: first.body.accountId, status: 'ready' });
    expect(accountCreations().slice(before)).toHaveLength(1);

    const paid = (await shop.admin.post('/api/v1/payouts/pay-all', {})).body;
    expect(paid.paid).toEqual([expect.objectContaining({ affiliateId: partner.id, amount: 9000 })]);
    expect([...stripe.transfers.values()].filter((t) => t.destination === first.body.accountId)).toHaveLength(1);

    // An account partnerkit did not onboard is not ours to track.
    const foreign = envelope('account.updated', { ...ready, id: 'acct_1SomeoneElse000' });
    expect(await processed(shop, foreign)).toMatchObject({ status: 'ignored', error: 'account_not_found' });
  });
});
