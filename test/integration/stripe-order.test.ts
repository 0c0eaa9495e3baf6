/**
 * Order-independence of a referred subscription sale, as a property, over the real webhook route: the events of one
 * sale (checkout, first invoice, renewals, `invoice_payment.paid` links in the current API generation, a partial
 * refund of one renewal, a dispute of the first payment lost) in both payload generations, delivered signed in a
 * random permutation (one at a time, as a burst, or all at once), must leave what Stripe's natural order leaves:
 * one conversion per payment with unique sequence numbers, each reversal on the right commission at the right
 * pro-rata amount, and no event left waiting. No clock is moved and no sweep runs: what waits must be woken by the
 * sale it waits for. Also: an event that can never be applied ends `failed`; a redelivery of a stored event that was
 * never processed (a crash after the acknowledgement) runs it at once; and the database refuses a second payment
 * with the same sequence number in a subscription.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chargeRefunded,
  checkoutSession,
  deliver,
  disputeEvent,
  freshId,
  invoicePaid,
  invoicePaymentPaid,
  sign,
  type PayloadShape,
} from '../helpers/stripe.ts';
import { deliverAll, type DeliveryMode, stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { waitFor } from '../helpers/wait.ts';
import { createApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../server/stripe/webhooks/webhooks.service.ts';
import { SHORT_WAIT } from '../../server/stripe/handlers/handler.ts';

let ctx: StripeTestContext;
beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_stripe_event_order' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

const DAY = 86_400;

interface SaleFacts {
  /** Amounts paid (minor units, no tax): the first payment, then each renewal. */
  amounts: number[];
  /** Which renewal (1-based) is partly refunded, and how much (minor units of its charge). */
  refundOf: number;
  refund: number;
}

/** Half-up `amount * part / whole` in integers (independent of the server's rounding code). */
const share = (amount: number, part: number, whole: number) => Math.floor((2 * amount * part + whole) / (2 * whole));

/**
 * The events of one subscription sale for `referral`, in Stripe's natural order (by time), with fresh ids, and
 * the label of each Stripe payment id (`pi1` = first payment, `pi2` = first renewal...) for comparing two sales.
 */
function saleEvents(shape: PayloadShape, referral: string, f: SaleFacts) {
  const t0 = Math.floor(Date.now() / 1000) - 120 * DAY;
  const subscription = freshId('sub');
  const customer = freshId('cus');
  const pays = f.amounts.map((amount, i) => ({
    amount,
    invoice: freshId('in'),
    pi: freshId('pi'),
    charge: freshId('ch'),
    at: t0 + i * 30 * DAY,
  }));
  const labels = new Map<string, string>();
  pays.forEach((p, i) => {
    labels.set(p.pi, `pi${i + 1}`);
    labels.set(p.charge, `ch${i + 1}`);
    labels.set(p.invoice, `in${i + 1}`);
  });
  const first = pays[0]!;
  const events: any[] = [
    checkoutSession({
      shape,
      mode: 'subscription',
      referral,
      amountTotal: first.amount,
      subscription,
      customer,
      invoice: first.invoice,
      created: first.at,
    }),
  ];
  pays.forEach((p, i) => {
    if (shape === 'basil') events.push(invoicePaymentPaid({ invoice: p.invoice, paymentIntent: p.pi, created: p.at }));
    events.push(
      invoicePaid({
        shape,
        invoiceId: p.invoice,
        amountPaid: p.amount,
        subscription,
        customer,
        billingReason: i === 0 ? 'subscription_create' : 'subscription_cycle',
        charge: p.charge,
        paymentIntent: p.pi,
        created: p.at,
      }),
    );
    if (i === 0) {
      const dispute = { shape, disputeId: freshId('dp'), charge: p.charge, paymentIntent: p.pi, amount: p.amount };
      events.push(disputeEvent('created', { ...dispute, created: p.at + 5 * DAY }));
      events.push(disputeEvent('closed', { ...dispute, status: 'lost', created: p.at + 20 * DAY }));
    }
  });
  const refunded = pays[f.refundOf]!;
  events.push(
    chargeRefunded({
      shape,
      chargeId: refunded.charge,
      paymentIntent: refunded.pi,
      invoice: refunded.invoice,
      amount: refunded.amount,
      amountRefunded: f.refund,
      created: refunded.at + 2 * DAY,
    }),
  );
  events.sort((a, b) => a.created - b.created); // stable: same-second events keep the order above
  return { events, labels };
}

