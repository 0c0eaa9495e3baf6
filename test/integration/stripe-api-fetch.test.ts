/**
 * What a payload lacks is read from the Stripe API with the program's restricted key, here a loopback fake of
 * Stripe's API (the `stripe` client's host/port/protocol). The tests assert the requests we send, what they
 * attribute or find, and what happens when Stripe refuses: retries with backoff, a visible permanent failure,
 * and a replay (service and real CLI) once the cause is fixed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkoutSession,
  chargeRefunded,
  customerEvent,
  disputeEvent,
  freshId,
  invoicePaid,
} from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../server/stripe/webhooks/webhooks.service.ts';

const KEY = 'rk_test_partnerkitReadOnly0001';
let fake: FakeStripeApi;
let ctx: StripeTestContext;
beforeAll(async () => {
  fake = await startFakeStripeApi();
  ctx = await stripeTestContext({ secret: 'whsec_test_stripe_api', stripeEndpoint: fake.endpoint });
  await ctx.app.services.stripeSettings.setApiKey(ctx.program.id, KEY);
});
afterAll(async () => {
  await ctx?.app.stop();
  await fake?.close();
});

/** Requests the fake received since `from` (an index into `fake.requests`). */
const sentSince = (from: number) =>
  fake.requests
    .slice(from)
    .map((r) => ({ method: r.method, path: r.path, query: r.query, authorization: r.authorization }));

describe('reads what the payload lacks', () => {
  it('customer metadata: a checkout with no referral is attributed by the customer’s partnerkit_referral', async () => {
    const r = await ctx.referral();
    const customer = freshId('cus');
    fake.customers.set(customer, {
      id: customer,
      object: 'customer',
      email: 'c@example.com',
      metadata: { partnerkit_referral: r.referral },
    });
    const from = fake.requests.length;
    const { row } = await ctx.send(checkoutSession({ customer, amountTotal: 3_000 }));
    expect(row).toMatchObject({ status: 'processed' });
    expect(sentSince(from)).toEqual([
      { method: 'GET', path: `/v1/customers/${customer}`, query: {}, authorization: `Bearer ${KEY}` },
    ]);
    expect(await ctx.conversions(r.affiliateId)).toEqual([
      expect.objectContaining({ amount: 3_000, attributedBy: 'customer_metadata' }),
    ]);
  });

  it('subscription metadata: a pre-2025 invoice without subscription_details is attributed by the subscription', async () => {
    const r = await ctx.referral();
    const subscription = freshId('sub');
    fake.subscriptions.set(subscription, {
      id: subscription,
      object: 'subscription',
      customer: 'cus_x',
      status: 'active',
      metadata: { partnerkit_referral: r.referral },
    });
    const event = invoicePaid({ subscription, billingReason: 'subscription_create', amountPaid: 2_000 });
    expect(event.data.object.subscription_details).toBeUndefined();
    const from = fake.requests.length;
    expect((await ctx.send(event)).row.status).toBe('processed');
    expect(sentSince(from)[0]).toEqual({
      method: 'GET',
      path: `/v1/subscriptions/${subscription}`,
      query: {},
      authorization: `Bearer ${KEY}`,
    });
    expect(await ctx.conversions(r.affiliateId)).toEqual([
      expect.objectContaining({ amount: 2_000, attributedBy: 'subscription_metadata', sequence: 1 }),
    ]);
  });

  it('a current-shape refund naming only the payment intent finds its invoice’s sale through /v1/invoice_payments', async () => {
    const r = await ctx.referral();
    const invoice = freshId('in');
    const pi = freshId('pi');
    await ctx.send(
      invoicePaid({
        shape: 'basil',
        invoiceId: invoice,
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 5_000,
      }),
    );
    fake.invoicePayments.push({
      id: freshId('inpay'),
      object: 'invoice_payment',
      invoice,
      status: 'paid',
      payment: { type: 'payment_intent', payment_intent: pi },
    });
    const from = fake.requests.length;
    const { row } = await ctx.send(
      chargeRefunded({ shape: 'basil', paymentIntent: pi, amount: 5_000, amountRefunded: 5_000 }),
    );
    expect(row).toMatchObject({ status: 'processed', error: null });
    expect(sentSince(from)).toEqual([
      {
        method: 'GET',
        path: '/v1/invoice_payments',
        query: { limit: '1', 'payment[type]': 'payment_intent', 'payment[payment_intent]': pi },
        authorization: `Bearer ${KEY}`,
      },
    ]);
    expect(await ctx.commissions(r.affiliateId)).toEqual([
      expect.objectContaining({ status: 'reversed', reversed_amount: 500 }),
    ]);
  });

  it('a dispute naming only the charge finds the checkout’s sale through the charge’s payment intent', async () => {
    const r = await ctx.referral();
    const pi = freshId('pi');
    const charge = freshId('ch');
    await ctx.send(checkoutSession({ shape: 'basil', referral: r.referral, paymentIntent: pi, amountTotal: 4_000 }));
    fake.charges.set(charge, {
      id: charge,
      object: 'charge',
      amount: 4_000,
      amount_refunded: 0,
      currency: 'usd',
      customer: null,
      payment_intent: pi,
    });
    const from = fake.requests.length;
    expect(
      (await ctx.send(disputeEvent('created', { shape: 'basil', charge, paymentIntent: null, amount: 4_000 }))).row
        .status,
    ).toBe('processed');
    expect(sentSince(from)).toEqual([
      { method: 'GET', path: `/v1/charges/${charge}`, query: {}, authorization: `Bearer ${KEY}` },
    ]);
    expect(await ctx.commissions(r.affiliateId)).toEqual([
      expect.objectContaining({ status: 'on_hold', hold_reason: 'dispute' }),
    ]);
  });

  it('no request at all when the payload and our own records suffice', async () => {
    const r = await ctx.referral();
    const from = fake.requests.length;
    await ctx.send(checkoutSession({ referral: r.referral, customer: null }));
    await ctx.send(
      invoicePaid({
        shape: 'basil',
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        customer: freshId('cus'),
      }),
    );
    expect(sentSince(from)).toEqual([]);
  });
});

