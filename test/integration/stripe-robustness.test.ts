/**
 * The webhook route under hostile, odd and concurrent input, over real HTTP and PostgreSQL: random event types
 * and garbage bodies signed correctly never cause a 5xx and write nothing but their inbox row; concurrent and
 * repeated deliveries of one sale count it once; secret rotation and the signature tolerance.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkoutSession,
  chargeRefunded,
  deliver,
  deliverRaw,
  disputeEvent,
  envelope,
  freshId,
  invoicePaid,
  sign,
} from '../helpers/stripe.ts';
import { countRows, stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { createStripeWebhooksService } from '../../server/stripe/webhooks/webhooks.service.ts';

const SECRET = 'whsec_test_stripe_robustness';
let ctx: StripeTestContext;
beforeAll(async () => {
  ctx = await stripeTestContext({ secret: SECRET });
});
afterAll(async () => {
  await ctx?.app.stop();
});

/** A random JSON value (deterministic size bound), including strings a database may choke on. */
function garbage(depth = 0): unknown {
  const pick = randomInt(depth > 2 ? 6 : 9);
  const nasty = [
    '',
    '\u0000',
    '\ud800',
    'é',
    '💸',
    "'; DROP TABLE conversions; --",
    'x'.repeat(300),
    'constructor',
    '__proto__',
  ];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return randomInt(2) === 0;
    case 2:
      return [0, -1, 1.5, 2 ** 53 + 2, -(2 ** 60), 1e308, randomInt(1_000_000)][randomInt(7)];
    case 3:
    case 4:
      return nasty[randomInt(nasty.length)];
    case 5:
      return randomBytes(6).toString('hex');
    case 6:
      return Array.from({ length: randomInt(4) }, () => garbage(depth + 1));
    default: {
      const keys = [
        'id',
        'object',
        'amount',
        'amount_refunded',
        'currency',
        'customer',
        'metadata',
        'charge',
        'payment_intent',
        'invoice',
        'status',
        'mode',
        'payment_status',
        'client_reference_id',
        'subscription',
        'parent',
        'discounts',
        'lines',
        randomBytes(3).toString('hex'),
      ];
      return Object.fromEntries(
        Array.from({ length: randomInt(6) }, () => [keys[randomInt(keys.length)]!, garbage(depth + 1)]),
      );
    }
  }
}

const HANDLED = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'invoice.paid',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.closed',
  'customer.created',
  'customer.updated',
  'customer.subscription.deleted',
];

