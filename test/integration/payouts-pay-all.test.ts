/**
 * Pay all due (`POST /api/v1/payouts/pay-all`, `payouts pay-all`) over real HTTP and PostgreSQL against the
 * loopback fake of Stripe's API: Stripe Connect transfers for ready accounts (one per payout, its id as
 * idempotency key), PayPal / Wise files for the others, who was not paid and why; a Stripe refusal in the middle of
 * a run fails that payout only and gives its balance back; an unknown outcome (5xx) is retried by the next run with
 * the same transfer; concurrent runs (two instances) make one transfer per payout; `transfer.reversed` fails the
 * payout, gives the balance back, and the next run pays it again exactly once.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/db/database.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, approvedSales, createShop, savePayoutMethod, type Shop } from '../helpers/commissions.ts';
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe-transfers.ts';
import { deliver, envelope, loadResource } from '../helpers/stripe.ts';
import { waitFor } from '../helpers/wait.ts';

let app: TestApp;
let stripe: FakeStripe;
let accountSeq = 0;

beforeAll(async () => {
  stripe = await startFakeStripe();
  app = await startTestApp({ TRUST_PROXY: 'on' }, { stripeEndpoint: stripe.endpoint });
});
afterAll(async () => {
  await app?.stop();
  await stripe?.close();
});

/** A connected account in the fake; `ready: false` lacks the transfers capability and payouts. */
function connectedAccount(ready = true): string {
  const id = `acct_1Fake${String(++accountSeq).padStart(10, '0')}`;
  stripe.accounts.set(id, {
    ...loadResource('account'),
    id,
    type: 'express',
    payouts_enabled: ready,
    capabilities: { transfers: ready ? 'active' : 'inactive' },
    requirements: {
      currently_due: ready ? [] : ['external_account'],
      disabled_reason: ready ? null : 'requirements.past_due',
    },
  });
  return id;
}

async function shopWithStripe(): Promise<Shop> {
  const shop = await createShop(app);
  expect((await shop.admin.patch('/api/v1/program', { stripeApiKey: 'rk_test_51FakeKeyForPayAll' })).status).toBe(200);
  return shop;
}

/** An approved affiliate paid by Stripe Connect with `n` approved commissions of `amount / 10` each. */
async function stripePartner(shop: Shop, opts: { n?: number; amount?: number; account?: string } = {}) {
  const a = await approvedAffiliate(shop);
  const accountId = opts.account ?? connectedAccount();
  await savePayoutMethod(app, a.id, 'stripe_connect', { accountId });
  const commissions = await approvedSales(app, shop, a.code, opts.n ?? 2, opts.amount ?? 30_000);
  return { ...a, accountId, commissions };
}

const payAll = (shop: Shop, body: Record<string, unknown> = {}) => shop.admin.post('/api/v1/payouts/pay-all', body);

/** Successful transfers the fake made to `destination`. */
const transfersTo = (destination: string) =>
  [...stripe.transfers.values()].filter((t) => t.destination === destination);

async function balanceOf(shop: Shop, affiliateId: string): Promise<number> {
  const rows = (await shop.admin.get(`/api/v1/balances?affiliateId=${affiliateId}`)).body.data;
  return rows[0]?.balance ?? 0;
}

async function commissionStates(ids: string[]) {
  return app.db.selectFrom('commissions').select(['status', 'payout_id']).where('id', 'in', ids).execute();
}

