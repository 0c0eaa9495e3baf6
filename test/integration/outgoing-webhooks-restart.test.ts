/**
 * At-least-once across a crash: the app's own Agenda job delivers (real `npm start` processes, `JOBS=on`); the
 * first process is killed (SIGKILL) while its requests are in flight, a second one takes over. Every event of the
 * sale's life reaches each subscribed endpoint, under the same `webhook-id` when sent twice, and each (event,
 * endpoint) has exactly one delivery, delivered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../server/db/postgres.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, checkoutSale, clickReferral, openShop } from '../helpers/fixtures.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const root = path.resolve(import.meta.dirname, '../..');
const SECRET_KEY = 'test-secret-key-test-secret-key-0123456789';
let app: TestApp;
let receivers: WebhookReceiver[];
const children: ChildProcess[] = [];

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on', WEBHOOK_ALLOW_PRIVATE: 'on' });
  receivers = [await startWebhookReceiver(), await startWebhookReceiver()];
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await app?.stop();
  await Promise.all(receivers.map((r) => r.close()));
});

/** `npm start`'s process on the test database, delivering webhooks. */
async function server(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: app.databaseUrl,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      SECRET_KEY,
      JOBS: 'on',
      WEBHOOK_ALLOW_PRIVATE: 'on',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output };
}

it('delivers each event once per subscribed endpoint across a killed and restarted server', async () => {
  const shop = await openShop(app);
  const [all, money] = receivers as [WebhookReceiver, WebhookReceiver];
  for (const [r, eventTypes] of [
    [
      all,
      ['affiliate.approved', 'referral.created', 'conversion.created', 'commission.created', 'commission.approved'],
    ],
    [money, ['commission.created', 'commission.approved']],
  ] as const) {
    const res = await shop.admin.post('/api/v1/webhook-endpoints', { url: r.url, eventTypes });
    expect(res.status).toBe(201);
    r.secrets.push(res.body.webhookEndpoint.secret);
    r.delayMs = 5_000; // answers too late for the first process
  }
  // The events are made by this test's app (JOBS=off: it never delivers).
  const affiliate = await approvedAffiliate(shop);
  await checkoutSale(shop, await clickReferral(shop, affiliate.code), 10_000);
  await app.services.commissions.approveDue({ programId: shop.program.id, skipHold: true });
  const expected = await app.db
    .selectFrom('webhook_deliveries')
    .select(['event_id', 'endpoint_id'])
    .where('program_id', '=', shop.program.id)
    .execute();
  expect(expected).toHaveLength(7);

  const first = await server();
  await expect.poll(() => all.received.length + money.received.length, { timeout: 60_000 }).toBeGreaterThan(0);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  for (const r of receivers) r.delayMs = 0;

  const second = await server();
  await expect
    .poll(
      async () =>
        (
          await app.db
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('program_id', '=', shop.program.id)
            .where('status', '=', 'delivered')
            .execute()
        ).length,
      { timeout: 90_000, interval: 500 },
    )
    .toBe(7);
  const eventsOf = (endpointIndex: number) => {
    const endpointIds = [...new Set(expected.map((e) => e.endpoint_id))];
    return expected.filter((e) => e.endpoint_id === endpointIds[endpointIndex]).map((e) => e.event_id);
  };
  const byUrl = new Map<WebhookReceiver, string[]>();
  byUrl.set(all, [...new Set(all.received.map((w) => w.id))].sort());
  byUrl.set(money, [...new Set(money.received.map((w) => w.id))].sort());
  const sets = [eventsOf(0).sort(), eventsOf(1).sort()].sort((a, b) => b.length - a.length);
  expect(byUrl.get(all)).toEqual(sets[0]);
  expect(byUrl.get(money)).toEqual(sets[1]);
  expect(money.received.map((w) => w.type).sort()).toContain('commission.created');
  for (const w of [...all.received, ...money.received]) expect(w.verifiedWith).toEqual([0]);
  // Exactly one delivery row per (event, endpoint), all delivered.
  const rows = await app.db
    .selectFrom('webhook_deliveries')
    .select(['event_id', 'endpoint_id', 'status'])
    .where('program_id', '=', shop.program.id)
    .execute();
  expect(rows).toHaveLength(7);
  expect(second.output()).not.toMatch(/Unhandled/);
}, 180_000);
