/**
 * Money going back, over the real route: refunds before their sale, partial then full refunds, disputes lost
 * then won, out-of-order and replayed events, and clawbacks of a commission already paid out (through the
 * real payouts API), with the commission history Stripe's changes leave behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chargeRefunded, deliver, disputeEvent, freshId, invoicePaid } from '../helpers/stripe.ts';
import { history, stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../server/stripe/webhooks/webhooks.service.ts';

let ctx: StripeTestContext;
beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_stripe_money_back' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

const t0 = () => Math.floor(Date.now() / 1000);

/** A referred 100.00 usd sale paid by `charge` / `pi` (10.00 commission), as `invoice.paid` with its charge. */
async function sale(opts: { amount?: number } = {}) {
  const r = await ctx.referral();
  const ids = { charge: freshId('ch'), pi: freshId('pi'), invoice: freshId('in') };
  const event = invoicePaid({
    invoiceId: ids.invoice,
    subscriptionMetadata: { partnerkit_referral: r.referral },
    billingReason: 'subscription_create',
    amountPaid: opts.amount ?? 10_000,
    charge: ids.charge,
    paymentIntent: ids.pi,
  });
  return { ...r, ...ids, event };
}

async function onlyCommission(affiliateId: string) {
  const all = await ctx.commissions(affiliateId);
  expect(all).toHaveLength(1);
  return all[0]!;
}