describe('hostile and odd input', () => {
  it('200 random event types and garbage objects, signed correctly: never a 5xx, nothing written but the inbox row', async () => {
    // A referral and a promotion code exist, so a garbage object that names them could do harm if mishandled.
    const r = await ctx.referral();
    await ctx.admin.post('/api/v1/promotion-codes', {
      affiliateId: r.affiliateId,
      stripePromotionCodeId: 'promo_garbage',
    });
    const before = {
      conversions: await countRows(ctx, 'conversions'),
      commissions: await countRows(ctx, 'commissions'),
      events: await countRows(ctx, 'commission_events'),
      referrals: await countRows(ctx, 'referrals'),
      inbox: await countRows(ctx, 'stripe_events'),
    };
    const stored: string[] = [];
    for (let i = 0; i < 200; i++) {
      const type =
        i % 2 === 0
          ? HANDLED[i % HANDLED.length]!
          : [
              'payout.paid',
              'toString',
              'constructor',
              '__proto__',
              `x.${randomBytes(4).toString('hex')}`,
              'invoice.payment_failed',
              'é.💸',
            ][i % 7]!;
      const object = garbage();
      const event = envelope(
        type,
        object && typeof object === 'object' && !Array.isArray(object) ? object : { value: object },
      );
      const res = await deliver(ctx.app.url, ctx.program.id, event, SECRET);
      expect(res.status, `${type} ${JSON.stringify(event).slice(0, 200)}`).toBe(200);
      stored.push(event.id);
    }
    await ctx.app.services.stripeWebhooks.idle();
    const rows = await ctx.app.db
      .selectFrom('stripe_events')
      .select(['id', 'status'])
      .where('id', 'in', stored)
      .execute();
    expect(rows).toHaveLength(200);
    expect(rows.filter((row) => row.status !== 'ignored')).toEqual([]);
    expect(await countRows(ctx, 'stripe_events')).toBe(before.inbox + 200);
    expect(await countRows(ctx, 'conversions')).toBe(before.conversions);
    expect(await countRows(ctx, 'commissions')).toBe(before.commissions);
    expect(await countRows(ctx, 'commission_events')).toBe(before.events);
    expect(await countRows(ctx, 'referrals')).toBe(before.referrals);
  });

  it('signed bodies that are not events are refused with a 4xx and store nothing', async () => {
    const before = await countRows(ctx, 'stripe_events');
    const bodies = [
      '',
      'not json',
      '[]',
      'null',
      '42',
      '{"id":"evt_1"}',
      '{"id":"evt_2","type":"x","created":"soon","data":{"object":{}}}',
      JSON.stringify({ id: 'evt_\u0000nul', type: 'payout.paid', created: 1, data: { object: {} } }),
      JSON.stringify({ id: 'evt_far', type: 'payout.paid', created: 1e15, data: { object: {} } }),
      JSON.stringify({ id: 'x'.repeat(300), type: 'payout.paid', created: 1, data: { object: {} } }),
    ];
    for (const body of bodies) {
      const res = await deliverRaw(ctx.app.url, ctx.program.id, body, SECRET);
      expect(res.status, body.slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('invalid_event');
    }
    expect(await countRows(ctx, 'stripe_events')).toBe(before);
  });

  it('an event whose strings PostgreSQL refuses in jsonb (NUL, lone surrogate) is stored cleaned and processed', async () => {
    const r = await ctx.referral();
    const event = checkoutSession({ referral: r.referral, amountTotal: 2_000 });
    (event.data.object as any).metadata = { note: 'nul\u0000 and \ud800 here' };
    const res = await deliverRaw(ctx.app.url, ctx.program.id, JSON.stringify(event), SECRET);
    expect(res).toMatchObject({ status: 200, body: { status: 'received' } });
    await ctx.app.services.stripeWebhooks.idle();
    expect((await ctx.inbox(event.id)).status).toBe('processed');
    expect(await ctx.conversions(r.affiliateId)).toEqual([expect.objectContaining({ amount: 2_000 })]);
  });

  it('an unknown program is a 404, a missing or wrong signature a 400, a body over 1 MB a 413', async () => {
    const event = envelope('payout.paid', { id: 'po_1' });
    const payload = JSON.stringify(event);
    expect((await deliver(ctx.app.url, 'prg_nope', event, SECRET)).status).toBe(404);
    const unsigned = await fetch(`${ctx.app.url}/api/v1/webhooks/stripe/${ctx.program.id}`, {
      method: 'POST',
      body: payload,
    });
    expect(unsigned.status).toBe(400);
    expect((await unsigned.json()).error.code).toBe('missing_signature');
    const wrong = await deliver(ctx.app.url, ctx.program.id, event, SECRET, {
      signature: sign(payload, 'whsec_other'),
    });
    expect(wrong).toMatchObject({ status: 400, body: { error: { code: 'invalid_signature' } } });
    const big = JSON.stringify({ ...event, pad: 'x'.repeat(1_100_000) });
    const tooBig = await deliverRaw(ctx.app.url, ctx.program.id, big, SECRET);
    expect(tooBig.status).toBe(413);
    expect(await ctx.app.db.selectFrom('stripe_events').select('id').where('id', '=', event.id).execute()).toEqual([]);
  });
});

describe('signatures', () => {
  it('accepts every active secret during a rotation, within the 5-minute tolerance only', async () => {
    await ctx.app.services.programs.addWebhookSecret(ctx.program.id, 'whsec_test_rotated_in');
    const a = envelope('payout.paid', { id: 'po_a' });
    const b = envelope('payout.paid', { id: 'po_b' });
    expect((await deliver(ctx.app.url, ctx.program.id, a, SECRET)).status).toBe(200);
    expect((await deliver(ctx.app.url, ctx.program.id, b, 'whsec_test_rotated_in')).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const fresh = envelope('payout.paid', { id: 'po_c' });
    const p1 = JSON.stringify(fresh);
    const okOld = await deliver(ctx.app.url, ctx.program.id, fresh, SECRET, {
      signature: sign(p1, 'whsec_test_rotated_in', now - 290),
    });
    expect(okOld.status).toBe(200);
    const stale = envelope('payout.paid', { id: 'po_d' });
    const p2 = JSON.stringify(stale);
    const tooOld = await deliver(ctx.app.url, ctx.program.id, stale, SECRET, {
      signature: sign(p2, SECRET, now - 310),
    });
    expect(tooOld).toMatchObject({ status: 400, body: { error: { code: 'invalid_signature' } } });
  });
});

describe('exactly once', () => {
  it('20 concurrent deliveries of the same sale’s events (duplicates, checkout and its first invoice) count it once', async () => {
    const r = await ctx.referral();
    const sub = freshId('sub');
    const inv = freshId('in');
    const cus = freshId('cus');
    const checkout = checkoutSession({
      referral: r.referral,
      mode: 'subscription',
      subscription: sub,
      invoice: inv,
      customer: cus,
      amountTotal: 5_000,
    });
    const firstInvoice = invoicePaid({
      invoiceId: inv,
      subscription: sub,
      customer: cus,
      billingReason: 'subscription_create',
      amountPaid: 5_000,
    });
    const basilInvoice = invoicePaid({
      shape: 'basil',
      invoiceId: inv,
      subscription: sub,
      customer: cus,
      billingReason: 'subscription_create',
      amountPaid: 5_000,
    });
    const deliveries = Array.from({ length: 20 }, (_, i) => [checkout, firstInvoice, basilInvoice][i % 3]!);
    const responses = await Promise.all(deliveries.map((e) => deliver(ctx.app.url, ctx.program.id, e, SECRET)));
    expect(responses.every((res) => res.status === 200)).toBe(true);
    expect(responses.filter((res) => res.body.status === 'received')).toHaveLength(3);
    await ctx.app.services.stripeWebhooks.processPending();
    const conversions = await ctx.conversions(r.affiliateId);
    expect(conversions).toEqual([
      expect.objectContaining({ amount: 5_000, sequence: 1, stripeInvoiceId: inv, stripeSubscriptionId: sub }),
    ]);
    expect(await ctx.commissions(r.affiliateId)).toEqual([expect.objectContaining({ amount: 500, kind: 'sale' })]);
    const rows = await ctx.app.db
      .selectFrom('stripe_events')
      .select(['status', 'error'])
      .where('id', 'in', [checkout.id, firstInvoice.id, basilInvoice.id])
      .execute();
    expect(rows.map((row) => row.status).sort()).toEqual(['ignored', 'ignored', 'processed']);
  });

  it('concurrent refunds of one sale (a partial and the full one, in any order) end at the full reversal', async () => {
    const r = await ctx.referral();
    const charge = freshId('ch');
    await ctx.send(
      invoicePaid({
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 10_000,
        charge,
      }),
    );
    const events = [
      chargeRefunded({ chargeId: charge, amount: 10_000, amountRefunded: 2_000 }),
      chargeRefunded({ chargeId: charge, amount: 10_000, amountRefunded: 10_000 }),
      chargeRefunded({ chargeId: charge, amount: 10_000, amountRefunded: 6_000 }),
      disputeEvent('created', { charge, amount: 10_000 }),
    ];
    await Promise.all(events.map((e) => deliver(ctx.app.url, ctx.program.id, e, SECRET)));
    await ctx.app.services.stripeWebhooks.processPending();
    const [c] = await ctx.commissions(r.affiliateId);
    expect(c).toMatchObject({ status: 'reversed', amount: 0, reversed_amount: 1_000 });
    expect((await ctx.conversions(r.affiliateId))[0]).toMatchObject({ refundedAmount: 10_000 });
  });
});

describe('acknowledgement pacing (backpressure)', () => {
  it('while processing trails, acknowledgements wait for it to catch up; every event is stored and processed once', async () => {
    // Its own service over the app's database: one event at a time, and "trailing" as soon as anything waits.
    const webhooks = createStripeWebhooksService({
      db: ctx.app.db,
      programSecrets: ctx.app.services.programSecrets,
      concurrency: 1,
      ackPacing: { lagMs: 0, maxWaitMs: 60_000 },
    });
    const referrals = await Promise.all(Array.from({ length: 8 }, () => ctx.referral()));
    const events = referrals.map((r) => checkoutSession({ referral: r.referral, amountTotal: 5_000 }));
    const converted = async () => {
      const rows = await ctx.app.db
        .selectFrom('conversions')
        .select('affiliate_id')
        .where(
          'affiliate_id',
          'in',
          referrals.map((r) => r.affiliateId),
        )
        .execute();
      return rows.length;
    };
    const acks = await Promise.all(
      events.map((e) => {
        const payload = JSON.stringify(e);
        return webhooks.ingest(ctx.program.id, Buffer.from(payload), sign(payload, SECRET));
      }),
    );
    // Held until the last waiting event was taken: every other sale was processed before the last answer.
    expect(await converted()).toBeGreaterThanOrEqual(events.length - 1);
    expect(acks.map((a) => a.status)).toEqual(events.map(() => 'received'));
    await webhooks.idle();
    expect(await converted()).toBe(events.length);
    await webhooks.close();
  });
});
