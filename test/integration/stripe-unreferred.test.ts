/**
 * Payments nobody referred: most of a merchant's sales. Their refunds, disputes and `invoice_payment.paid` links must
 * end at once as `ignored` (`sale_not_referred`), in any order of delivery, instead of waiting ~9 hours for a sale
 * that is never recorded and then showing as `failed` in the events inbox. And a payment that only looked
 * unreferred (its `payment_intent.succeeded` came before the Checkout Session that names the referral) still gets
 * its refund applied when the sale arrives. No clock is moved and no sweep runs.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chargeRefunded,
  checkoutSession,
  disputeEvent,
  freshId,
  invoicePaid,
  invoicePaymentPaid,
  paymentIntentSucceeded,
  type PayloadShape,
} from '../helpers/stripe.ts';
import { deliverAll, type DeliveryMode, stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { UNREFERRED_RETENTION_DAYS } from '../../server/stripe/unreferred-payments.repository.ts';

let ctx: StripeTestContext;
beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_unreferred_payments' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

const DAY = 86_400;

/** A subscription nobody referred: checkout, first invoice, one renewal, their links, a refund and a dispute. */
function unreferredSubscription(shape: PayloadShape) {
  const t0 = Math.floor(Date.now() / 1000) - 60 * DAY;
  const subscription = freshId('sub');
  const customer = freshId('cus');
  const pays = [0, 1].map((i) => ({
    invoice: freshId('in'),
    pi: freshId('pi'),
    charge: freshId('ch'),
    amount: 4_900,
    at: t0 + i * 30 * DAY,
  }));
  const [first, renewal] = pays as [(typeof pays)[0], (typeof pays)[0]];
  const events: any[] = [
    checkoutSession({ shape, mode: 'subscription', subscription, customer, invoice: first.invoice, created: first.at }),
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
  });
  const refund = chargeRefunded({
    shape,
    chargeId: renewal.charge,
    paymentIntent: renewal.pi,
    invoice: renewal.invoice,
    amount: renewal.amount,
    amountRefunded: 1_000,
    created: renewal.at + DAY,
  });
  const dispute = disputeEvent('created', {
    shape,
    disputeId: freshId('dp'),
    charge: first.charge,
    paymentIntent: first.pi,
    amount: first.amount,
    created: first.at + 3 * DAY,
  });
  events.push(refund, dispute);
  return { events, refund, dispute };
}

async function rows(eventIds: string[]) {
  return ctx.app.db
    .selectFrom('stripe_events')
    .select(['id', 'type', 'status', 'error'])
    .where('program_id', '=', ctx.program.id)
    .where('id', 'in', eventIds)
    .execute();
}

describe.each(['legacy', 'basil'] as const)('a subscription nobody referred (%s payloads)', (shape) => {
  it('ends every event at once in any order: refund and dispute ignored as not referred, nothing waiting', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<DeliveryMode>('one_by_one', 'burst', 'concurrent'),
        fc.infiniteStream(fc.nat()),
        async (mode, noise) => {
          const sale = unreferredSubscription(shape);
          const order = sale.events
            .map((event) => ({ event, key: noise.next().value as number }))
            .sort((a, b) => a.key - b.key)
            .map((x) => x.event);
          await deliverAll(ctx, order, mode);
          const got = await rows(sale.events.map((e) => e.id));
          expect(got).toHaveLength(sale.events.length);
          // Settled now, without a retry: nothing retrying (it would end `failed` hours later).
          expect(got.filter((r) => r.status !== 'ignored')).toEqual([]);
          const byId = new Map(got.map((r) => [r.id, r]));
          expect(byId.get(sale.refund.id)).toMatchObject({ status: 'ignored', error: 'sale_not_referred' });
          expect(byId.get(sale.dispute.id)).toMatchObject({ status: 'ignored', error: 'sale_not_referred' });
          // And nobody earned anything from it.
          const conversions = await ctx.app.db
            .selectFrom('conversions')
            .select('id')
            .where('program_id', '=', ctx.program.id)
            .execute();
          expect(conversions).toEqual([]);
        },
      ),
      { numRuns: 10 },
    );
  }, 120_000);
});

describe('a payment that only looked unreferred', () => {
  it('gets its refund when its Checkout Session, which names the referral, arrives after the refund', async () => {
    const r = await ctx.referral();
    const pi = freshId('pi');
    const charge = freshId('ch');
    // The payment intent's own event first: no customer bound to a referral, so it looks like nobody's.
    const intent = paymentIntentSucceeded({ id: pi, amount: 10_000, customer: null, charge });
    expect((await ctx.send(intent)).row).toMatchObject({ status: 'ignored', error: 'no_referral' });
    const refund = chargeRefunded({ chargeId: charge, paymentIntent: pi, amount: 10_000, amountRefunded: 2_500 });
    expect((await ctx.send(refund)).row).toMatchObject({ status: 'ignored', error: 'sale_not_referred' });

    // The Checkout Session of that payment intent names the referral: the sale is recorded and the refund runs.
    await ctx.send(checkoutSession({ referral: r.referral, amountTotal: 10_000, paymentIntent: pi }));
    await ctx.app.services.stripeWebhooks.idle();
    expect(await ctx.inbox(refund.id)).toMatchObject({ status: 'processed' });
    expect(await ctx.conversions(r.affiliateId)).toMatchObject([{ amount: 10_000, refundedAmount: 2_500 }]);
    const [commission] = await ctx.commissions(r.affiliateId);
    expect(commission).toMatchObject({ amount: 750, reversed_amount: 250 });
  });

  it('a refund of a payment never seen still waits (and a sale recorded later applies it)', async () => {
    const refund = chargeRefunded({
      chargeId: freshId('ch'),
      paymentIntent: freshId('pi'),
      amount: 5_000,
      amountRefunded: 5_000,
    });
    expect((await ctx.send(refund)).row).toMatchObject({ status: 'retrying', error: 'sale_not_found' });
  });
});

it('the sweep forgets unreferred payments after the retention period, and only those', async () => {
  const old = freshId('pi');
  const sale = paymentIntentSucceeded({ id: old, amount: 2_000, customer: null });
  expect((await ctx.send(sale)).row).toMatchObject({ status: 'ignored', error: 'no_referral' });
  const stored = (id: string) =>
    ctx.app.db.selectFrom('stripe_unreferred_payments').select('stripe_id').where('stripe_id', '=', id).execute();
  expect(await stored(old)).toHaveLength(1);
  // Within the period: kept.
  ctx.app.advance((UNREFERRED_RETENTION_DAYS - 1) * DAY * 1000);
  try {
    await ctx.app.services.stripeWebhooks.pruneUnreferred();
  } finally {
    ctx.app.advance(-(UNREFERRED_RETENTION_DAYS - 1) * DAY * 1000);
  }
  expect(await stored(old)).toHaveLength(1);
  ctx.app.advance((UNREFERRED_RETENTION_DAYS + 1) * DAY * 1000);
  let forgotten: number;
  try {
    forgotten = await ctx.app.services.stripeWebhooks.pruneUnreferred();
  } finally {
    ctx.app.advance(-(UNREFERRED_RETENTION_DAYS + 1) * DAY * 1000);
  }
  expect(forgotten).toBeGreaterThanOrEqual(1);
  expect(await stored(old)).toEqual([]);
  // A refund of it now waits for a sale again, as for a payment never seen.
  const refund = chargeRefunded({ chargeId: freshId('ch'), paymentIntent: old, amount: 2_000, amountRefunded: 2_000 });
  expect((await ctx.send(refund)).row).toMatchObject({ status: 'retrying', error: 'sale_not_found' });
});