describe('refunds', () => {
  it('a refund that arrives before its sale waits, and runs as soon as the sale is recorded', async () => {
    const s = await sale();
    const refund = chargeRefunded({ chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: 10_000 });
    const early = await ctx.send(refund);
    expect(early.response.body).toMatchObject({ received: true, status: 'received' });
    expect(early.row).toMatchObject({ status: 'retrying', error: 'sale_not_found', attempts: 1 });
    expect(early.row.waiting_for).toEqual(expect.arrayContaining([s.charge, s.pi]));
    expect(await ctx.conversions(s.affiliateId)).toEqual([]);

    await ctx.send(s.event);
    const later = await ctx.inbox(refund.id);
    expect(later).toMatchObject({ status: 'processed', error: null, attempts: 2, waiting_for: null });
    const [conversion] = await ctx.conversions(s.affiliateId);
    expect(conversion).toMatchObject({ amount: 10_000, refundedAmount: 10_000 });
    expect(await onlyCommission(s.affiliateId)).toMatchObject({
      status: 'reversed',
      amount: 0,
      reversed_amount: 1_000,
    });
  });

  it("a sale wakes only its own program's waiting refunds, even when another program's Stripe account uses the same ids", async () => {
    const otherSecret = 'whsec_test_other_program';
    const other = await ctx.app.services.programs.create({
      name: 'Other',
      website: 'https://other.test',
      stripeWebhookSecret: otherSecret,
    });
    const s = await sale();
    const refund = chargeRefunded({ chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: 10_000 });
    expect((await deliver(ctx.app.url, other.id, refund, otherSecret)).status).toBe(200);
    await ctx.app.services.stripeWebhooks.idle();
    const otherInbox = () =>
      ctx.app.db
        .selectFrom('stripe_events')
        .selectAll()
        .where('program_id', '=', other.id)
        .where('id', '=', refund.id)
        .executeTakeFirstOrThrow();
    expect(await otherInbox()).toMatchObject({ status: 'retrying', error: 'sale_not_found', attempts: 1 });

    await ctx.send(s.event); // the sale with those ids, in the first program
    expect(await otherInbox()).toMatchObject({ status: 'retrying', error: 'sale_not_found', attempts: 1 });
    const [conversion] = await ctx.conversions(s.affiliateId);
    expect(conversion).toMatchObject({ amount: 10_000, refundedAmount: 0 });
  });

  it('a refund whose sale never comes is retried with backoff, given up as failed, and still woken by a late sale', async () => {
    const s = await sale();
    const refund = chargeRefunded({ chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: 4_000 });
    await ctx.send(refund);
    let row = await ctx.inbox(refund.id);
    expect(row.next_attempt_at.getTime() - row.processed_at.getTime()).toBe(RETRY_DELAYS_MS[0]);
    // Not due yet: nothing happens.
    await ctx.app.services.stripeWebhooks.processPending();
    expect((await ctx.inbox(refund.id)).attempts).toBe(1);
    let moved = 0;
    try {
      for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
        const wait = RETRY_DELAYS_MS[attempt - 2]!;
        ctx.app.advance(wait);
        moved += wait;
        await ctx.app.services.stripeWebhooks.processPending();
        row = await ctx.inbox(refund.id);
        expect(row.attempts).toBe(attempt);
      }
    } finally {
      ctx.app.advance(-moved);
    }
    expect(row).toMatchObject({
      status: 'failed',
      error: `sale_not_found (gave up after ${MAX_ATTEMPTS} attempts)`,
      next_attempt_at: null,
    });

    // The merchant sees why in the admin API (and `npm run cli -- stripe events --status failed`).
    const failed = await ctx.admin.get('/api/v1/stripe-events?status=failed');
    expect(failed.status).toBe(200);
    expect(failed.body.data).toEqual([
      expect.objectContaining({
        id: refund.id,
        type: 'charge.refunded',
        status: 'failed',
        error: `sale_not_found (gave up after ${MAX_ATTEMPTS} attempts)`,
        attempts: MAX_ATTEMPTS,
      }),
    ]);
    const one = await ctx.admin.get(`/api/v1/stripe-events/${refund.id}`);
    expect(one.body.event).toMatchObject({ id: refund.id, status: 'failed', payload: { id: refund.id } });
    expect((await ctx.admin.get('/api/v1/stripe-events?status=nope')).status).toBe(400);
    expect((await ctx.admin.get('/api/v1/stripe-events/evt_unknown')).status).toBe(404);

    await ctx.send(s.event);
    expect(await ctx.inbox(refund.id)).toMatchObject({ status: 'processed', attempts: MAX_ATTEMPTS + 1 });
    const processed = await ctx.admin.get(`/api/v1/stripe-events?status=processed&type=charge.refunded`);
    expect(processed.body.data.map((e: { id: string }) => e.id)).toContain(refund.id);
    expect(
      processed.body.data.every(
        (e: { status: string; type: string }) => e.status === 'processed' && e.type === 'charge.refunded',
      ),
    ).toBe(true);
    expect(await onlyCommission(s.affiliateId)).toMatchObject({ status: 'pending', amount: 600, reversed_amount: 400 });
  });

  it('partial then full refund takes back 30 % then the rest; an older partial event afterwards changes nothing', async () => {
    const s = await sale();
    await ctx.send(s.event);
    const partial = chargeRefunded({
      chargeId: s.charge,
      paymentIntent: s.pi,
      amount: 10_000,
      amountRefunded: 3_000,
      created: t0(),
    });
    expect((await ctx.send(partial)).row.status).toBe('processed');
    let c = await onlyCommission(s.affiliateId);
    expect(c).toMatchObject({ status: 'pending', amount: 700, reversed_amount: 300 });

    const full = chargeRefunded({
      chargeId: s.charge,
      paymentIntent: s.pi,
      amount: 10_000,
      amountRefunded: 10_000,
      created: t0() + 60,
    });
    expect((await ctx.send(full)).row.status).toBe('processed');
    c = await onlyCommission(s.affiliateId);
    expect(c).toMatchObject({ status: 'reversed', amount: 0, reversed_amount: 1_000, reason: 'refunded' });

    // The same partial refund reported again under another event id (Stripe resends, reorders).
    const stale = chargeRefunded({
      chargeId: s.charge,
      paymentIntent: s.pi,
      amount: 10_000,
      amountRefunded: 3_000,
      created: t0(),
    });
    expect((await ctx.send(stale)).row).toMatchObject({ status: 'ignored', error: 'refund_already_applied' });
    expect(await onlyCommission(s.affiliateId)).toMatchObject({ status: 'reversed', amount: 0 });
    expect((await ctx.conversions(s.affiliateId))[0]).toMatchObject({ refundedAmount: 10_000 });

    expect(await history(ctx, c.id)).toEqual([
      [null, 'pending', 1_000, 'stripe', expect.any(String)],
      ['pending', 'pending', 700, 'stripe', 'partially_refunded'],
      ['pending', 'reversed', 0, 'stripe', 'refunded'],
    ]);
  });

  it('the same refund event delivered twice is stored once and applied once', async () => {
    const s = await sale();
    await ctx.send(s.event);
    const refund = chargeRefunded({ chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: 5_000 });
    await ctx.send(refund);
    const again = await ctx.send(refund);
    expect(again.response.body.status).toBe('duplicate');
    expect(again.row.attempts).toBe(1);
    expect(await onlyCommission(s.affiliateId)).toMatchObject({ amount: 500, reversed_amount: 500 });
  });
});