/** What a merchant sees of the affiliate's sale: conversions by sequence and their commissions, ids as labels. */
async function state(affiliateId: string, labels: Map<string, string>) {
  const label = (id: string | null) => (id ? (labels.get(id) ?? `unknown:${id}`) : null);
  const conversions = (await ctx.conversions(affiliateId)).sort((a, b) => a.sequence - b.sequence);
  const commissions = await ctx.commissions(affiliateId);
  return conversions.map((c) => ({
    sequence: c.sequence,
    amount: c.amount,
    refundedAmount: c.refundedAmount,
    disputeStatus: c.disputeStatus,
    invoice: label(c.stripeInvoiceId),
    paymentIntent: label(c.stripePaymentIntentId),
    commissions: commissions
      .filter((m) => m.conversion_id === c.id)
      .map((m) => ({ kind: m.kind, status: m.status, amount: m.amount, reversed: m.reversed_amount })),
  }));
}

async function inboxRows(eventIds: string[]) {
  return ctx.app.db
    .selectFrom('stripe_events')
    .select(['id', 'type', 'status', 'error', 'waiting_for'])
    .where('program_id', '=', ctx.program.id)
    .where('id', 'in', eventIds)
    .execute();
}

/** Store `event` as the route does when it acknowledges it, as if the process then died before processing it. */
async function storeUnprocessed(event: any) {
  await ctx.app.db
    .insertInto('stripe_events')
    .values({
      program_id: ctx.program.id,
      id: event.id,
      type: event.type,
      api_version: event.api_version,
      livemode: false,
      payload: JSON.stringify(event),
      event_created_at: new Date(event.created * 1000),
      received_at: new Date(),
      status: 'received',
      error: null,
      processed_at: null,
      next_attempt_at: new Date(),
    })
    .execute();
}

/** A referral whose click was before the sale's first payment (`saleEvents` dates it 120 days back). */
async function clickedLongAgo() {
  const r = await ctx.referral();
  await ctx.app.db
    .updateTable('referrals')
    .set({ created_at: new Date(Date.now() - 150 * DAY * 1000) })
    .where('id', '=', r.referral)
    .execute();
  return r;
}

const saleFacts: fc.Arbitrary<SaleFacts> = fc
  .array(fc.integer({ min: 1_000, max: 100_000 }), { minLength: 2, maxLength: 3 })
  .chain((amounts) =>
    fc.integer({ min: 1, max: amounts.length - 1 }).chain((refundOf) =>
      fc.record({
        amounts: fc.constant(amounts),
        refundOf: fc.constant(refundOf),
        refund: fc.integer({ min: 1, max: amounts[refundOf]! - 1 }),
      }),
    ),
  );

