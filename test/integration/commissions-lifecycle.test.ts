/**
 * A commission's life over real HTTP and PostgreSQL: the hold period on an injectable clock, refunds through the
 * real webhook route before payment (reversed) and after it (a clawback netted into the next payout), fraud checks
 * that hold a commission until the merchant decides, and the append-only history of every change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { deliver, freshId, loadEvent } from '../helpers/stripe.ts';
import {
  approvedAffiliate,
  checkout,
  click,
  createShop,
  DAY_MS,
  randomIp,
  recordPaidSale,
  type Shop,
} from '../helpers/commissions.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await app?.stop();
});

/** A referred checkout through the webhook route, processed; returns the commission and the payment intent. */
async function checkoutSale(shop: Shop, code: string, amount: number) {
  const referral = await click(app, shop, code);
  const { event } = await checkout(app, shop, referral, { amount });
  await app.services.stripeWebhooks.idle();
  const commission = await app.db
    .selectFrom('commissions')
    .innerJoin('conversions', 'conversions.id', 'commissions.conversion_id')
    .selectAll('commissions')
    .where('conversions.stripe_checkout_session_id', '=', event.data.object.id)
    .where('commissions.amount', '>=', 0)
    .executeTakeFirstOrThrow();
  return { commission, paymentIntent: event.data.object.payment_intent as string, amount };
}

/** A signed `charge.refunded` for the payment intent, cumulative `amount_refunded`, processed. */
async function refund(shop: Shop, sale: { paymentIntent: string; amount: number }, refunded: number) {
  const event = loadEvent('charge_refunded');
  event.id = freshId('evt');
  event.created = Math.floor(Date.now() / 1000);
  Object.assign(event.data.object, {
    id: freshId('ch'),
    payment_intent: sale.paymentIntent,
    invoice: null,
    amount: sale.amount,
    amount_refunded: refunded,
    currency: 'usd',
  });
  expect((await deliver(app.url, shop.id, event, shop.secret)).status).toBe(200);
  await app.services.stripeWebhooks.idle();
}

const commission = (id: string) =>
  app.db.selectFrom('commissions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const history = async (shop: Shop, id: string) =>
  (
    (await shop.admin.get(`/api/v1/commissions/${id}`)).body.commission.events as {
      from: string | null;
      to: string;
      actor: string;
      reason: string;
    }[]
  ).map((e) => `${e.from ?? '∅'}→${e.to} ${e.actor}`);

describe('hold period', () => {
  it('approves a commission only after the program’s hold period, on the app’s clock', async () => {
    const shop = await createShop(app);
    expect((await shop.admin.patch('/api/v1/program', { holdDays: 14 })).body.program.holdDays).toBe(14);
    const a = await approvedAffiliate(shop);
    const { commission: c } = await checkoutSale(shop, a.code, 5000);
    expect(c).toMatchObject({ status: 'pending', amount: 500 });
    expect(c.payable_at.getTime() - c.created_at.getTime()).toBeGreaterThan(14 * DAY_MS - 60_000);

    app.advance(13 * DAY_MS);
    try {
      expect(await app.services.commissions.approveDue({ programId: shop.id })).toBe(0);
      app.advance(DAY_MS + 60_000);
      expect(await app.services.commissions.approveDue({ programId: shop.id })).toBe(1);
      expect(await app.services.commissions.approveDue({ programId: shop.id })).toBe(0);
    } finally {
      app.advance(-(14 * DAY_MS + 60_000));
    }
    expect((await commission(c.id)).status).toBe('approved');
    expect(await history(shop, c.id)).toEqual(['∅→pending stripe', 'pending→approved system']);
    // The history is append-only: the database refuses to rewrite it.
    await expect(app.db.deleteFrom('commission_events').where('commission_id', '=', c.id).execute()).rejects.toThrow(
      /append-only/,
    );
  });
});

describe('refunds', () => {
  it('before payment: a full refund reverses the commission, which never reaches a payout', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const sale = await checkoutSale(shop, a.code, 20_000);
    await app.services.commissions.approveDue({ programId: shop.id, skipHold: true });
    await refund(shop, sale, 20_000);
    expect(await commission(sale.commission.id)).toMatchObject({ status: 'reversed', amount: 0 });
    expect((await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.error.code).toBe(
      'nothing_to_pay',
    );
  });

  it('after payment: a clawback is netted into the next payout', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const first = await checkoutSale(shop, a.code, 30_000); // earns 30.00
    await app.services.commissions.approveDue({ programId: shop.id, skipHold: true });
    const p1 = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.payout;
    expect(p1.amount).toBe(3000);
    await shop.admin.post(`/api/v1/payouts/${p1.id}/complete`, { reference: 'CHK-1' });

    await refund(shop, first, 10_000); // a third refunded → 10.00 clawed back
    const clawbacks = await app.db
      .selectFrom('commissions')
      .selectAll()
      .where('reverses_commission_id', '=', first.commission.id)
      .execute();
    expect(clawbacks.map((c) => [c.kind, c.amount, c.status])).toEqual([['clawback', -1000, 'approved']]);
    expect((await commission(first.commission.id)).status).toBe('paid');
    expect((await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0]).toMatchObject({
      clawbacks: -1000,
      balance: -1000,
      paid: 3000,
    });
    expect((await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.error.code).toBe(
      'nothing_to_pay',
    );

    await checkoutSale(shop, a.code, 25_000); // earns 25.00
    await app.services.commissions.approveDue({ programId: shop.id, skipHold: true });
    const p2 = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.payout;
    expect(p2.amount).toBe(1500); // 25.00 − 10.00
    expect(
      (await shop.admin.get(`/api/v1/payouts/${p2.id}`)).body.payout.commissions
        .map((c: { amount: number }) => c.amount)
        .sort(),
    ).toEqual([-1000, 2500]);
    await shop.admin.post(`/api/v1/payouts/${p2.id}/complete`, { reference: 'CHK-2' });
    expect((await commission(clawbacks[0]!.id)).status).toBe('paid');
    expect((await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0]).toMatchObject({
      balance: 0,
      paid: 3000 - 1000 + 2500,
    });
  });

  it('while its payout is still open: the commission counts as paid and is clawed back', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const sale = await checkoutSale(shop, a.code, 40_000);
    await app.services.commissions.approveDue({ programId: shop.id, skipHold: true });
    const p = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.payout;
    await refund(shop, sale, 40_000);
    const c = await commission(sale.commission.id);
    expect(c).toMatchObject({ status: 'approved', amount: 4000, payout_id: p.id });
    await shop.admin.post(`/api/v1/payouts/${p.id}/complete`, { reference: 'CHK-3' });
    expect((await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0]).toMatchObject({
      paid: 4000,
      clawbacks: -4000,
      balance: -4000,
    });
  });
});

