/**
 * Outgoing webhooks, seen from a merchant's receiver that verifies every request with the `standardwebhooks`
 * library: each event of a sale's life (click, sale, commission, approval, refund, payout) arrives once per
 * subscribed endpoint, signed, with the admin API's shapes; unsubscribed types never come; a receiver failing three
 * times gets the event once more and no more; rotation signs with both secrets for a day; loopback is refused unless
 * allowed; an endpoint failing for 3 days is disabled with a notice in the outbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEventType } from '../../server/outgoing-webhooks/events.ts';
import { webhookPayloadShape } from '../../server/outgoing-webhooks/webhook-endpoints.schemas.ts';
import { RETRY_DELAYS_MS } from '../../server/outgoing-webhooks/webhook-endpoints.service.ts';
import { createServices } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createSecretBox } from '../../server/lib/secrets.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, clickReferral, openShop, type Shop } from '../helpers/fixtures.ts';
import { chargeRefunded, checkoutCompleted, deliver } from '../helpers/stripe.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const HOUR = 3_600_000;
/** The key `startTestApp` encrypts with. */
const TEST_SECRET_KEY = 'test-secret-key-test-secret-key-0123456789';
let app: TestApp;
/** What the app logged (mails are logged: no SMTP_URL). */
const logged: string[] = [];
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on', WEBHOOK_ALLOW_PRIVATE: 'on' }, { log: (msg) => logged.push(msg) });
});
afterAll(async () => {
  await app?.stop();
  await Promise.all(receivers.map((r) => r.close()));
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

/** An endpoint of the shop pointing at `r`, verified with its secret. */
async function endpoint(shop: Shop, r: WebhookReceiver, eventTypes: string[]) {
  const res = await shop.admin.post('/api/v1/webhook-endpoints', { url: r.url, eventTypes, description: 'ERP' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  r.secrets.push(res.body.webhookEndpoint.secret);
  return res.body.webhookEndpoint as { id: string; secret: string };
}

/** Run delivery passes until none is due now. */
async function drain(): Promise<void> {
  for (let i = 0; i < 50; i++) if ((await app.services.outgoingWebhooks.deliverDue()) === 0) return;
}

/** A referred Checkout sale: its payment intent. */
async function sale(shop: Shop, referral: string, amount: number): Promise<string> {
  const event = checkoutCompleted({ referral, amountTotal: amount, currency: 'usd' });
  expect((await deliver(app.url, shop.program.id, event, shop.secret)).status).toBe(200);
  await expect
    .poll(
      async () =>
        (await app.db.selectFrom('commissions').select('id').where('program_id', '=', shop.program.id).execute())
          .length,
      { timeout: 10_000 },
    )
    .toBeGreaterThan(0);
  return event.data.object.payment_intent;
}

describe('a sale’s life', () => {
  it('gives each subscribed endpoint each event once, signed, in the admin API’s shapes; nothing unsubscribed', async () => {
    const shop = await openShop(app);
    const all = await receiver();
    const moneyOnly = await receiver();
    await endpoint(shop, all, [
      'affiliate.approved',
      'referral.created',
      'conversion.created',
      'commission.created',
      'commission.approved',
      'commission.reversed',
      'payout.created',
      'payout.completed',
    ]);
    await endpoint(shop, moneyOnly, ['commission.created', 'payout.completed']);

    const affiliate = await approvedAffiliate(shop);
    const referral = await clickReferral(shop, affiliate.code);
    const pi = await sale(shop, referral, 10_000);
    await app.services.commissions.approveDue({ programId: shop.program.id, skipHold: true });
    const payout = await shop.admin.post('/api/v1/payouts', {
      affiliateId: affiliate.id,
      method: 'paypal',
    });
    expect(payout.status, JSON.stringify(payout.body)).toBe(201);
    expect(
      (await shop.admin.post(`/api/v1/payouts/${payout.body.payout.id}/complete`, { reference: 'PP-1' })).status,
    ).toBe(200);
    // A partial refund of the sale (its commission is paid in part: the rest is reduced in place or clawed back).
    const refund = chargeRefunded({ paymentIntent: pi, amount: 10_000, amountRefunded: 10_000 });
    expect((await deliver(app.url, shop.program.id, refund, shop.secret)).status).toBe(200);
    await expect
      .poll(
        async () =>
          (
            await app.db
              .selectFrom('webhook_events')
              .select('id')
              .where('type', '=', 'commission.reversed')
              .where('program_id', '=', shop.program.id)
              .execute()
          ).length,
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);

    await drain();
    const types = all.received.map((w) => w.type).sort();
    expect(types).toEqual(
      [
        'affiliate.approved',
        'referral.created',
        'conversion.created',
        'commission.created',
        'commission.approved',
        'payout.created',
        'payout.completed',
        ...all.received.filter((w) => w.type === 'commission.reversed').map(() => 'commission.reversed'),
      ].sort(),
    );
    expect(all.received.filter((w) => w.type === 'commission.reversed').length).toBeGreaterThan(0);
    expect(moneyOnly.received.map((w) => w.type).sort()).toEqual(['commission.created', 'payout.completed']);
    for (const w of [...all.received, ...moneyOnly.received]) {
      expect(w.verifiedWith).toEqual([0]);
      // Strictly the documented shape (OpenAPI `webhooks`): the admin API's public shapes.
      const parsed = webhookPayloadShape(w.type as WebhookEventType).safeParse(w.payload);
      expect(parsed.success, `${w.type}: ${parsed.error?.message}`).toBe(true);
    }
    // One webhook-id per event, the same id for both endpoints.
    expect(new Set(all.received.map((w) => w.id)).size).toBe(all.received.length);
    const created = all.received.find((w) => w.type === 'commission.created')!;
    expect(moneyOnly.received.find((w) => w.type === 'commission.created')!.id).toBe(created.id);
    // The payload is what the admin API answers for the commission (at the time of the event).
    const fromApi = (await shop.admin.get(`/api/v1/commissions/${created.payload.data.id}`)).body.commission;
    expect(created.payload.data).toMatchObject({
      id: fromApi.id,
      amount: 1000,
      currency: 'usd',
      affiliateId: affiliate.id,
      status: 'pending',
    });
    expect(all.received.find((w) => w.type === 'payout.completed')!.payload.data).toMatchObject({
      id: payout.body.payout.id,
      status: 'completed',
      reference: 'PP-1',
      amount: 1000,
    });
    expect(all.received.find((w) => w.type === 'affiliate.approved')!.payload.data).toMatchObject({
      id: affiliate.id,
      status: 'approved',
      hasPassword: false,
    });
    expect(all.received.find((w) => w.type === 'referral.created')!.payload.data).toMatchObject({
      id: referral,
      affiliateId: affiliate.id,
      status: 'visitor',
    });

    // A second pass, much later, sends nothing again.
    app.advance(4 * 24 * HOUR);
    await drain();
    expect(all.received.length).toBe(types.length);
    // The delivery log answers per endpoint.
    const log = await shop.admin.get(
      `/api/v1/webhook-endpoints/${(await shop.admin.get('/api/v1/webhook-endpoints')).body.data[1].id}/deliveries`,
    );
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(2);
    expect(log.body.data[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      log: [{ statusCode: 200, responseExcerpt: 'ok' }],
    });
  });

  it('writes nothing for a program without a subscribed endpoint (a second click of a visitor: no new referral event)', async () => {
    const shop = await openShop(app);
    const r = await receiver();
    await endpoint(shop, r, ['payout.failed']);
    const affiliate = await approvedAffiliate(shop);
    await clickReferral(shop, affiliate.code);
    const events = await app.db
      .selectFrom('webhook_events')
      .select('type')
      .where('program_id', '=', shop.program.id)
      .execute();
    expect(events).toEqual([]);
  });
});

describe('retries', () => {
  it('a receiver answering 500 three times, then 200, gets the event once more and no more', async () => {
    const shop = await openShop(app);
    const r = await receiver();
    const ep = await endpoint(shop, r, ['affiliate.approved']);
    r.answers.push(500, 500, 500);
    await approvedAffiliate(shop);
    await drain();
    expect(r.received.map((w) => w.status)).toEqual([500]);
    for (const delay of RETRY_DELAYS_MS.slice(0, 3)) {
      app.advance(delay);
      await drain();
    }
    expect(r.received.map((w) => w.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(r.received.map((w) => w.id)).size).toBe(1);
    app.advance(4 * 24 * HOUR);
    await drain();
    expect(r.received).toHaveLength(4);
    const log = (await shop.admin.get(`/api/v1/webhook-endpoints/${ep.id}/deliveries`)).body.data;
    expect(log[0]).toMatchObject({ status: 'delivered', attempts: 4 });
    expect(log[0].log.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 500, 200]);
    expect((await shop.admin.get(`/api/v1/webhook-endpoints/${ep.id}`)).body.webhookEndpoint.failingSince).toBeNull();

    // Manual redelivery sends it again with the same id.
    const again = await shop.admin.post(`/api/v1/webhook-endpoints/${ep.id}/deliveries/${log[0].id}/redeliver`);
    expect(again.status).toBe(200);
    expect(again.body.delivery.log.at(-1)).toMatchObject({ statusCode: 200, manual: true });
    expect(r.received).toHaveLength(5);
    expect(r.received[4]!.id).toBe(r.received[0]!.id);
  });

  it('an endpoint failing for 3 days is disabled, with a notice in the outbox for its owner', async () => {
    const shop = await openShop(app);
    const r = await receiver();
    const ep = await endpoint(shop, r, ['affiliate.approved']);
    r.answers.push(...Array(20).fill(503));
    await approvedAffiliate(shop);
    await drain();
    for (const delay of RETRY_DELAYS_MS) {
      app.advance(delay);
      await drain();
    }
    expect(r.received).toHaveLength(RETRY_DELAYS_MS.length + 1);
    const after = (await shop.admin.get(`/api/v1/webhook-endpoints/${ep.id}`)).body.webhookEndpoint;
    expect(after).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('every attempt failed') });
    const notice = await app.db
      .selectFrom('webhook_events')
      .selectAll()
      .where('program_id', '=', shop.program.id)
      .where('type', '=', 'webhook_endpoint.disabled')
      .execute();
    expect(notice).toHaveLength(1);
    expect(notice[0]!.object_id).toBe(ep.id);
    // The merchant team is told by e-mail (logged here: no SMTP_URL), once.
    expect((await shop.admin.patch('/api/v1/program', { notificationEmail: 'team@acme.test' })).status).toBe(200);
    logged.length = 0;
    await app.services.mailOutbox.sendDue();
    await app.services.mailOutbox.sendDue();
    const toTeam = logged.filter((l) => l.includes('to team@acme.test'));
    expect(toTeam).toHaveLength(1);
    expect(toTeam[0]).toContain(`Webhook endpoint disabled: ${r.url}`);
    // Disabled: no event is written for it any more.
    await approvedAffiliate(shop);
    app.advance(HOUR);
    await drain();
    expect(r.received).toHaveLength(RETRY_DELAYS_MS.length + 1);
  });
});

describe('secrets', () => {
  it('after a rotation both secrets verify for 24 h, then only the new one', async () => {
    const shop = await openShop(app);
    const r = await receiver();
    const ep = await endpoint(shop, r, ['affiliate.approved']);
    const rotated = await shop.admin.post(`/api/v1/webhook-endpoints/${ep.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhookEndpoint.secret).not.toBe(ep.secret);
    expect(rotated.body.webhookEndpoint.secret).toMatch(/^whsec_/);
    r.secrets.push(rotated.body.webhookEndpoint.secret);
    await approvedAffiliate(shop);
    await drain();
    expect(r.received.at(-1)!.verifiedWith).toEqual([0, 1]);
    app.advance(25 * HOUR);
    await approvedAffiliate(shop);
    await drain();
    expect(r.received.at(-1)!.verifiedWith).toEqual([1]);
    // Stored sealed: the plain secret is nowhere in the table.
    const stored = await app.db
      .selectFrom('webhook_endpoints')
      .select(['secret', 'previous_secret'])
      .where('id', '=', ep.id)
      .executeTakeFirstOrThrow();
    expect(stored.secret).toMatch(/^v1:/);
    expect(JSON.stringify(stored)).not.toContain(rotated.body.webhookEndpoint.secret.slice(6));

    // `secrets rotate` (a new SECRET_KEY) re-encrypts endpoint secrets too: both open under the new key alone.
    const NEW_KEY = 'a-new-secret-key-a-new-secret-key-0123456789';
    const rotation = createServices(
      app.db,
      loadConfig({ DATABASE_URL: app.databaseUrl, SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: TEST_SECRET_KEY }),
    );
    const sweep = await rotation.programSecrets.sweep({ reencrypt: true });
    expect(sweep.failed).toEqual([]);
    const after = await app.db
      .selectFrom('webhook_endpoints')
      .select(['secret', 'previous_secret'])
      .where('id', '=', ep.id)
      .executeTakeFirstOrThrow();
    const onlyNew = createSecretBox({ secretKey: NEW_KEY, secretKeyPrevious: null });
    expect(onlyNew.open('webhook_endpoint_secret', after.secret, shop.program.id)).toBe(
      rotated.body.webhookEndpoint.secret,
    );
    expect(onlyNew.open('webhook_endpoint_secret', after.previous_secret!, shop.program.id)).toBe(ep.secret);
  });
});

describe('server-side request forgery', () => {
  it('refuses loopback and private addresses unless WEBHOOK_ALLOW_PRIVATE=on', async () => {
    const strict = await startTestApp({ TRUST_PROXY: 'on' });
    try {
      const shop = await openShop(strict);
      const r = await receiver();
      const literal = await shop.admin.post('/api/v1/webhook-endpoints', {
        url: r.url,
        eventTypes: ['affiliate.approved'],
      });
      expect(literal.status).toBe(422);
      expect(literal.body.error.code).toBe('address_not_allowed');
      // A name that resolves to loopback is refused when sending (DNS checked, every address).
      const named = await shop.admin.post('/api/v1/webhook-endpoints', {
        url: r.url.replace('127.0.0.1', 'localhost'),
        eventTypes: ['affiliate.approved'],
      });
      expect(named.status).toBe(201);
      await approvedAffiliate(shop);
      await strict.services.outgoingWebhooks.deliverDue();
      expect(r.received).toHaveLength(0);
      const log = (await shop.admin.get(`/api/v1/webhook-endpoints/${named.body.webhookEndpoint.id}/deliveries`)).body
        .data;
      expect(log[0].log[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/^address_not_allowed/) });
    } finally {
      await strict.stop();
    }
  });
});

describe('retention', () => {
  it('forgets delivered events after 30 days, with their log, and keeps those still waiting', async () => {
    const shop = await openShop(app);
    const ok = await receiver();
    const down = await receiver();
    const okEndpoint = await endpoint(shop, ok, ['affiliate.approved']);
    const downEndpoint = await endpoint(shop, down, ['affiliate.approved']);
    down.answers.push(500);
    await approvedAffiliate(shop);
    await drain();
    expect(ok.received).toHaveLength(1);
    // The failing endpoint is disabled by hand: its delivery waits (pending) for it to come back.
    await shop.admin.patch(`/api/v1/webhook-endpoints/${downEndpoint.id}`, { enabled: false });
    app.advance(31 * 24 * HOUR);
    while ((await app.services.outgoingWebhooks.pruneDelivered()) > 0);
    // The event is kept (one endpoint still waits for it), with both deliveries.
    expect((await shop.admin.get(`/api/v1/webhook-endpoints/${okEndpoint.id}/deliveries`)).body.data).toHaveLength(1);
    // Re-enabled, it gets the event; then the event is old and delivered everywhere: forgotten.
    await shop.admin.patch(`/api/v1/webhook-endpoints/${downEndpoint.id}`, { enabled: true });
    await drain();
    expect(down.received.map((w) => w.status)).toEqual([500, 200]);
    while ((await app.services.outgoingWebhooks.pruneDelivered()) > 0);
    expect((await shop.admin.get(`/api/v1/webhook-endpoints/${okEndpoint.id}/deliveries`)).body.data).toEqual([]);
    expect(
      await app.db.selectFrom('webhook_events').select('id').where('program_id', '=', shop.program.id).execute(),
    ).toEqual([]);
  });
});