describe.each(['legacy', 'basil'] as const)('a subscription sale in any event order (%s payloads)', (shape) => {
  it('credits every payment once, each reversal on its own commission, as in Stripe’s natural order', async () => {
    await fc.assert(
      fc.asyncProperty(
        saleFacts,
        fc.constantFrom<DeliveryMode>('one_by_one', 'burst', 'concurrent'),
        fc.infiniteStream(fc.nat()),
        async (facts, mode, noise) => {
          // Stripe's natural order, one event at a time: the reference.
          const natural = await clickedLongAgo();
          const ref = saleEvents(shape, natural.referral, facts);
          await deliverAll(ctx, ref.events, 'one_by_one');
          const expected = await state(natural.affiliateId, ref.labels);

          // The same sale (fresh ids), delivered in a random permutation.
          const shuffled = await clickedLongAgo();
          const sale = saleEvents(shape, shuffled.referral, facts);
          const order = sale.events
            .map((event) => ({ event, key: noise.next().value as number }))
            .sort((a, b) => a.key - b.key)
            .map((x) => x.event);
          await deliverAll(ctx, order, mode);
          const got = await state(shuffled.affiliateId, sale.labels);

          // Nothing left waiting or failed: every deferred event was woken by what it waited for.
          const rows = await inboxRows(sale.events.map((e) => e.id));
          expect(rows.filter((r) => r.status !== 'processed' && r.status !== 'ignored')).toEqual([]);

          // One conversion per payment, numbered 1..n in Stripe's order, each with its own payment ids.
          expect(got.map((c) => c.sequence)).toEqual(facts.amounts.map((_, i) => i + 1));
          expect(got.map((c) => c.amount)).toEqual(facts.amounts);
          expect(got.map((c) => c.invoice)).toEqual(facts.amounts.map((_, i) => `in${i + 1}`));
          expect(got.map((c) => c.paymentIntent)).toEqual(facts.amounts.map((_, i) => `pi${i + 1}`));
          for (const c of got) expect(c.commissions).toHaveLength(1);

          // The lost dispute took the whole first commission back; the refund only its share of its renewal's.
          const [first, ...renewals] = got;
          expect(first).toMatchObject({ disputeStatus: 'lost', refundedAmount: 0 });
          const e1 = share(facts.amounts[0]!, 1000, 10_000);
          expect(first!.commissions[0]).toEqual({ kind: 'sale', status: 'reversed', amount: 0, reversed: e1 });
          renewals.forEach((c, i) => {
            const earned = share(facts.amounts[i + 1]!, 1000, 10_000);
            const refunded = i + 1 === facts.refundOf ? facts.refund : 0;
            const reversed = share(earned, refunded, facts.amounts[i + 1]!);
            expect(c).toMatchObject({ disputeStatus: null, refundedAmount: refunded });
            expect(c.commissions[0]).toEqual({
              kind: 'recurring',
              // All of it taken back (a refund of all but a few cents rounds the commission to 0): reversed.
              status: earned - reversed === 0 ? 'reversed' : 'pending',
              amount: earned - reversed,
              reversed,
            });
          });

          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 12 },
    );
  }, 240_000);
});

describe('events that wait', () => {
  it('a redelivery of an event stored but never processed (a crash after the acknowledgement) runs it now', async () => {
    const r = await ctx.referral();
    const event = checkoutSession({ referral: r.referral, amountTotal: 7_000 });
    await storeUnprocessed(event);
    const again = await ctx.send(event);
    expect(again.response.body.status).toBe('received');
    expect(again.row).toMatchObject({ status: 'processed', attempts: 1 });
    expect(await ctx.conversions(r.affiliateId)).toMatchObject([{ amount: 7_000 }]);
    // A further redelivery of the processed event is a duplicate and changes nothing.
    expect((await ctx.send(event)).response.body.status).toBe('duplicate');
    expect(await ctx.conversions(r.affiliateId)).toHaveLength(1);
  });
});

describe('start-up', () => {
  it('a process that starts processes the stored events left unprocessed at once, not at the next sweep', async () => {
    const r = await ctx.referral();
    const event = checkoutSession({ referral: r.referral, amountTotal: 8_000 });
    // A second process on the same database, with its jobs (the first one runs none), has run before (so the
    // minute sweep is scheduled), and restarts after a crash that left an acknowledged event unprocessed.
    const other = createApp(
      loadConfig({
        DATABASE_URL: ctx.app.databaseUrl,
        PORT: '0',
        HOST: '127.0.0.1',
        SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
        JOBS: 'on',
        LOG_LEVEL: 'error',
      }),
    );
    await other.start();
    await other.stop();
    await storeUnprocessed(event);
    const startedAt = Date.now();
    await other.start();
    try {
      const row = await waitFor(async () => {
        const x = await ctx.inbox(event.id);
        return x.status === 'processed' ? x : undefined;
      }, 10_000);
      expect(row).toMatchObject({ status: 'processed', attempts: 1 });
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(await ctx.conversions(r.affiliateId)).toMatchObject([{ amount: 8_000 }]);
    } finally {
      await other.stop();
    }
  }, 30_000);
});

describe('sequence numbers', () => {
  it('the database refuses two payments of one subscription with the same sequence number', async () => {
    const r = await ctx.referral();
    const subscription = freshId('sub');
    const customer = freshId('cus');
    await ctx.send(checkoutSession({ mode: 'subscription', referral: r.referral, subscription, customer }));
    await ctx.send(invoicePaid({ subscription, customer, billingReason: 'subscription_cycle' }));
    await ctx.send(
      invoicePaid({
        subscription,
        customer,
        billingReason: 'subscription_cycle',
        created: Math.floor(Date.now() / 1000) + 60,
      }),
    );
    const rows = await ctx.app.db
      .selectFrom('conversions')
      .select(['id', 'sequence'])
      .where('stripe_subscription_id', '=', subscription)
      .orderBy('sequence')
      .execute();
    expect(rows.map((c) => c.sequence)).toEqual([1, 2, 3]);
    await expect(
      ctx.app.db.updateTable('conversions').set({ sequence: 2 }).where('id', '=', rows[2]!.id).execute(),
    ).rejects.toMatchObject({ code: '23505' });
  });
});

// Last: it moves the app's clock by hours (webhook signatures made at the real time would be too old after it).
describe('events that never find what they wait for', () => {
  let offsetMs = 0;
  const offset = () => offsetMs;
  const advance = (ms: number) => {
    ctx.app.advance(ms);
    offsetMs += ms;
  };
  /** Deliver signed at the app's clock (moved on by the retries), then let processing finish. */
  const sendAtAppClock = async (event: any) => {
    const signature = sign(JSON.stringify(event), ctx.secret, Math.floor((Date.now() + offsetMs) / 1000));
    expect((await deliver(ctx.app.url, ctx.program.id, event, ctx.secret, { signature })).status).toBe(200);
    await ctx.app.services.stripeWebhooks.idle();
  };

  it('a refund whose sale never comes ends `failed` with its reason, and still runs if the sale comes later', async () => {
    const r = await ctx.referral();
    const pi = freshId('pi');
    const charge = freshId('ch');
    const refund = chargeRefunded({
      shape: 'basil',
      chargeId: charge,
      paymentIntent: pi,
      amount: 5_000,
      amountRefunded: 5_000,
    });
    await sendAtAppClock(refund);
    const webhooks = ctx.app.services.stripeWebhooks;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      advance(RETRY_DELAYS_MS[Math.min(i, RETRY_DELAYS_MS.length - 1)]! + 1_000);
      await webhooks.processPending();
    }
    const row = await ctx.inbox(refund.id);
    expect(row).toMatchObject({
      status: 'failed',
      error: `sale_not_found (gave up after ${MAX_ATTEMPTS} attempts)`,
      attempts: MAX_ATTEMPTS,
    });
    expect(row.waiting_for).toEqual(expect.arrayContaining([charge, pi]));

    // Its sale arrives after all (checkout paid by that payment intent): the refund applies at once.
    // (Signed at the app's clock, moved on by the retries above.)
    await sendAtAppClock(checkoutSession({ referral: r.referral, amountTotal: 5_000, paymentIntent: pi }));
    expect(await ctx.inbox(refund.id)).toMatchObject({ status: 'processed', error: null });
    const [conversion] = await ctx.conversions(r.affiliateId);
    expect(conversion).toMatchObject({ refundedAmount: 5_000 });
  });

  it('a renewal whose subscription no referral is known for ends `ignored`, and is credited if its checkout comes later', async () => {
    const r = await ctx.referral();
    const subscription = freshId('sub');
    const customer = freshId('cus');
    const t = Math.floor((Date.now() + offset()) / 1000);
    const renewal = invoicePaid({ shape: 'basil', subscription, customer, amountPaid: 3_000, created: t - 5 * DAY });
    await sendAtAppClock(renewal);
    const webhooks = ctx.app.services.stripeWebhooks;
    for (let i = 0; i < SHORT_WAIT; i++) {
      advance(RETRY_DELAYS_MS[i]! + 1_000);
      await webhooks.processPending();
    }
    expect(await ctx.inbox(renewal.id)).toMatchObject({
      status: 'ignored',
      error: `no_referral (gave up after ${SHORT_WAIT} attempts)`,
    });
    expect(await ctx.conversions(r.affiliateId)).toEqual([]);

    await sendAtAppClock(
      checkoutSession({
        shape: 'basil',
        mode: 'subscription',
        referral: r.referral,
        subscription,
        customer,
        amountTotal: 3_000,
        created: t - 35 * DAY,
      }),
    );
    expect(await ctx.inbox(renewal.id)).toMatchObject({ status: 'processed', error: null });
    expect((await ctx.conversions(r.affiliateId)).map((c) => [c.sequence, c.amount])).toEqual([
      [1, 3_000],
      [2, 3_000],
    ]);
  });
});