describe('pay all due', () => {
  it('pays ready Stripe accounts, exports PayPal and bank payouts, and says who was not paid and why', async () => {
    const shop = await shopWithStripe();
    const s1 = await stripePartner(shop);
    const s2 = await stripePartner(shop, { n: 1, amount: 80_000 });
    const notReady = await stripePartner(shop, { account: connectedAccount(false) });
    const missing = await stripePartner(shop, { account: 'acct_1FakeNobodyHasThis' });
    const paypal = await approvedAffiliate(shop);
    await savePayoutMethod(app, paypal.id, 'paypal', { email: 'pay.me@partners.test' });
    await approvedSales(app, shop, paypal.code, 1, 60_000);
    const bank = await approvedAffiliate(shop);
    await savePayoutMethod(app, bank.id, 'bank_transfer', {
      accountHolder: 'Bo Bank',
      iban: 'DE89370400440532013000',
      country: 'DE',
    });
    await approvedSales(app, shop, bank.code, 1, 70_000);
    const small = await stripePartner(shop, { n: 1, amount: 20_000 }); // 20.00 < the 50.00 minimum
    const noMethod = await approvedAffiliate(shop);
    await approvedSales(app, shop, noMethod.code, 1, 90_000);

    const dry = await payAll(shop, { dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.paid.map((l: any) => [l.affiliateId, l.amount, l.payoutId])).toEqual(
      expect.arrayContaining([
        [s1.id, 6000, null],
        [s2.id, 8000, null],
      ]),
    );
    expect(stripe.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    expect(await app.db.selectFrom('payouts').select('id').where('program_id', '=', shop.id).execute()).toEqual([]);

    const run = await payAll(shop);
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    const r = run.body;
    expect(r.paid).toHaveLength(2);
    expect(r.paid).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          affiliateId: s1.id,
          amount: 6000,
          currency: 'usd',
          transferId: expect.stringMatching(/^tr_fake_/),
        }),
        expect.objectContaining({ affiliateId: s2.id, amount: 8000, transferId: expect.stringMatching(/^tr_fake_/) }),
      ]),
    );
    for (const p of r.paid) {
      const sent = stripe.requests.filter((q) => q.method === 'POST' && q.form.transfer_group === p.payoutId);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.headers['idempotency-key']).toBe(p.payoutId);
      expect((await shop.admin.get(`/api/v1/payouts/${p.payoutId}`)).body.payout.status).toBe('completed');
    }
    expect(await commissionStates(s1.commissions)).toEqual([
      { status: 'paid', payout_id: r.paid.find((p: any) => p.affiliateId === s1.id).payoutId },
      { status: 'paid', payout_id: r.paid.find((p: any) => p.affiliateId === s1.id).payoutId },
    ]);

    expect(r.exported.map((l: any) => [l.affiliateId, l.method, l.amount]).sort()).toEqual(
      [
        [paypal.id, 'paypal', 6000],
        [bank.id, 'bank_transfer', 7000],
      ].sort(),
    );
    const reasons = Object.fromEntries(r.notPaid.map((n: any) => [n.affiliateId, n.reason]));
    expect(reasons).toEqual({
      [notReady.id]: 'stripe_account_not_ready',
      [missing.id]: 'stripe_account_missing',
      [small.id]: 'below_minimum',
      [noMethod.id]: 'no_payout_method',
    });
    expect(r.notPaid.find((n: any) => n.affiliateId === notReady.id).message).toContain('external_account');
    // Who was not paid keeps the balance.
    expect(await balanceOf(shop, notReady.id)).toBe(6000);
    expect(await balanceOf(shop, noMethod.id)).toBe(9000);

    // The payment files of the run hold exactly its PayPal and bank payouts.
    expect(r.exports.map((f: any) => [f.format, f.currency, f.count])).toEqual([
      ['paypal', 'usd', 1],
      ['wise', null, 1],
    ]);
    const paypalCsv = await app.request(r.exports[0].url, { headers: { authorization: `Bearer ${shop.apiKey}` } });
    expect(paypalCsv.status).toBe(200);
    const csv = await paypalCsv.text();
    expect(csv).toContain('pay.me@partners.test,60.00,USD');
    const wiseCsv = await (
      await app.request(r.exports[1].url, { headers: { authorization: `Bearer ${shop.apiKey}` } })
    ).text();
    expect(wiseCsv).toContain('DE89370400440532013000');
    expect(wiseCsv.trim().split('\n')).toHaveLength(2);

    // Run twice: nothing new is paid, nothing is sent again.
    const posts = stripe.requests.filter((q) => q.method === 'POST').length;
    const again = await payAll(shop);
    expect(again.body).toMatchObject({ paid: [], exported: [], exports: [], manual: [] });
    expect(again.body.notPaid.map((n: any) => n.reason).sort()).toEqual(
      ['below_minimum', 'no_payout_method', 'stripe_account_missing', 'stripe_account_not_ready'].sort(),
    );
    expect(stripe.requests.filter((q) => q.method === 'POST')).toHaveLength(posts);
  });

  it('validates its body and needs the API key', async () => {
    const shop = await shopWithStripe();
    expect(await payAll(shop, { currency: 'dollars' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    expect(await payAll(shop, { dryRun: 'yes' })).toMatchObject({ status: 400 });
    expect(await payAll(shop, { extra: 1 })).toMatchObject({ status: 400 });
    const anonymous = await app.request('/api/v1/payouts/pay-all', { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
  });
});

describe('transfer failures', () => {
  it('a Stripe refusal in the middle of a run fails that payout, gives its balance back, and pays the others', async () => {
    const shop = await shopWithStripe();
    const partners = [await stripePartner(shop), await stripePartner(shop), await stripePartner(shop)];
    const broken = partners[1]!;
    stripe.failTransfersTo(broken.accountId, {
      status: 400,
      type: 'invalid_request_error',
      code: 'insufficient_capabilities_for_transfer',
      message: 'Your destination account needs to have at least one of the following capabilities enabled: transfers',
    });
    const run = (await payAll(shop)).body;
    expect(run.paid.map((p: any) => p.affiliateId).sort()).toEqual([partners[0]!.id, partners[2]!.id].sort());
    expect(run.notPaid).toEqual([
      expect.objectContaining({
        affiliateId: broken.id,
        amount: 6000,
        reason: 'transfer_failed',
        payoutId: expect.stringMatching(/^po_/),
        message: expect.stringContaining('insufficient_capabilities_for_transfer'),
      }),
    ]);
    const failed = (await shop.admin.get(`/api/v1/payouts/${run.notPaid[0].payoutId}`)).body.payout;
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toContain('at least one of the following capabilities');
    expect(await commissionStates(broken.commissions)).toEqual([
      { status: 'approved', payout_id: null },
      { status: 'approved', payout_id: null },
    ]);
    expect(await balanceOf(shop, broken.id)).toBe(6000);

    // Fixed on Stripe's side: the next run pays it once, with a new payout (so a new idempotency key).
    stripe.failTransfersTo(broken.accountId, null);
    const retry = (await payAll(shop)).body;
    expect(retry.paid).toEqual([expect.objectContaining({ affiliateId: broken.id, amount: 6000 })]);
    expect(retry.paid[0].payoutId).not.toBe(failed.id);
    expect(transfersTo(broken.accountId)).toHaveLength(1);
    for (const p of partners) expect(transfersTo(p.accountId)).toHaveLength(1);
    expect((await payAll(shop)).body.paid).toEqual([]);
  });

  it('an unknown outcome (Stripe 5xx) leaves the payout processing; the next run completes it with one transfer', async () => {
    const shop = await shopWithStripe();
    const p = await stripePartner(shop);
    stripe.failTransfersTo(p.accountId, { status: 500, type: 'api_error', message: 'An unknown error occurred' });
    const first = (await payAll(shop)).body;
    expect(first.paid).toEqual([]);
    expect(first.notPaid).toEqual([expect.objectContaining({ affiliateId: p.id, reason: 'stripe_unavailable' })]);
    const payoutId = first.notPaid[0].payoutId;
    expect((await shop.admin.get(`/api/v1/payouts/${payoutId}`)).body.payout.status).toBe('processing');
    expect(await balanceOf(shop, p.id)).toBe(0); // the commissions stay in the open payout

    stripe.failTransfersTo(p.accountId, null);
    const second = (await payAll(shop)).body;
    expect(second.paid).toEqual([expect.objectContaining({ payoutId, affiliateId: p.id, amount: 6000 })]);
    expect(transfersTo(p.accountId)).toEqual([expect.objectContaining({ transfer_group: payoutId, amount: 6000 })]);
  }, 30_000);

  it('transfer.reversed fails the payout, gives the balance back, and the next run pays it again exactly once', async () => {
    const shop = await shopWithStripe();
    const p = await stripePartner(shop);
    const paid = (await payAll(shop)).body.paid[0];
    const transfer = stripe.transfers.get(paid.transferId)!;

    const reversal = (reversed: boolean, amountReversed: number) =>
      envelope('transfer.reversed', {
        ...loadResource('transfer'),
        ...transfer,
        reversed,
        amount_reversed: amountReversed,
      });
    const processed = async (event: { id: string }) => {
      expect((await deliver(app.url, shop.id, event, shop.secret)).status).toBe(200);
      return waitFor(async () => {
        const row = await app.db
          .selectFrom('stripe_events')
          .select(['status', 'error'])
          .where('id', '=', event.id)
          .executeTakeFirst();
        return row && row.status !== 'received' && row.status !== 'retrying' ? row : undefined;
      });
    };

    // A partial reversal leaves the payout completed: which commissions it took back is the merchant's call.
    const partial = await processed(reversal(false, 1000));
    expect(partial).toMatchObject({ status: 'ignored', error: 'partial_reversal' });
    expect((await shop.admin.get(`/api/v1/payouts/${paid.payoutId}`)).body.payout.status).toBe('completed');

    const full = reversal(true, 6000);
    expect(await processed(full)).toMatchObject({ status: 'processed' });
    const failed = (await shop.admin.get(`/api/v1/payouts/${paid.payoutId}`)).body.payout;
    expect(failed).toMatchObject({
      status: 'failed',
      failureReason: expect.stringContaining(`${paid.transferId} was reversed`),
    });
    expect(await commissionStates(p.commissions)).toEqual([
      { status: 'approved', payout_id: null },
      { status: 'approved', payout_id: null },
    ]);
    expect(await balanceOf(shop, p.id)).toBe(6000);
    // The same event again (Stripe retries) changes nothing.
    expect((await deliver(app.url, shop.id, full, shop.secret)).status).toBe(200);
    expect(await balanceOf(shop, p.id)).toBe(6000);

    const again = (await payAll(shop)).body;
    expect(again.paid).toEqual([expect.objectContaining({ affiliateId: p.id, amount: 6000 })]);
    expect(again.paid[0].payoutId).not.toBe(paid.payoutId);
    expect(transfersTo(p.accountId).map((t) => t.transfer_group)).toEqual([paid.payoutId, again.paid[0].payoutId]);
    expect((await payAll(shop)).body.paid).toEqual([]);
    expect(transfersTo(p.accountId)).toHaveLength(2);
    const history = await app.db
      .selectFrom('commissions')
      .select(['status', 'payout_id'])
      .where('id', 'in', p.commissions)
      .execute();
    expect(history).toEqual([
      { status: 'paid', payout_id: again.paid[0].payoutId },
      { status: 'paid', payout_id: again.paid[0].payoutId },
    ]);
  });
});

describe('concurrent runs', () => {
  it('two instances running pay-all at once make one transfer per payout', async () => {
    const shop = await shopWithStripe();
    const partners = [];
    for (let i = 0; i < 5; i++) partners.push(await stripePartner(shop, { n: 1, amount: 50_000 + i * 10_000 }));
    // A second instance: its own pool and services on the same database.
    const handle = openDatabase(app.databaseUrl, 4);
    const config = loadConfig({
      DATABASE_URL: app.databaseUrl,
      PORT: '0',
      SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
      LOG_LEVEL: 'error',
    });
    const other = createServices(handle.db, config, { stripeEndpoint: stripe.endpoint });
    const program = (await other.programs.findById(shop.id))!;
    const viaOther = () =>
      other.payAll.payAll(program, {}).then(
        (body) => ({ status: 200, body }),
        (err) => ({ status: err.status ?? 500, body: { error: { code: err.code } } }),
      );
    stripe.transferDelayMs = 40;
    try {
      const runs = await Promise.all([payAll(shop), viaOther(), payAll(shop), viaOther()]);
      let paid = 0;
      // The runs overlap (each holds the program's lock for its five delayed transfers): some are refused.
      expect(runs.filter((r) => r.status === 409).length).toBeGreaterThan(0);
      for (const run of runs) {
        if (run.status === 409) expect(run.body.error.code).toBe('pay_all_running');
        else {
          expect(run.status).toBe(200);
          paid += (run.body as any).paid.length;
        }
      }
      expect(paid).toBe(5);
    } finally {
      stripe.transferDelayMs = 0;
      await handle.close();
    }
    for (const p of partners) expect(transfersTo(p.accountId)).toHaveLength(1);
    const payouts = await app.db.selectFrom('payouts').selectAll().where('program_id', '=', shop.id).execute();
    expect(payouts.map((p) => p.status)).toEqual(Array(5).fill('completed'));
    expect((await payAll(shop)).body.paid).toEqual([]);
  });
});

describe('the CLI', () => {
  it('payouts pay-all --json exports the PayPal payouts of the run, and a second run finds nothing new', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await savePayoutMethod(app, a.id, 'paypal', { email: 'cli@partners.test' });
    await approvedSales(app, shop, a.code, 1, 55_000);
    const root = path.resolve(import.meta.dirname, '../..');
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
          cwd: root,
          env: {
            ...process.env,
            DATABASE_URL: app.databaseUrl,
            SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const first = await cli('payouts', 'pay-all', '--program', shop.id, '--json');
    expect(first.status, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out.exported).toEqual([expect.objectContaining({ affiliateId: a.id, amount: 5500, method: 'paypal' })]);
    expect(out.exports[0].url).toContain(`batchId=${out.batchId}`);
    const second = JSON.parse((await cli('payouts', 'pay-all', '--program', shop.id, '--json')).stdout);
    expect(second.exported).toEqual([]);
  }, 60_000);
});
