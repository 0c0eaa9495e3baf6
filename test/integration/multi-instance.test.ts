/**
 * Two app instances on ONE PostgreSQL database, as behind a load balancer (`TRUST_PROXY=on`), both with Agenda
 * workers (`JOBS=on`), started at the same moment on a fresh database: every guarantee that must hold across
 * processes, checked over real HTTP with the order of requests varied by fast-check.
 * - A Stripe event delivered to both (Stripe retries, or two endpoints) is stored once and processed once: one
 *   conversion, one commission.
 * - The recurring jobs exist once, and when one comes due both workers race for it and it runs once
 *   (approve-commissions approves each commission once; generate-payouts pays each balance once).
 * - A burst of wrong passwords split across both instances is verified exactly `LOCKOUT_THRESHOLD` times; the
 *   right password is refused afterwards on either.
 * - Payouts created on both at once never take more than the balance, nor a commission twice.
 */
import fc from 'fast-check';
import { Job } from 'agenda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { APPROVE_COMMISSIONS } from '../../server/jobs/approve-commissions.ts';
import { GENERATE_PAYOUTS } from '../../server/jobs/generate-payouts.ts';
import { LOCKOUT_THRESHOLD } from '../../server/partner/access/access.service.ts';
import type { TestApp } from '../helpers/app.ts';
import { freshDatabaseUrl } from '../helpers/db.ts';
import { checkoutCompleted, deliver } from '../helpers/stripe.ts';
import {
  approvedAffiliate,
  approvedSales,
  click,
  createShop,
  DAY_MS,
  referredSale,
  savePayoutMethod,
} from '../helpers/commissions.ts';
import { waitFor } from '../helpers/wait.ts';

let instances: [TestApp, TestApp];
/** One clock for both (they share the database, so they share time too). */
let offset = 0;
const pick = (i: number) => instances[i]!;

/** An instance as `startTestApp` makes one, but on `databaseUrl` (not a database of its own). */
async function startInstance(databaseUrl: string): Promise<TestApp> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    // Every instance of one deployment runs with the same SECRET_KEY.
    SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
    JOBS: 'on',
    LOG_LEVEL: 'error',
    TRUST_PROXY: 'on',
  });
  const app = createApp(config, { now: () => new Date(Date.now() + offset) });
  const running = await app.start();
  return {
    ...running,
    advance: (ms) => {
      offset += ms;
    },
    stop: app.stop,
    request: (path, init) => fetch(running.url + path, init),
    databaseUrl,
  };
}

beforeAll(async () => {
  const databaseUrl = await freshDatabaseUrl();
  // At the same moment: migrations, Agenda's schema and the recurring schedules must all cope.
  instances = (await Promise.all([startInstance(databaseUrl), startInstance(databaseUrl)])) as [TestApp, TestApp];
  expect(instances[0].url).not.toBe(instances[1].url);
});
afterAll(async () => {
  await Promise.all((instances ?? []).map((i) => i?.stop()));
});

describe('starting', () => {
  it('three more processes starting at the same moment on one fresh database all come up', async () => {
    const databaseUrl = await freshDatabaseUrl();
    const started = await Promise.race([
      Promise.allSettled([0, 1, 2].map(() => startInstance(databaseUrl))),
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000)),
    ]);
    try {
      expect(started).not.toBe('hung');
      const apps = (started as PromiseSettledResult<TestApp>[]).map((s) =>
        s.status === 'fulfilled' ? s.value : s.reason,
      );
      for (const app of apps) expect((await app.request('/api/v1/openapi.json')).status).toBe(200);
    } finally {
      if (started !== 'hung')
        await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    }
  }, 40_000);
});

const db = () => instances[0].db;
/** Both instances' in-process Stripe processing has settled. */
const settled = () => Promise.all(instances.map((i) => i.services.stripeWebhooks.idle()));