describe('disputes', () => {
  it('lost then won: held, reversed, then reinstated to the status it had', async () => {
    const s = await sale();
    await ctx.send(s.event);
    const dp = freshId('dp');
    await ctx.send(disputeEvent('created', { disputeId: dp, charge: s.charge, amount: 10_000, created: t0() }));
    expect(await onlyCommission(s.affiliateId)).toMatchObject({
      status: 'on_hold',
      hold_reason: 'dispute',
      amount: 1_000,
    });
    // The hold is not approved by the hold-period job, whatever the time.
    ctx.app.advance(40 * 86_400_000);
    try {
      await ctx.app.services.commissions.approveDue();
    } finally {
      ctx.app.advance(-40 * 86_400_000);
    }
    expect((await onlyCommission(s.affiliateId)).status).toBe('on_hold');

    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: s.charge, amount: 10_000, status: 'lost', created: t0() + 60 }),
    );
    expect(await onlyCommission(s.affiliateId)).toMatchObject({
      status: 'reversed',
      amount: 0,
      reversed_amount: 1_000,
      hold_reason: null,
    });
    expect((await ctx.conversions(s.affiliateId))[0]).toMatchObject({ disputeStatus: 'lost' });

    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: s.charge, amount: 10_000, status: 'won', created: t0() + 120 }),
    );
    const c = await onlyCommission(s.affiliateId);
    expect(c).toMatchObject({ status: 'pending', amount: 1_000, reversed_amount: 0, hold_reason: null });
    expect((await history(ctx, c.id)).map(([from, to, amount, actor]) => [from, to, amount, actor])).toEqual([
      [null, 'pending', 1_000, 'stripe'],
      ['pending', 'on_hold', 1_000, 'stripe'],
      ['on_hold', 'reversed', 0, 'stripe'],
      ['reversed', 'pending', 1_000, 'stripe'],
    ]);
  });

  it('an inquiry closed (warning_closed) reinstates an approved commission as approved', async () => {
    const s = await sale();
    await ctx.send(s.event);
    const [c0] = await ctx.commissions(s.affiliateId);
    expect((await ctx.admin.post(`/api/v1/commissions/${c0!.id}/approve`)).status).toBe(200);
    const dp = freshId('dp');
    await ctx.send(
      disputeEvent('created', {
        shape: 'basil',
        disputeId: dp,
        charge: s.charge,
        amount: 10_000,
        status: 'warning_needs_response',
        created: t0(),
      }),
    );
    expect((await onlyCommission(s.affiliateId)).status).toBe('on_hold');
    await ctx.send(
      disputeEvent('closed', {
        shape: 'basil',
        disputeId: dp,
        charge: s.charge,
        amount: 10_000,
        status: 'warning_closed',
        created: t0() + 30,
      }),
    );
    expect(await onlyCommission(s.affiliateId)).toMatchObject({ status: 'approved', amount: 1_000, hold_reason: null });
  });

  it('events out of order: a created older than the closed already applied changes nothing', async () => {
    const s = await sale();
    await ctx.send(s.event);
    const dp = freshId('dp');
    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: s.charge, amount: 10_000, status: 'won', created: t0() + 60 }),
    );
    const late = await ctx.send(
      disputeEvent('created', { disputeId: dp, charge: s.charge, amount: 10_000, created: t0() }),
    );
    expect(late.row).toMatchObject({ status: 'ignored', error: 'stale_dispute_event' });
    expect(await onlyCommission(s.affiliateId)).toMatchObject({ status: 'pending', amount: 1_000 });
  });

  it('a dispute that arrives before its sale holds the commission once the sale is recorded', async () => {
    const s = await sale();
    const dispute = disputeEvent('created', { charge: s.charge, paymentIntent: s.pi, amount: 10_000 });
    expect((await ctx.send(dispute)).row).toMatchObject({ status: 'retrying', error: 'sale_not_found' });
    await ctx.send(s.event);
    expect((await ctx.inbox(dispute.id)).status).toBe('processed');
    expect(await onlyCommission(s.affiliateId)).toMatchObject({ status: 'on_hold', hold_reason: 'dispute' });
  });

  it('a partial dispute lost takes back only its share (of what was paid including tax)', async () => {
    const r = await ctx.referral();
    const charge = freshId('ch');
    // 120.00 paid, 20.00 of it tax: the sale is 100.00, the commission 10.00.
    await ctx.send(
      invoicePaid({
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 12_000,
        tax: 2_000,
        charge,
      }),
    );
    const dp = freshId('dp');
    await ctx.send(disputeEvent('created', { disputeId: dp, charge, amount: 3_000, created: t0() }));
    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge, amount: 3_000, status: 'lost', created: t0() + 60 }),
    );
    // 30.00 of 120.00 = 25 %: 2.50 taken back.
    expect(await onlyCommission(r.affiliateId)).toMatchObject({ status: 'pending', amount: 750, reversed_amount: 250 });
  });
});

