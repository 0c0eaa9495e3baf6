/**
 * One row per handled event type and payload generation, over the real webhook route and a real PostgreSQL:
 * real Stripe payloads (`shared/fixtures/stripe/`: stripe-sync-engine captures for the pre-2025 shapes,
 * openapi fixtures for the current ones) with fresh ids, signed as Stripe signs them. Each row names what the
 * inbox row ends with and what the affiliate then has: conversions (admin API) and commissions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkoutSession,
  chargeRefunded,
  customerEvent,
  disputeEvent,
  freshId,
  invoicePaid,
  loadEvent,
  subscriptionDeleted,
  type PayloadShape,
} from '../helpers/stripe.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';

let ctx: StripeTestContext;
beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_stripe_handlers' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

/** Unix seconds a month from now: when a renewal is paid. */
const nextMonth = () => Math.floor(Date.now() / 1000) + 30 * 86_400;

interface Ref {
  affiliateId: string;
  code: string;
  referral: string;
  /** Fresh Stripe ids for the row to use. */
  customer: string;
  subscription: string;
  invoice: string;
  charge: string;
  paymentIntent: string;
}

interface Row {
  name: string;
  shape: PayloadShape;
  /** Set-up through the product's own surfaces (lead, promotion code mapping). */
  setup?: (r: Ref) => Promise<void>;
  /** Delivered in order; every one but the last must be processed or ignored as `before` says. */
  events: (r: Ref) => any[];
  /** Inbox status and error of each event, in order. */
  outcomes: [status: string, error: string | null][];
  /** The affiliate's conversions afterwards, oldest first (partial match). */
  conversions: Record<string, unknown>[];
  /** The affiliate's commissions afterwards, oldest first (partial match on the table's columns). */
  commissions: Record<string, unknown>[];
}