describe('a Stripe event delivered to both instances', () => {
  it('is stored once and makes one conversion and one commission, whatever the order of deliveries', async () => {
    const app = instances[0];
    const shop = await createShop(app);
    await fc.assert(
      fc.asyncProperty(
        // Which instance each delivery goes to (all sent at once); both get at least one.
        fc
          .array(fc.integer({ min: 0, max: 1 }), { minLength: 2, maxLength: 6 })
          .filter((to) => to.includes(0) && to.includes(1)),
        fc.integer({ min: 500, max: 50_000 }),
        async (to, amount) => {
          const a = await approvedAffiliate(shop);
          const referral = await click(pick(to[0]!), shop, a.code);
          const event = checkoutCompleted({ referral, amountTotal: amount });
          const answers = await Promise.all(to.map((i) => deliver(pick(i).url, shop.id, event, shop.secret)));
          expect(answers.map((r) => r.status)).toEqual(to.map(() => 200));
          await waitFor(async () => {
            await settled();
            const row = await db()
              .selectFrom('stripe_events')
              .select('status')
              .where('program_id', '=', shop.id)
              .where('id', '=', event.id)
              .executeTakeFirst();
            return row?.status === 'processed' ? row : undefined;
          });
          await settled();
          for (const i of [0, 1]) {
            const conversions = await pick(i).request(`/api/v1/conversions?affiliateId=${a.id}`, {
              headers: { authorization: `Bearer ${shop.apiKey}` },
            });
            expect((await conversions.json()).data).toEqual([expect.objectContaining({ amount })]);
          }
          const commissions = await db()
            .selectFrom('commissions')
            .selectAll()
            .where('affiliate_id', '=', a.id)
            .execute();
          expect(commissions).toHaveLength(1);
          expect(commissions[0]!.amount).toBe(Math.round(amount / 10));
          const stored = await db()
            .selectFrom('stripe_events')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('id', '=', event.id)
            .executeTakeFirstOrThrow();
          expect(Number(stored.n)).toBe(1);
        },
      ),
      { numRuns: 6 },
    );
  });
});