describe('after payment: clawbacks', () => {
  it('a paid commission is clawed back by negative commissions the next payout nets; a dispute holds its share until it closes', async () => {
    const s = await sale();
    await ctx.send(s.event);
    const paid = await onlyCommission(s.affiliateId);
    expect((await ctx.admin.post(`/api/v1/commissions/${paid.id}/approve`)).status).toBe(200);
    const payout = await ctx.admin.post('/api/v1/payouts', { affiliateId: s.affiliateId, method: 'paypal' });
    expect(payout.status).toBe(201);
    expect(
      (await ctx.admin.post(`/api/v1/payouts/${payout.body.payout.id}/complete`, { reference: 'PP-1' })).status,
    ).toBe(200);
    expect((await onlyCommission(s.affiliateId)).status).toBe('paid');

    // 30 % refunded: a clawback of 3.00, due at once.
    await ctx.send(chargeRefunded({ chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: 3_000 }));
    let all = await ctx.commissions(s.affiliateId);
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ id: paid.id, status: 'paid', amount: 1_000 });
    expect(all[1]).toMatchObject({
      kind: 'clawback',
      amount: -300,
      status: 'approved',
      reverses_commission_id: paid.id,
    });
    const balance = async () => (await ctx.admin.get(`/api/v1/balances?affiliateId=${s.affiliateId}`)).body.data[0];
    expect(await balance()).toMatchObject({ clawbacks: -300, balance: -300 });

    // The customer disputes the rest: 7.00 held as a clawback on hold, not yet owed.
    const dp = freshId('dp');
    await ctx.send(disputeEvent('created', { disputeId: dp, charge: s.charge, amount: 10_000, created: t0() }));
    all = await ctx.commissions(s.affiliateId);
    expect(all).toHaveLength(3);
    expect(all[2]).toMatchObject({ kind: 'clawback', amount: -700, status: 'on_hold', hold_reason: 'dispute' });
    expect(await balance()).toMatchObject({ clawbacks: -300 });

    // Lost: the held clawback is released and owed.
    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: s.charge, amount: 10_000, status: 'lost', created: t0() + 60 }),
    );
    all = await ctx.commissions(s.affiliateId);
    expect(all).toHaveLength(3);
    expect(all[2]).toMatchObject({ amount: -700, status: 'approved', hold_reason: null });
    expect(await balance()).toMatchObject({ clawbacks: -1_000 });

    // Won after all: the 7.00 clawback no payout netted yet is reversed.
    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: s.charge, amount: 10_000, status: 'won', created: t0() + 120 }),
    );
    all = await ctx.commissions(s.affiliateId);
    expect(all).toHaveLength(3);
    expect(all[2]).toMatchObject({ amount: -700, status: 'reversed' });
    expect(all[1]).toMatchObject({ amount: -300, status: 'approved' });
    expect(await balance()).toMatchObject({ clawbacks: -300 });
    // Every change is in the history, by Stripe.
    expect((await history(ctx, all[2]!.id)).map(([from, to, amount, actor]) => [from, to, amount, actor])).toEqual([
      [null, 'on_hold', -700, 'stripe'],
      ['on_hold', 'approved', -700, 'stripe'],
      ['approved', 'reversed', -700, 'stripe'],
    ]);
  });
});