const rows: Row[] = [
  {
    name: 'checkout.session.completed, payment mode: the amount excluding tax, by client_reference_id',
    shape: 'legacy',
    events: (r) => [
      checkoutSession({
        referral: r.referral,
        amountTotal: 12_000,
        tax: 2_000,
        currency: 'eur',
        paymentIntent: r.paymentIntent,
      }),
    ],
    outcomes: [['processed', null]],
    conversions: [
      {
        amount: 10_000,
        currency: 'eur',
        sequence: 1,
        attributedBy: 'client_reference_id',
        stripePaymentIntentId: expect.stringMatching(/^pi_/),
      },
    ],
    commissions: [{ kind: 'sale', amount: 1_000, currency: 'eur', status: 'pending' }],
  },
  {
    name: 'checkout.session.completed, subscription mode, by session metadata',
    shape: 'basil',
    events: (r) => [
      checkoutSession({
        shape: 'basil',
        mode: 'subscription',
        metadata: { partnerkit_referral: r.referral },
        amountTotal: 2_900,
        subscription: r.subscription,
        invoice: r.invoice,
      }),
    ],
    outcomes: [['processed', null]],
    conversions: [
      {
        amount: 2_900,
        sequence: 1,
        attributedBy: 'session_metadata',
        stripeSubscriptionId: expect.stringMatching(/^sub_/),
        stripeInvoiceId: expect.stringMatching(/^in_/),
      },
    ],
    commissions: [{ kind: 'sale', amount: 290, status: 'pending' }],
  },
  {
    name: 'checkout.session.completed unpaid (delayed method), then checkout.session.async_payment_succeeded',
    shape: 'legacy',
    events: (r) => {
      const sessionId = freshId('cs');
      return [
        checkoutSession({
          referral: r.referral,
          sessionId,
          paymentStatus: 'unpaid',
          paymentIntent: r.paymentIntent,
          amountTotal: 5_000,
        }),
        checkoutSession({
          type: 'checkout.session.async_payment_succeeded',
          referral: r.referral,
          sessionId,
          paymentIntent: r.paymentIntent,
          amountTotal: 5_000,
        }),
      ];
    },
    outcomes: [
      ['ignored', 'unpaid'],
      ['processed', null],
    ],
    conversions: [{ amount: 5_000 }],
    commissions: [{ amount: 500 }],
  },
  {
    name: 'checkout.session.async_payment_succeeded after a paid completed: the same sale, counted once',
    shape: 'basil',
    events: (r) => {
      const sessionId = freshId('cs');
      return [
        checkoutSession({ shape: 'basil', referral: r.referral, sessionId, paymentIntent: r.paymentIntent }),
        checkoutSession({
          shape: 'basil',
          type: 'checkout.session.async_payment_succeeded',
          referral: r.referral,
          sessionId,
          paymentIntent: r.paymentIntent,
        }),
      ];
    },
    outcomes: [
      ['processed', null],
      ['ignored', 'duplicate_sale'],
    ],
    conversions: [{ amount: 4_900 }],
    commissions: [{ amount: 490 }],
  },
  {
    name: 'a trial checkout earns nothing but binds the customer; the first paid invoice is the sale',
    shape: 'legacy',
    events: (r) => [
      checkoutSession({
        referral: r.referral,
        mode: 'subscription',
        paymentStatus: 'no_payment_required',
        amountTotal: 0,
        customer: r.customer,
        subscription: r.subscription,
        invoice: null,
      }),
      invoicePaid({
        customer: r.customer,
        subscription: r.subscription,
        billingReason: 'subscription_cycle',
        amountPaid: 3_000,
      }),
    ],
    outcomes: [
      ['ignored', 'zero_amount'],
      ['processed', null],
    ],
    conversions: [{ amount: 3_000, sequence: 1, attributedBy: 'customer' }],
    commissions: [{ kind: 'sale', amount: 300 }],
  },
  {
    name: 'invoice.paid, first payment, subscription metadata in subscription_details, charge and payment intent kept',
    shape: 'legacy',
    events: (r) => [
      invoicePaid({
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 2_400,
        tax: 400,
        charge: r.charge,
        paymentIntent: r.paymentIntent,
      }),
    ],
    outcomes: [['processed', null]],
    conversions: [
      {
        amount: 2_000,
        sequence: 1,
        attributedBy: 'subscription_metadata',
        stripeChargeId: expect.stringMatching(/^ch_/),
        stripePaymentIntentId: expect.stringMatching(/^pi_/),
      },
    ],
    commissions: [{ kind: 'sale', amount: 200 }],
  },
  {
    name: 'invoice.paid, first payment, parent.subscription_details.metadata, tax from total_taxes',
    shape: 'basil',
    events: (r) => [
      invoicePaid({
        shape: 'basil',
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 6_000,
        tax: 1_000,
      }),
    ],
    outcomes: [['processed', null]],
    conversions: [
      {
        amount: 5_000,
        sequence: 1,
        attributedBy: 'subscription_metadata',
        stripeSubscriptionId: expect.stringMatching(/^sub_/),
        stripeChargeId: null,
      },
    ],
    commissions: [{ kind: 'sale', amount: 500 }],
  },
  {
    name: 'subscription checkout + its first invoice.paid = one sale; the next invoice.paid is a recurring commission',
    shape: 'legacy',
    events: (r) => [
      checkoutSession({
        referral: r.referral,
        mode: 'subscription',
        subscription: r.subscription,
        invoice: r.invoice,
        customer: r.customer,
        amountTotal: 1_500,
      }),
      invoicePaid({
        invoiceId: r.invoice,
        subscription: r.subscription,
        customer: r.customer,
        billingReason: 'subscription_create',
        amountPaid: 1_500,
        charge: r.charge,
      }),
      invoicePaid({
        subscription: r.subscription,
        customer: r.customer,
        billingReason: 'subscription_cycle',
        amountPaid: 1_500,
        created: nextMonth(),
      }),
    ],
    outcomes: [
      ['processed', null],
      ['ignored', 'duplicate_sale'],
      ['processed', null],
    ],
    conversions: [
      { amount: 1_500, sequence: 1, stripeChargeId: expect.stringMatching(/^ch_/) },
      { amount: 1_500, sequence: 2, attributedBy: 'subscription' },
    ],
    commissions: [
      { kind: 'sale', amount: 150 },
      { kind: 'recurring', amount: 150 },
    ],
  },
  {
    name: 'subscription checkout without an invoice id + first invoice.paid (basil) = one sale, then a renewal',
    shape: 'basil',
    events: (r) => [
      checkoutSession({
        shape: 'basil',
        referral: r.referral,
        mode: 'subscription',
        subscription: r.subscription,
        invoice: null,
        customer: r.customer,
        amountTotal: 1_000,
      }),
      invoicePaid({
        shape: 'basil',
        subscription: r.subscription,
        customer: r.customer,
        billingReason: 'subscription_create',
        amountPaid: 1_000,
      }),
      invoicePaid({
        shape: 'basil',
        subscription: r.subscription,
        customer: r.customer,
        billingReason: 'subscription_cycle',
        amountPaid: 1_000,
        created: nextMonth(),
      }),
    ],
    outcomes: [
      ['processed', null],
      ['ignored', 'duplicate_sale'],
      ['processed', null],
    ],
    conversions: [
      { amount: 1_000, sequence: 1, stripeInvoiceId: expect.stringMatching(/^in_/) },
      { amount: 1_000, sequence: 2 },
    ],
    commissions: [
      { kind: 'sale', amount: 100 },
      { kind: 'recurring', amount: 100 },
    ],
  },
  {
    name: 'invoice.paid with amount_paid 0 (the fixture as captured) earns nothing',
    shape: 'legacy',
    events: (r) => {
      const e = loadEvent('invoice_paid');
      e.id = freshId('evt');
      e.data.object.id = r.invoice;
      e.data.object.subscription_details = { metadata: { partnerkit_referral: r.referral } };
      return [e];
    },
    outcomes: [['ignored', 'zero_amount']],
    conversions: [],
    commissions: [],
  },
  {
    name: 'charge.refunded (charge.invoice), partial: the commission is reduced pro rata before payment',
    shape: 'legacy',
    events: (r) => [
      invoicePaid({
        invoiceId: r.invoice,
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 10_000,
        charge: null,
        paymentIntent: null,
      }),
      chargeRefunded({ invoice: r.invoice, amount: 10_000, amountRefunded: 2_500 }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ amount: 10_000, refundedAmount: 2_500 }],
    commissions: [{ kind: 'sale', amount: 750, reversed_amount: 250, status: 'pending' }],
  },
  {
    name: 'charge.refunded (payment intent only), in full: the commission is reversed',
    shape: 'basil',
    events: (r) => [
      checkoutSession({
        shape: 'basil',
        referral: r.referral,
        paymentIntent: r.paymentIntent,
        amountTotal: 8_000,
        tax: 800,
      }),
      chargeRefunded({ shape: 'basil', paymentIntent: r.paymentIntent, amount: 8_000, amountRefunded: 8_000 }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ amount: 7_200, refundedAmount: 7_200, stripeChargeId: expect.stringMatching(/^ch_/) }],
    commissions: [{ amount: 0, reversed_amount: 720, status: 'reversed', reason: 'refunded' }],
  },
  {
    name: 'charge.dispute.created: the commission is put on hold',
    shape: 'legacy',
    events: (r) => [
      checkoutSession({ referral: r.referral, paymentIntent: r.paymentIntent, amountTotal: 3_000 }),
      disputeEvent('created', { charge: r.charge, paymentIntent: r.paymentIntent, amount: 3_000 }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ disputeStatus: 'open' }],
    commissions: [{ amount: 300, status: 'on_hold', hold_reason: 'dispute' }],
  },
  {
    name: 'charge.dispute.created naming only the charge (current shape): found through the charge id of the invoice',
    shape: 'basil',
    events: (r) => [
      invoicePaid({
        invoiceId: r.invoice,
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 2_000,
        charge: r.charge,
      }),
      disputeEvent('created', { shape: 'basil', charge: r.charge, paymentIntent: null, amount: 2_000 }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ disputeStatus: 'open' }],
    commissions: [{ amount: 200, status: 'on_hold', hold_reason: 'dispute' }],
  },
  {
    name: 'charge.dispute.closed lost: the commission is reversed',
    shape: 'legacy',
    events: (r) => [
      checkoutSession({ referral: r.referral, paymentIntent: r.paymentIntent, amountTotal: 3_000 }),
      disputeEvent('created', {
        disputeId: `dp_${r.charge}`,
        charge: r.charge,
        paymentIntent: r.paymentIntent,
        amount: 3_000,
      }),
      disputeEvent('closed', {
        disputeId: `dp_${r.charge}`,
        charge: r.charge,
        paymentIntent: r.paymentIntent,
        amount: 3_000,
        status: 'lost',
        created: Math.floor(Date.now() / 1000) + 60,
      }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ disputeStatus: 'lost' }],
    commissions: [{ amount: 0, reversed_amount: 300, status: 'reversed', hold_reason: null, reason: 'dispute_lost' }],
  },
  {
    name: 'charge.dispute.closed won: the commission is reinstated',
    shape: 'basil',
    events: (r) => [
      checkoutSession({ shape: 'basil', referral: r.referral, paymentIntent: r.paymentIntent, amountTotal: 3_000 }),
      disputeEvent('created', {
        shape: 'basil',
        disputeId: `dp_${r.charge}`,
        charge: r.charge,
        paymentIntent: r.paymentIntent,
        amount: 3_000,
      }),
      disputeEvent('closed', {
        shape: 'basil',
        disputeId: `dp_${r.charge}`,
        charge: r.charge,
        paymentIntent: r.paymentIntent,
        amount: 3_000,
        status: 'won',
        created: Math.floor(Date.now() / 1000) + 60,
      }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ disputeStatus: 'won' }],
    commissions: [{ amount: 300, reversed_amount: 0, status: 'pending', hold_reason: null }],
  },
  {
    name: 'customer.created with metadata binds the customer; its invoice is the affiliate’s',
    shape: 'basil',
    events: (r) => [
      customerEvent('created', {
        shape: 'basil',
        customerId: r.customer,
        metadata: { partnerkit_referral: r.referral },
      }),
      invoicePaid({ shape: 'basil', customer: r.customer, billingReason: 'subscription_create', amountPaid: 4_000 }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ amount: 4_000, attributedBy: 'customer', stripeCustomerId: expect.stringMatching(/^cus_/) }],
    commissions: [{ amount: 400 }],
  },
  {
    name: 'customer.updated with metadata binds the customer; a later checkout without referral is the affiliate’s',
    shape: 'legacy',
    events: (r) => [
      customerEvent('updated', { customerId: r.customer, metadata: { partnerkit_referral: r.referral } }),
      checkoutSession({ customer: r.customer, amountTotal: 2_000 }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ amount: 2_000, attributedBy: 'customer' }],
    commissions: [{ amount: 200 }],
  },
  {
    name: 'customer.subscription.deleted: no recurring commission for an invoice created after the end',
    shape: 'legacy',
    events: (r) => {
      const t = Math.floor(Date.now() / 1000);
      return [
        checkoutSession({
          referral: r.referral,
          mode: 'subscription',
          subscription: r.subscription,
          customer: r.customer,
          amountTotal: 1_000,
        }),
        subscriptionDeleted({ subscriptionId: r.subscription, customer: r.customer, endedAt: t }),
        invoicePaid({ subscription: r.subscription, customer: r.customer, amountPaid: 1_000, created: t + 3_600 }),
      ];
    },
    outcomes: [
      ['processed', null],
      ['processed', null],
      ['ignored', 'subscription_ended'],
    ],
    conversions: [{ amount: 1_000, subscriptionEndedAt: expect.any(String) }],
    commissions: [{ kind: 'sale', amount: 100 }],
  },
  {
    name: 'customer.subscription.deleted (current shape) marks the subscription ended',
    shape: 'basil',
    events: (r) => [
      invoicePaid({
        shape: 'basil',
        subscription: r.subscription,
        subscriptionMetadata: { partnerkit_referral: r.referral },
        billingReason: 'subscription_create',
        amountPaid: 1_000,
      }),
      subscriptionDeleted({ shape: 'basil', subscriptionId: r.subscription }),
    ],
    outcomes: [
      ['processed', null],
      ['processed', null],
    ],
    conversions: [{ subscriptionEndedAt: expect.any(String) }],
    commissions: [{ amount: 100 }],
  },
  {
    name: 'an affiliate’s promotion code used at checkout attributes the sale',
    shape: 'legacy',
    setup: async (r) => {
      const res = await ctx.admin.post('/api/v1/promotion-codes', {
        affiliateId: r.affiliateId,
        stripePromotionCodeId: `promo_${r.charge}`,
        code: `SAVE${r.charge.slice(-6)}`,
      });
      expect(res.status).toBe(201);
    },
    events: (r) => [checkoutSession({ promotionCode: `promo_${r.charge}`, amountTotal: 9_000 })],
    outcomes: [['processed', null]],
    conversions: [{ amount: 9_000, attributedBy: 'promotion_code' }],
    commissions: [{ amount: 900 }],
  },
  {
    name: 'a lead recorded by the snippet with the customer’s e-mail attributes the sale',
    shape: 'basil',
    setup: async (r) => {
      const res = await ctx.app.request('/api/v1/track/lead', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({
          key: ctx.program.public_key,
          referral: r.referral,
          email: `Lead.${r.charge}@Example.com`,
        }),
      });
      expect(res.status).toBe(200);
    },
    events: (r) => [checkoutSession({ shape: 'basil', email: `lead.${r.charge}@example.com`, amountTotal: 7_000 })],
    outcomes: [['processed', null]],
    conversions: [{ amount: 7_000, attributedBy: 'lead_email' }],
    commissions: [{ amount: 700 }],
  },
  {
    name: 'a zero-decimal currency stays whole: 1000 jpy earns 100 jpy',
    shape: 'legacy',
    events: (r) => [checkoutSession({ referral: r.referral, amountTotal: 1_000, currency: 'JPY' })],
    outcomes: [['processed', null]],
    conversions: [{ amount: 1_000, currency: 'jpy' }],
    commissions: [{ amount: 100, currency: 'jpy' }],
  },
];

describe('Stripe event handlers, both payload generations', () => {
  it.each(rows.map((r) => [`${r.name} [${r.shape}]`, r] as const))('%s', async (_name, row) => {
    const base = await ctx.referral();
    const r: Ref = {
      ...base,
      customer: freshId('cus'),
      subscription: freshId('sub'),
      invoice: freshId('in'),
      charge: freshId('ch'),
      paymentIntent: freshId('pi'),
    };
    await row.setup?.(r);
    const events = row.events(r);
    const outcomes: [string, string | null][] = [];
    for (const e of events) {
      const { row: inbox } = await ctx.send(e);
      outcomes.push([inbox.status, inbox.error]);
    }
    expect(outcomes).toEqual(row.outcomes);
    const conversions = await ctx.conversions(r.affiliateId);
    expect(conversions).toHaveLength(row.conversions.length);
    for (const [i, c] of row.conversions.entries()) expect(conversions[i]).toMatchObject(c);
    const commissions = await ctx.commissions(r.affiliateId);
    expect(commissions).toHaveLength(row.commissions.length);
    for (const [i, c] of row.commissions.entries()) expect(commissions[i]).toMatchObject(c);
  });
});