describe('when Stripe refuses', () => {
  it('retries with backoff, fails visibly after the last attempt, and is processed by a replay once fixed', async () => {
    const r = await ctx.referral();
    const subscription = freshId('sub');
    const customer = freshId('cus');
    fake.failWith({ status: 401, type: 'invalid_request_error', message: 'Expired API Key provided: rk_test_***0001' });
    const event = invoicePaid({ subscription, customer, billingReason: 'subscription_create', amountPaid: 8_000 });
    const first = await ctx.send(event);
    expect(first.response.body.status).toBe('received');
    expect(first.row).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(first.row.error).toMatch(/Stripe API GET \/v1\/subscriptions\/sub_\w+: 401 .*Expired API Key/);
    let moved = 0;
    try {
      for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
        ctx.app.advance(RETRY_DELAYS_MS[attempt - 2]!);
        moved += RETRY_DELAYS_MS[attempt - 2]!;
        await ctx.app.services.stripeWebhooks.processPending();
      }
    } finally {
      ctx.app.advance(-moved);
    }
    const failed = await ctx.inbox(event.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, next_attempt_at: null });
    expect(failed.error).toMatch(/Expired API Key/);
    expect(await ctx.conversions(r.affiliateId)).toEqual([]);

    // Fixed: Stripe answers again, and the subscription names the referral. A replay processes it.
    fake.failWith(null);
    fake.subscriptions.set(subscription, {
      id: subscription,
      object: 'subscription',
      customer,
      status: 'active',
      metadata: { partnerkit_referral: r.referral },
    });
    const replayed = await ctx.app.services.stripeWebhooks.replay({ eventId: event.id });
    expect(replayed).toEqual([
      { programId: ctx.program.id, eventId: event.id, type: 'invoice.paid', before: 'failed', after: 'processed' },
    ]);
    expect(await ctx.conversions(r.affiliateId)).toEqual([expect.objectContaining({ amount: 8_000 })]);
    // A second replay changes nothing.
    await ctx.app.services.stripeWebhooks.replay({ eventId: event.id });
    expect(await ctx.conversions(r.affiliateId)).toHaveLength(1);
  });

  it('a Stripe redelivery of a failed event retries it at once', async () => {
    const r = await ctx.referral();
    const customer = freshId('cus');
    fake.failWith({ status: 500, type: 'api_error', message: 'Something went wrong on Stripe’s end' });
    const event = checkoutSession({ customer, amountTotal: 1_000 });
    try {
      expect((await ctx.send(event)).row.status).toBe('retrying');
    } finally {
      fake.failWith(null);
    }
    fake.customers.set(customer, { id: customer, object: 'customer', metadata: { partnerkit_referral: r.referral } });
    const again = await ctx.send(event);
    expect(again.response.body.status).toBe('received');
    expect(again.row).toMatchObject({ status: 'processed', attempts: 2 });
  });
});

describe('npm run cli -- stripe replay', () => {
  it('replays a failed event from the command line once its cause is fixed', async () => {
    const r = await ctx.referral();
    const customer = freshId('cus');
    fake.failWith({ status: 401, type: 'invalid_request_error', message: 'Invalid API Key provided' });
    const event = checkoutSession({ customer, amountTotal: 6_000 });
    try {
      await ctx.send(event);
      let moved = 0;
      for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
        ctx.app.advance(RETRY_DELAYS_MS[attempt - 2]!);
        moved += RETRY_DELAYS_MS[attempt - 2]!;
        await ctx.app.services.stripeWebhooks.processPending();
      }
      ctx.app.advance(-moved);
    } finally {
      fake.failWith(null);
    }
    expect((await ctx.inbox(event.id)).status).toBe('failed');

    // The fix: the customer is bound to the referral (Stripe sent its metadata), and the key is removed.
    await ctx.send(customerEvent('updated', { customerId: customer, metadata: { partnerkit_referral: r.referral } }));
    const run = promisify(execFile);
    const env = {
      ...process.env,
      DATABASE_URL: ctx.app.databaseUrl,
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'pk-cli-')),
      LOG_LEVEL: 'silent',
    };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
        env,
        cwd: path.resolve(import.meta.dirname, '../..'),
      });
    await cli('stripe', 'set-key', '--program', ctx.program.id, '--clear');
    const listed = await cli('stripe', 'events', '--program', ctx.program.id, '--status', 'failed');
    expect(listed.stdout).toContain(
      `${event.id} checkout.session.completed failed (Stripe API GET /v1/customers/${customer}`,
    );
    const out = await cli('stripe', 'replay', '--event', event.id);
    expect(out.stdout).toContain(
      `${event.id} checkout.session.completed (program ${ctx.program.id}): failed → processed`,
    );
    expect(await ctx.inbox(event.id)).toMatchObject({ status: 'processed', error: null });
    expect(await ctx.conversions(r.affiliateId)).toEqual([
      expect.objectContaining({ amount: 6_000, attributedBy: 'customer' }),
    ]);
    await ctx.app.services.stripeSettings.setApiKey(ctx.program.id, KEY);
  }, 60_000);
});