describe('fraud checks', () => {
  it('holds a self-referral by e-mail until the merchant approves or rejects it', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop, 'jane.doe@partners.test');
    const referral = await click(app, shop, a.code);
    const held = await recordPaidSale(app, shop, referral, { amount: 10_000, email: 'Jane.Doe+shop@partners.test' });
    expect(held).toMatchObject({ status: 'on_hold', hold_reason: 'self_referral_email' });
    // The hold period passing does not approve a held commission.
    expect(await app.services.commissions.approveDue({ programId: shop.id, skipHold: true })).toBe(0);
    const listed = await shop.admin.get('/api/v1/commissions?status=on_hold');
    expect(listed.body.data).toEqual([expect.objectContaining({ id: held!.id, holdReason: 'self_referral_email' })]);

    const approved = await shop.admin.post(`/api/v1/commissions/${held!.id}/approve`, {
      reason: 'her company account, checked',
    });
    expect(approved.body.commission).toMatchObject({ status: 'approved' });
    expect(await history(shop, held!.id)).toEqual(['∅→on_hold stripe', 'on_hold→approved merchant']);

    const again = await recordPaidSale(app, shop, await click(app, shop, a.code), {
      amount: 10_000,
      email: 'jane.doe@partners.test',
    });
    const rejected = await shop.admin.post(`/api/v1/commissions/${again!.id}/reject`, { reason: 'self-referral' });
    expect(rejected.body.commission).toMatchObject({ status: 'rejected', reason: 'self-referral' });
    expect((await shop.admin.post(`/api/v1/commissions/${again!.id}/approve`)).body.error.code).toBe(
      'invalid_transition',
    );
  });

  it('holds a sale whose click came from the affiliate’s own login IP', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    const ip = randomIp();
    const token = new URL(a.setPasswordUrl).hash.replace('#set-password=', '');
    const login = await app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ token, password: 'correct horse battery' }),
    });
    expect(login.status).toBe(200);
    const own = await recordPaidSale(app, shop, await click(app, shop, a.code, { ip }), { amount: 10_000 });
    expect(own).toMatchObject({ status: 'on_hold', hold_reason: 'self_referral_ip' });
    const stranger = await recordPaidSale(app, shop, await click(app, shop, a.code, { ip: randomIp() }), {
      amount: 10_000,
    });
    expect(stranger).toMatchObject({ status: 'pending', hold_reason: null });
  });

  it('holds conversions above the program’s per-IP daily limit', async () => {
    const shop = await createShop(app);
    expect((await shop.admin.patch('/api/v1/program', { fraudIpDailyLimit: 2 })).body.program.fraudIpDailyLimit).toBe(
      2,
    );
    const a = await approvedAffiliate(shop);
    const ip = randomIp();
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (await recordPaidSale(app, shop, await click(app, shop, a.code, { ip }), { amount: 10_000 }))!.hold_reason,
      );
    expect(statuses).toEqual([null, null, 'ip_conversion_limit']);
    // Another IP the same day is fine; the limit can be switched off.
    expect((await recordPaidSale(app, shop, await click(app, shop, a.code), { amount: 10_000 }))!.status).toBe(
      'pending',
    );
    await shop.admin.patch('/api/v1/program', { fraudIpDailyLimit: null });
    expect((await recordPaidSale(app, shop, await click(app, shop, a.code, { ip }), { amount: 10_000 }))!.status).toBe(
      'pending',
    );
  });
});
