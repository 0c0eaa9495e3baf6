/**
 * Payouts under concurrency, on real PostgreSQL: fifty simultaneous create-payout requests for one affiliate
 * never pay more than the balance nor a commission twice, and two Agenda workers (two pools, as two processes)
 * running `generate-payouts` at once create one payout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { createServices } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createScheduler } from '../../server/jobs/scheduler.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, approvedSales, createShop, savePayoutMethod } from '../helpers/commissions.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await app?.stop();
});

async function payoutsOf(affiliateId: string) {
  return app.db.selectFrom('payouts').selectAll().where('affiliate_id', '=', affiliateId).execute();
}
async function itemsOf(affiliateId: string) {
  return app.db
    .selectFrom('payout_items')
    .innerJoin('payouts', 'payouts.id', 'payout_items.payout_id')
    .select(['payout_items.commission_id', 'payout_items.amount', 'payouts.status'])
    .where('payouts.affiliate_id', '=', affiliateId)
    .execute();
}

describe('50 concurrent create-payout requests for one affiliate', () => {
  it('pay exactly the balance in whole commissions, each commission once (partial amounts)', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    // 10 sales of 100.00 at the default 10 % = 10 commissions of 10.00: a balance of 100.00.
    const commissionIds = await approvedSales(app, shop, a.code, 10, 10_000);
    expect((await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data).toEqual([
      expect.objectContaining({ currency: 'usd', approved: 10_000, balance: 10_000, inPayouts: 0 }),
    ]);

    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        shop.admin.post('/api/v1/payouts', { affiliateId: a.id, amount: 1000, method: 'paypal' }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 422)).toHaveLength(40);
    expect(
      results
        .filter((r) => r.status === 422)
        .every((r) => ['insufficient_balance', 'nothing_to_pay'].includes(r.body.error.code)),
    ).toBe(true);

    const payouts = await payoutsOf(a.id);
    expect(payouts).toHaveLength(10);
    expect(payouts.reduce((s, p) => s + p.amount, 0)).toBe(10_000);
    const items = await itemsOf(a.id);
    expect(items).toHaveLength(10);
    expect(new Set(items.map((i) => i.commission_id)).size).toBe(10);
    expect(new Set(items.map((i) => i.commission_id))).toEqual(new Set(commissionIds));
    const balance = (await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`)).body.data[0];
    expect(balance).toMatchObject({ balance: 0, approved: 0, inPayouts: 10_000 });
  });

  it('create one payout of the whole balance when all ask for everything', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await approvedSales(app, shop, a.code, 3, 20_000);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 422).map((r) => r.body.error.code)).toEqual(
      Array(49).fill('nothing_to_pay'),
    );
    const payouts = await payoutsOf(a.id);
    expect(payouts.map((p) => [p.amount, p.method, p.status])).toEqual([[6000, 'check', 'pending']]);
    expect(await itemsOf(a.id)).toHaveLength(3);
  });
});

describe('generate-payouts on two Agenda workers at once', () => {
  it('creates one payout per affiliate and currency', async () => {
    const shop = await createShop(app);
    const a = await approvedAffiliate(shop);
    await savePayoutMethod(app, a.id, 'paypal', { email: 'pat@paypal.test' });
    await approvedSales(app, shop, a.code, 6, 10_000); // 60.00 ≥ the 50.00 minimum
    // Every minute, so an occurrence after the program's creation is due two minutes from now.
    expect((await shop.admin.patch('/api/v1/program', { payoutSchedule: '* * * * *' })).status).toBe(200);

    const config = loadConfig({
      DATABASE_URL: app.databaseUrl,
      PORT: '0',
      SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
      LOG_LEVEL: 'error',
    });
    const clock = () => new Date(Date.now() + 120_000);
    // Two processes: each its own pool, services and Agenda. The second starts once the first has created
    // Agenda's table (as a real deployment would: one migrates first).
    const workers = [];
    for (let i = 0; i < 2; i++) {
      const handle = openDatabase(app.databaseUrl, 5);
      const services = createServices(handle.db, config, { now: clock });
      const scheduler = createScheduler({
        pool: handle.pool,
        commissions: services.commissions,
        payouts: services.payouts,
      });
      await scheduler.agenda.ready;
      workers.push({ handle, scheduler });
    }
    try {
      // Count the two on-demand runs as they complete, on whichever worker takes them.
      let onDemandRuns = 0;
      for (const w of workers) {
        // Local completions only: Agenda also relays other processes' events (`remote = true`).
        w.scheduler.agenda.on('complete:generate-payouts', (job, remote) => {
          if (remote) return;
          if ((job.attrs.data as { programId?: string } | undefined)?.programId === shop.id) onDemandRuns++;
        });
      }
      // Processes start one after the other (the first creates Agenda's table); each upserts the shared
      // recurring schedule, which runs at once, and each is asked to run the job now: up to three runs overlap.
      for (const w of workers) await w.scheduler.start();
      await Promise.all(workers.map((w) => w.scheduler.agenda.now('generate-payouts', { programId: shop.id })));
      const until = Date.now() + 20_000;
      while (onDemandRuns < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(onDemandRuns).toBe(2);
    } finally {
      for (const w of workers) {
        await w.scheduler.stop();
        await w.handle.close();
      }
    }
    const payouts = await payoutsOf(a.id);
    expect(payouts).toHaveLength(1);
    expect(payouts[0]).toMatchObject({
      amount: 6000,
      currency: 'usd',
      method: 'paypal',
      status: 'pending',
      requested_by: 'system',
    });
    expect(payouts[0]!.method_details).toEqual({ email: 'pat@paypal.test' });
    expect(payouts[0]!.idempotency_key).toMatch(/^schedule:/);
    const program = await app.db
      .selectFrom('programs')
      .select('payouts_generated_for')
      .where('id', '=', shop.id)
      .executeTakeFirstOrThrow();
    expect(program.payouts_generated_for).not.toBeNull();
  });
});