describe('scheduled jobs', () => {
  it('exist once: both instances upserted the same recurring schedules', async () => {
    const rows = await db()
      .selectFrom('agenda_jobs' as any)
      .select(['name' as any])
      .where('type' as any, '=', 'single')
      .execute();
    const names = rows.map((r: any) => r.name as string).sort();
    expect(names).toEqual([...new Set(names)]);
    expect(names).toEqual(expect.arrayContaining([APPROVE_COMMISSIONS, GENERATE_PAYOUTS]));
  });

  it('run once across both when they come due, and their effects happen once', async () => {
    const runs: Record<string, number[]> = { [APPROVE_COMMISSIONS]: [0, 0], [GENERATE_PAYOUTS]: [0, 0] };
    const completes: Record<string, number> = { [APPROVE_COMMISSIONS]: 0, [GENERATE_PAYOUTS]: 0 };
    instances.forEach((inst, i) => {
      for (const name of [APPROVE_COMMISSIONS, GENERATE_PAYOUTS]) {
        // `start`/`complete` of this process's own runs (remote ones are relayed with a third argument).
        inst.scheduler!.agenda.on(`start:${name}`, (_job: unknown, remote?: unknown) => {
          if (!remote) runs[name]![i]!++;
        });
        inst.scheduler!.agenda.on(`complete:${name}`, (_job: unknown, remote?: unknown) => {
          if (!remote) completes[name]!++;
        });
      }
    });
    /** Make the recurring job due now, through instance `from` (both workers are told, and race for it). */
    async function due(name: string, from: number) {
      const agenda = pick(from).scheduler!.agenda;
      const { jobs } = await agenda.queryJobs({ name });
      expect(jobs).toHaveLength(1);
      const before = completes[name]!;
      await new Job(agenda, jobs[0]!).schedule(new Date()).save();
      await waitFor(async () => (completes[name]! > before ? true : undefined));
      // Time for a second run, were the other worker to take it too.
      await new Promise((r) => setTimeout(r, 500));
    }

    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 1, max: 3 }),
        async (approveFrom, payFrom, affiliates) => {
          const app = instances[0];
          const shop = await createShop(app);
          const team = [];
          for (let k = 0; k < affiliates; k++) {
            const a = await approvedAffiliate(shop);
            await savePayoutMethod(app, a.id, 'paypal', { email: `${a.id}@paypal.test` });
            // Two sales of 300.00 at the default 10 %: 60.00 each, past the 50.00 minimum once approved.
            for (let s = 0; s < 2; s++) await referredSale(app, shop, a.code, { amount: 30_000 });
            team.push(a);
          }
          // Past the 30-day hold period and the program's monthly payout date, on both instances.
          app.advance(40 * DAY_MS);

          const approveBefore = [...runs[APPROVE_COMMISSIONS]!];
          await due(APPROVE_COMMISSIONS, approveFrom);
          const approveRuns = runs[APPROVE_COMMISSIONS]!.map((n, i) => n - approveBefore[i]!);
          expect(approveRuns.reduce((x, y) => x + y)).toBe(1);
          for (const a of team) {
            const events = await db()
              .selectFrom('commission_events as e')
              .innerJoin('commissions as c', 'c.id', 'e.commission_id')
              .select(['e.commission_id', 'e.to_status'])
              .where('c.affiliate_id', '=', a.id)
              .where('e.to_status', '=', 'approved')
              .execute();
            expect(events).toHaveLength(2);
          }

          const payBefore = [...runs[GENERATE_PAYOUTS]!];
          await due(GENERATE_PAYOUTS, payFrom);
          const payRuns = runs[GENERATE_PAYOUTS]!.map((n, i) => n - payBefore[i]!);
          expect(payRuns.reduce((x, y) => x + y)).toBe(1);
          for (const a of team) {
            const payouts = await db().selectFrom('payouts').selectAll().where('affiliate_id', '=', a.id).execute();
            expect(payouts.map((p) => p.amount)).toEqual([6_000]);
            const balance = await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`);
            expect(balance.body.data[0]).toMatchObject({ balance: 0, inPayouts: 6_000 });
          }
        },
      ),
      { numRuns: 4 },
    );
    // Over all rounds, each instance won some races or the other did; never both the same one.
    expect(runs[APPROVE_COMMISSIONS]!.reduce((x, y) => x + y)).toBe(completes[APPROVE_COMMISSIONS]);
  }, 120_000);
});

describe('login lockout across instances', () => {
  it('a burst of wrong passwords split across both locks the account at the limit', async () => {
    const app = instances[0];
    const shop = await createShop(app);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1 }), {
          minLength: LOCKOUT_THRESHOLD + 1,
          maxLength: 3 * LOCKOUT_THRESHOLD,
        }),
        async (to) => {
          const a = await approvedAffiliate(shop, `split${++n}-${Date.now()}@partners.test`);
          const token = a.setPasswordUrl.split('#set-password=')[1]!;
          const password = 'correct horse battery staple';
          const send = (i: number, body: unknown, ip: string) =>
            pick(i).request('/api/v1/partner/login', {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
              body: JSON.stringify(body),
            });
          const set = await pick(to[0]!).request('/api/v1/partner/password', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `2001:db8:5e7::${n.toString(16)}` },
            body: JSON.stringify({ token, password }),
          });
          expect(set.status).toBe(200);
          const answers = await Promise.all(
            to.map((i, k) =>
              send(
                i,
                { email: a.email, password: `wrong ${k}` },
                `2001:db8:${n.toString(16)}::${(k + 1).toString(16)}`,
              ),
            ),
          );
          const statuses = answers.map((r) => r.status);
          expect(statuses.filter((s) => s === 401)).toHaveLength(LOCKOUT_THRESHOLD);
          expect(statuses.filter((s) => s === 429)).toHaveLength(to.length - LOCKOUT_THRESHOLD);
          for (const i of [0, 1]) {
            const right = await send(i, { email: a.email, password }, `2001:db8:ffff::${(n * 2 + i).toString(16)}`);
            expect(right.status).toBe(429);
            expect(await right.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
            expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
          }
        },
      ),
      { numRuns: 4 },
    );
  });
});

describe('payouts created on both instances at once', () => {
  it('never take more than the balance, nor a commission twice', async () => {
    const app = instances[0];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 30 }),
        fc.constantFrom(1_000, 2_000, undefined),
        async (to, amount) => {
          const shop = await createShop(app);
          const a = await approvedAffiliate(shop);
          // 5 sales of 100.00: 5 commissions of 10.00, a balance of 50.00.
          const commissionIds = await approvedSales(app, shop, a.code, 5, 10_000);
          const answers = await Promise.all(
            to.map((i) =>
              pick(i).request('/api/v1/payouts', {
                method: 'POST',
                headers: { authorization: `Bearer ${shop.apiKey}`, 'content-type': 'application/json' },
                body: JSON.stringify({ affiliateId: a.id, method: 'paypal', ...(amount ? { amount } : {}) }),
              }),
            ),
          );
          const statuses = answers.map((r) => r.status);
          expect(statuses.every((s) => s === 201 || s === 422)).toBe(true);
          const payouts = await db().selectFrom('payouts').selectAll().where('affiliate_id', '=', a.id).execute();
          const paid = payouts.reduce((sum, p) => sum + p.amount, 0);
          expect(paid).toBeLessThanOrEqual(5 * 1_000);
          // As many as fit: whole commissions of 10.00 (2 per payout of 20.00), or the whole balance at once.
          const fits = amount === undefined ? 1 : Math.floor(5_000 / amount);
          expect(payouts).toHaveLength(Math.min(fits, to.length));
          expect(statuses.filter((s) => s === 201)).toHaveLength(payouts.length);
          const items = await db()
            .selectFrom('payout_items')
            .innerJoin('payouts', 'payouts.id', 'payout_items.payout_id')
            .select(['payout_items.commission_id'])
            .where('payouts.affiliate_id', '=', a.id)
            .execute();
          expect(new Set(items.map((i) => i.commission_id)).size).toBe(items.length);
          expect(items.every((i) => commissionIds.includes(i.commission_id))).toBe(true);
          const balance = await shop.admin.get(`/api/v1/balances?affiliateId=${a.id}`);
          expect(balance.body.data[0].balance).toBe(5_000 - paid);
          expect(balance.body.data[0].balance).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 6 },
    );
  });
});
