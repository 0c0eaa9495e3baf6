/**
 * Payouts over real HTTP and PostgreSQL: balances, payouts by hand (never above the balance), complete and fail
 * (its commissions go back to the balance), the affiliate's own request, PayPal and Wise payment files, and
 * Stripe Connect transfers against a loopback fake of Stripe's API carrying the payout id as idempotency key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, approvedSales, createShop, savePayoutMethod } from '../helpers/commissions.ts';
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe-transfers.ts';

let app: TestApp;
let stripe: FakeStripe;

beforeAll(async () => {
  stripe = await startFakeStripe();
  app = await startTestApp({ TRUST_PROXY: 'on' }, { stripeEndpoint: stripe.endpoint });
});
afterAll(async () => {
  await app?.stop();
  await stripe?.close();
});

const statuses = async (ids: string[]) =>
  (
    await app.db
      .selectFrom('commissions')
      .select(['id', 'status', 'payout_id'])
      .where('id', 'in', ids)
      .orderBy('id')
      .execute()
  ).map((c) => [c.status, c.payout_id]);

describe('payouts by hand', () => {
  it('pays never more than the balance, in whole commissions, and completes with a reference', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const ids = await approvedSales(app, shop, a.code, 3, 10_000); // 3 × 10.00

    const tooMuch = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, amount: 3001, method: 'paypal' });
    expect(tooMuch).toMatchObject({ status: 422, body: { error: { code: 'insufficient_balance' } } });
    const notWhole = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, amount: 1500, method: 'paypal' });
    expect(notWhole).toMatchObject({ status: 422, body: { error: { code: 'amount_not_settleable' } } });
    expect(notWhole.body.error.message).toContain('1000');
    const bad = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, amount: -5 });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(bad.body.error.message).toMatch(/^amount/);

    const first = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, amount: 2000, method: 'paypal' });
    expect(first.status).toBe(201);
    expect(first.body.payout).toMatchObject({
      amount: 2000,
      currency: 'usd',
      status: 'pending',
      method: 'paypal',
      methodDetails: { email: a.email },
      requestedBy: 'merchant',
    });
    const rest = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' });
    expect(rest.body.payout).toMatchObject({ amount: 1000, method: 'check' });
    expect((await shop.admin.post('/api/v1/payouts', { affiliateId: a.id })).body.error.code).toBe('nothing_to_pay');

    const done = await shop.admin.post(`/api/v1/payouts/${first.body.payout.id}/complete`, {
      reference: 'PAYPAL-TXN-1',
    });
    expect(done.body.payout).toMatchObject({ status: 'completed', reference: 'PAYPAL-TXN-1' });
    expect(
      (await shop.admin.post(`/api/v1/payouts/${first.body.payout.id}/complete`, { reference: 'PAYPAL-TXN-1' })).status,
    ).toBe(200);
    expect(
      (await shop.admin.post(`/api/v1/payouts/${first.body.payout.id}/fail`, { reason: 'too late' })).body.error.code,
    ).toBe('invalid_transition');

    const detail = await shop.admin.get(`/api/v1/payouts/${first.body.payout.id}`);
    expect(detail.body.payout.commissions.map((c: { status: string }) => c.status)).toEqual(['paid', 'paid']);
    const balance = (await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0];
    expect(balance).toMatchObject({ paid: 2000, inPayouts: 1000, balance: 0 });
    const paidOne = detail.body.payout.commissions[0].id;
    expect(ids).toContain(paidOne);
    const history = (await shop.admin.get(`/api/v1/commissions/${paidOne}`)).body.commission.events;
    expect(history.map((e: { from: string | null; to: string; actor: string }) => [e.from, e.to, e.actor])).toEqual([
      [null, 'pending', 'stripe'],
      ['pending', 'approved', 'system'],
      ['approved', 'approved', 'merchant'],
      ['approved', 'paid', 'merchant'],
    ]);
    expect(history[3].reason).toBe(`payout_completed:${first.body.payout.id}`);
  });

  it('a failed payout returns its commissions to the balance, and the next payout takes them', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const ids = await approvedSales(app, shop, a.code, 2, 30_000);
    const p = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'paypal' })).body.payout;
    expect(p.amount).toBe(6000);
    expect((await shop.admin.post(`/api/v1/payouts/${p.id}/fail`, { reason: '' })).status).toBe(400);
    const failed = await shop.admin.post(`/api/v1/payouts/${p.id}/fail`, { reason: 'PayPal account closed' });
    expect(failed.body.payout).toMatchObject({ status: 'failed', failureReason: 'PayPal account closed' });
    expect(await statuses(ids)).toEqual([
      ['approved', null],
      ['approved', null],
    ]);
    expect((await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0]).toMatchObject({
      balance: 6000,
      inPayouts: 0,
    });
    // The failed payout still shows what it covered.
    expect((await shop.admin.get(`/api/v1/payouts/${p.id}`)).body.payout.commissions).toHaveLength(2);
    expect((await shop.admin.post(`/api/v1/payouts/${p.id}/complete`, { reference: 'x' })).body.error.code).toBe(
      'invalid_transition',
    );

    const again = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'bank_transfer' });
    expect(again).toMatchObject({ status: 422, body: { error: { code: 'no_payout_details' } } });
    const retry = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' });
    expect(retry.body.payout.amount).toBe(6000);
    expect(new Set((await statuses(ids)).map(([, payout]) => payout))).toEqual(new Set([retry.body.payout.id]));
  });

  it('keeps programs apart', async () => {
    const shop = await createShop(app);
    const other = await createShop(app);
    const a = await approvedAffiliate(shop);
    await approvedSales(app, shop, a.code, 1, 10_000);
    expect((await other.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).status).toBe(404);
    const p = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.payout;
    expect((await other.admin.post(`/api/v1/payouts/${p.id}/complete`, { reference: 'x' })).status).toBe(404);
    expect((await other.admin.get('/api/v1/balances')).body.data).toEqual([]);
  });
});

describe('the affiliate asks for a payout', () => {
  it('needs the minimum, a payout method and no open payout; then pays the whole balance', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await approvedSales(app, shop, a.code, 2, 20_000); // 40.00 < the 50.00 minimum

    const token = new URL(a.setPasswordUrl).hash.replace('#set-password=', '');
    const session = await app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.77' },
      body: JSON.stringify({ token, password: 'correct horse battery' }),
    });
    expect(session.status).toBe(200);
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = await session.json();
    const ask = (body: unknown = {}, csrf = csrfToken) =>
      app.request('/api/v1/partner/payouts/request', {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf, 'x-forwarded-for': '192.0.2.77' },
        body: JSON.stringify(body),
      });

    expect((await app.request('/api/v1/partner/payouts/request', { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await ask({}, 'wrong')).status).toBe(403);
    const below = await ask();
    expect(below.status).toBe(422);
    expect((await below.json()).error.code).toBe('below_minimum');

    await approvedSales(app, shop, a.code, 1, 20_000); // 60.00
    const noMethod = await ask({ currency: 'usd' });
    expect((await noMethod.json()).error.code).toBe('no_payout_method');
    await savePayoutMethod(app, a.id, 'paypal', { email: 'pat@paypal.test' });
    const ok = await ask();
    expect(ok.status).toBe(201);
    const { payouts } = await ok.json();
    expect(payouts).toEqual([
      expect.objectContaining({
        amount: 6000,
        currency: 'usd',
        method: 'paypal',
        requestedBy: 'affiliate',
        methodDetails: { email: 'pat@paypal.test' },
      }),
    ]);

    await approvedSales(app, shop, a.code, 3, 20_000);
    const open = await ask({ currency: 'usd' });
    expect(open.status).toBe(409);
    expect((await open.json()).error.code).toBe('payout_open');
    expect(await app.db.selectFrom('payouts').select('id').where('affiliate_id', '=', a.id).execute()).toHaveLength(1);
  });
});

describe('scheduled payouts and payment files', () => {
  it('generates one payout per affiliate and currency above the minimum, once per schedule occurrence, and exports them', async () => {
    const shop = await createShop(app);
    const pal = await approvedAffiliate(shop, 'pal@partners.test');
    const bank = await approvedAffiliate(shop, 'bank@partners.test');
    const small = await approvedAffiliate(shop, 'small@partners.test');
    const none = await approvedAffiliate(shop, 'none@partners.test');
    const suspended = await approvedAffiliate(shop, 'suspended@partners.test');
    await savePayoutMethod(app, pal.id, 'paypal', { email: '=HYPERLINK("x")@paypal.test' });
    await savePayoutMethod(app, bank.id, 'bank_transfer', {
      accountHolder: 'Bank Partner GmbH',
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      country: 'DE',
    });
    await savePayoutMethod(app, small.id, 'paypal', { email: 'small@paypal.test' });
    await approvedSales(app, shop, pal.code, 1, 99_990); // 99.99 usd
    await approvedSales(app, shop, bank.code, 1, 100_000, 'eur'); // 100.00 eur
    await approvedSales(app, shop, bank.code, 1, 100_000, 'jpy'); // ¥100,000 → ¥10,000
    await approvedSales(app, shop, small.code, 1, 10_000); // 10.00: below the minimum
    await approvedSales(app, shop, none.code, 1, 900_000); // no payout method: skipped
    await savePayoutMethod(app, suspended.id, 'paypal', { email: 'suspended@paypal.test' });
    await approvedSales(app, shop, suspended.code, 1, 900_000);
    expect((await shop.admin.post(`/api/v1/affiliates/${suspended.id}/suspend`)).status).toBe(200); // not paid while suspended

    // Monthly on the 1st (the default): the program was created after the last 1st, so nothing is due yet.
    expect((await shop.admin.get('/api/v1/program')).body.program).toMatchObject({
      payoutSchedule: '0 0 1 * *',
      minPayoutAmount: 5000,
    });
    expect(await app.services.payouts.generateDue({ programId: shop.id })).toEqual({ payouts: 0, batches: [] });
    // On the next 1st it is.
    const next = new Date((await shop.admin.get('/api/v1/program')).body.program.nextPayoutAt);
    const shift = next.getTime() - Date.now() + 60_000;
    app.advance(shift);
    try {
      const run = await app.services.payouts.generateDue({ programId: shop.id });
      expect(run.payouts).toBe(3);
      expect(await app.services.payouts.generateDue({ programId: shop.id })).toEqual({ payouts: 0, batches: [] });
      const batch = run.batches[0]!;
      const list = (await shop.admin.get(`/api/v1/payouts?batchId=${batch}`)).body.data as {
        affiliateId: string;
        amount: number;
        currency: string;
        method: string;
      }[];
      expect(list.map((p) => [p.affiliateId, p.amount, p.currency, p.method]).sort()).toEqual(
        [
          [pal.id, 9999, 'usd', 'paypal'],
          [bank.id, 10_000, 'eur', 'bank_transfer'],
          [bank.id, 10_000, 'jpy', 'bank_transfer'],
        ].sort(),
      );

      const paypal = await app.request(`/api/v1/payouts/export?format=paypal&batchId=${batch}`, {
        headers: { authorization: `Bearer ${shop.apiKey}` },
      });
      expect(paypal.status).toBe(200);
      expect(paypal.headers.get('content-type')).toMatch(/^text\/csv/);
      const palPayout = list.find((p) => p.affiliateId === pal.id) as unknown as { id: string };
      // One row, no header; a cell that a spreadsheet would run as a formula is defused with a quote.
      expect(await paypal.text()).toBe(
        `"'=HYPERLINK(""x"")@paypal.test",99.99,USD,${palPayout.id},${await expectedNote(shop, palPayout.id)},PAYPAL\n`,
      );

      const wise = await app.request(`/api/v1/payouts/export?format=wise&batchId=${batch}`, {
        headers: { authorization: `Bearer ${shop.apiKey}` },
      });
      const lines = (await wise.text()).trim().split('\n');
      expect(lines[0]).toBe(
        'name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,IBAN,BIC,accountNumber,abartn',
      );
      expect(lines.slice(1).sort()).toEqual(
        list
          .filter((p) => p.method === 'bank_transfer')
          .map((p) => {
            const id = (p as unknown as { id: string }).id;
            const amount = p.currency === 'eur' ? '100.00' : '10000';
            return `Bank Partner GmbH,bank@partners.test,${id},PRIVATE,target,${amount},${p.currency.toUpperCase()},${p.currency.toUpperCase()},DE89370400440532013000,COBADEFFXXX,,`;
          })
          .sort(),
      );
      const mixed = await app.request(`/api/v1/payouts/export?format=wise&batchId=${batch}&currency=eur`, {
        headers: { authorization: `Bearer ${shop.apiKey}` },
      });
      expect((await mixed.text()).trim().split('\n')).toHaveLength(2);
      const badFormat = await shop.admin.get('/api/v1/payouts/export?format=excel');
      expect(badFormat).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    } finally {
      app.advance(-shift);
    }
  });
});

async function expectedNote(shop: { id: string }, payoutId: string) {
  const program = await app.db
    .selectFrom('programs')
    .select('name')
    .where('id', '=', shop.id)
    .executeTakeFirstOrThrow();
  return `${program.name}: commission payout ${payoutId}`;
}

describe('Stripe Connect payouts', () => {
  it('transfer to the connected account with the payout id as idempotency key, then completes', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await savePayoutMethod(app, a.id, 'stripe_connect', { accountId: 'acct_1Pfake0000000001' });
    const ids = await approvedSales(app, shop, a.code, 2, 25_000);
    const p = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id })).body.payout;
    expect(p).toMatchObject({
      method: 'stripe_connect',
      amount: 5000,
      methodDetails: { accountId: 'acct_1Pfake0000000001' },
    });

    const noKey = await shop.admin.post(`/api/v1/payouts/${p.id}/process`);
    expect(noKey).toMatchObject({ status: 422, body: { error: { code: 'stripe_not_configured' } } });
    expect((await shop.admin.patch('/api/v1/program', { stripeApiKey: 'not-a-key' })).status).toBe(400);
    const settings = await shop.admin.patch('/api/v1/program', { stripeApiKey: 'rk_test_51FakeKeyForTransfers' });
    expect(settings.body.program).toMatchObject({ stripeApiKeySet: true });
    expect(JSON.stringify(settings.body)).not.toContain('rk_test_51FakeKeyForTransfers');

    const before = stripe.requests.length;
    const done = await shop.admin.post(`/api/v1/payouts/${p.id}/process`);
    expect(done.status).toBe(200);
    expect(done.body.payout).toMatchObject({
      status: 'completed',
      reference: expect.stringMatching(/^tr_fake_/),
      stripeTransferId: expect.stringMatching(/^tr_fake_/),
    });
    const sent = stripe.requests.slice(before).filter((r) => r.method === 'POST' && r.path === '/v1/transfers');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers['idempotency-key']).toBe(p.id);
    expect(sent[0]!.headers.authorization).toBe('Bearer rk_test_51FakeKeyForTransfers');
    expect(sent[0]!.form).toMatchObject({
      amount: '5000',
      currency: 'usd',
      destination: 'acct_1Pfake0000000001',
      transfer_group: p.id,
      'metadata[partnerkit_payout_id]': p.id,
    });
    expect(await statuses(ids)).toEqual([
      ['paid', p.id],
      ['paid', p.id],
    ]);
    // Processing a completed payout sends nothing more.
    expect((await shop.admin.post(`/api/v1/payouts/${p.id}/process`)).body.error.code).toBe('invalid_transition');
    expect(stripe.requests.slice(before).filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('fails the payout when Stripe refuses, and the commissions return to the balance', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await savePayoutMethod(app, a.id, 'stripe_connect', { accountId: 'acct_1Pfake0000000002' });
    await shop.admin.patch('/api/v1/program', { stripeApiKey: 'sk_test_51FakeKeyForTransfers' });
    const ids = await approvedSales(app, shop, a.code, 1, 70_000);
    const p = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id })).body.payout;
    stripe.failNextTransfer(400, {
      type: 'invalid_request_error',
      code: 'balance_insufficient',
      message: 'Insufficient funds in Stripe account.',
    });
    const res = await shop.admin.post(`/api/v1/payouts/${p.id}/process`);
    expect(res.body.payout).toMatchObject({ status: 'failed' });
    expect(res.body.payout.failureReason).toContain('balance_insufficient');
    expect(await statuses(ids)).toEqual([['approved', null]]);
    expect((await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0]).toMatchObject({
      balance: 7000,
    });
  });
});
