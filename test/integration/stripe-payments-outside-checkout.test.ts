/**
 * Payments outside Checkout and Invoices (Elements, the PaymentIntents / Charges API), credit notes, early fraud
 * warnings and promotion codes on invoices, over the real route with real signed payloads (stripe-sync-engine's
 * legacy envelopes and the current objects of Stripe's openapi fixtures), with and without a restricted key (a
 * loopback fake of Stripe's API). What a user would notice: conversions and commissions in the admin API, and the
 * inbox row's outcome.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chargeRefunded,
  checkoutSession,
  customerEvent,
  envelope,
  freshId,
  invoicePaid,
  loadEvent,
  loadResource,
  paymentIntentSucceeded,
  type PayloadShape,
} from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { history, stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { CHECKOUT_GRACE_MS } from '../../server/stripe/direct-payment.ts';

const KEY = 'rk_test_partnerkitDirectPay0001';
let fake: FakeStripeApi;
let keyed: StripeTestContext;
let keyless: StripeTestContext;

beforeAll(async () => {
  fake = await startFakeStripeApi();
  keyed = await stripeTestContext({ secret: 'whsec_test_direct_keyed', stripeEndpoint: fake.endpoint });
  await keyed.app.services.stripeSettings.setApiKey(keyed.program.id, KEY);
  keyless = await stripeTestContext({ secret: 'whsec_test_direct_keyless' });
});
afterAll(async () => {
  await keyed?.app.stop();
  await keyless?.app.stop();
  await fake?.close();
});

const LEGACY = '2020-03-02';

/** `charge.succeeded`: the stripe-sync-engine capture (legacy) or the openapi `charge` object (current). */
function chargeSucceeded(o: {
  shape?: PayloadShape;
  id?: string;
  amount: number;
  paymentIntent?: string | null;
  customer?: string | null;
  metadata?: Record<string, string>;
  invoice?: string | null;
  captured?: boolean;
}) {
  const shape = o.shape ?? 'legacy';
  const base = shape === 'legacy' ? loadEvent('charge_succeeded') : null;
  const ch = base ? base.data.object : loadResource('charge');
  ch.id = o.id ?? freshId('ch');
  ch.amount = o.amount;
  ch.amount_captured = o.captured === false ? 0 : o.amount;
  ch.captured = o.captured ?? true;
  ch.paid = true;
  ch.status = 'succeeded';
  ch.currency = 'usd';
  ch.customer = o.customer ?? null;
  ch.payment_intent = o.paymentIntent ?? null;
  ch.metadata = o.metadata ?? {};
  if (shape === 'legacy') ch.invoice = o.invoice ?? null;
  return envelope('charge.succeeded', ch, shape === 'legacy' ? { apiVersion: LEGACY } : {});
}

/** A customer bound to a fresh referral by `customer.created` metadata (as merchants using Elements do). */
async function boundCustomer(ctx: StripeTestContext, shape: PayloadShape = 'basil') {
  const r = await ctx.referral();
  const customer = freshId('cus');
  const { row } = await ctx.send(
    customerEvent('created', { customerId: customer, metadata: { partnerkit_referral: r.referral }, shape }),
  );
  expect(row).toMatchObject({ status: 'processed' });
  return { ...r, customer };
}

/** Move the app's clock past the grace period, process what is due, and move it back. */
async function afterGrace(ctx: StripeTestContext) {
  const moved = CHECKOUT_GRACE_MS + 15_000;
  ctx.app.advance(moved);
  try {
    await ctx.app.services.stripeWebhooks.processPending();
  } finally {
    ctx.app.advance(-moved);
  }
}

async function adminCommissions(ctx: StripeTestContext, affiliateId: string) {
  const res = await ctx.admin.get(`/api/v1/commissions?affiliateId=${affiliateId}`);
  expect(res.status).toBe(200);
  return res.body.data as any[];
}

describe.each<PayloadShape>(['legacy', 'basil'])('direct payments (%s payload)', (shape) => {
  it('without a key: a bound customer’s payment waits for a Checkout or invoice, then is a sale once', async () => {
    const c = await boundCustomer(keyless, shape);
    const pi = freshId('pi');
    const charge = freshId('ch');
    const piEvent = paymentIntentSucceeded({ shape, id: pi, amount: 4_200, customer: c.customer, charge });
    const first = await keyless.send(piEvent);
    expect(first.row).toMatchObject({ status: 'retrying', error: 'awaiting_checkout_or_invoice' });
    expect(await keyless.conversions(c.affiliateId)).toEqual([]);

    await afterGrace(keyless);
    expect(await keyless.inbox(piEvent.id)).toMatchObject({ status: 'processed' });
    const chargeEvent = chargeSucceeded({ shape, id: charge, amount: 4_200, paymentIntent: pi, customer: c.customer });
    const second = await keyless.send(chargeEvent);
    expect(second.row).toMatchObject({ status: 'ignored', error: 'duplicate_sale' });

    expect(await keyless.conversions(c.affiliateId)).toEqual([
      expect.objectContaining({
        amount: 4_200,
        attributedBy: 'customer',
        stripePaymentIntentId: pi,
        stripeChargeId: charge,
      }),
    ]);
    expect(await adminCommissions(keyless, c.affiliateId)).toEqual([
      expect.objectContaining({ amount: 420, status: 'pending' }),
    ]);
  });

  it('with a key: a payment intent tagged with partnerkit_referral is a sale at once; its charge is the same sale', async () => {
    const r = await keyed.referral();
    const pi = freshId('pi');
    const charge = freshId('ch');
    const from = fake.requests.length;
    const { row } = await keyed.send(
      paymentIntentSucceeded({ shape, id: pi, amount: 7_000, metadata: { partnerkit_referral: r.referral }, charge }),
    );
    expect(row).toMatchObject({ status: 'processed' });
    expect(fake.requests.slice(from).map((q) => [q.path, q.query])).toEqual([
      ['/v1/checkout/sessions', expect.objectContaining({ payment_intent: pi })],
      ['/v1/invoice_payments', expect.objectContaining({ 'payment[payment_intent]': pi })],
    ]);
    const dup = await keyed.send(chargeSucceeded({ shape, id: charge, amount: 7_000, paymentIntent: pi }));
    expect(dup.row).toMatchObject({ status: 'ignored', error: 'duplicate_sale' });
    expect(await keyed.conversions(r.affiliateId)).toEqual([
      expect.objectContaining({ amount: 7_000, attributedBy: 'payment_metadata' }),
    ]);
    expect(await adminCommissions(keyed, r.affiliateId)).toEqual([expect.objectContaining({ amount: 700 })]);
  });

  it('a charge made with the Charges API alone (no payment intent) is a sale by its charge id', async () => {
    const c = await boundCustomer(keyless, shape);
    const event = chargeSucceeded({ shape, amount: 2_500, customer: c.customer, paymentIntent: null });
    const { row } = await keyless.send(event);
    expect(row).toMatchObject({ status: 'processed' });
    expect(await keyless.conversions(c.affiliateId)).toEqual([
      expect.objectContaining({
        amount: 2_500,
        stripeChargeId: (event.data.object as any).id,
        stripePaymentIntentId: null,
      }),
    ]);
  });

  it('an authorisation not yet captured is not a sale', async () => {
    const c = await boundCustomer(keyless, shape);
    const { row } = await keyless.send(
      chargeSucceeded({ shape, amount: 2_500, customer: c.customer, paymentIntent: freshId('pi'), captured: false }),
    );
    expect(row).toMatchObject({ status: 'ignored', error: 'not_captured' });
    expect(await keyless.conversions(c.affiliateId)).toEqual([]);
  });

  it.each([
    ['without a key', () => keyless],
    ['with a key (the customer’s metadata, read from Stripe, names the referral too)', () => keyed],
  ])(
    'a customer’s payment made before the referral existed is not the affiliate’s, one made after it is (%s)',
    async (_, pick) => {
      const ctx = pick();
      const c = await boundCustomer(ctx, shape);
      fake.customers.set(c.customer, {
        id: c.customer,
        object: 'customer',
        metadata: { partnerkit_referral: c.referral },
      });
      const hourAgo = Math.floor(Date.now() / 1000) - 3600;
      // An old payment of this customer (before the click), delivered or replayed only now.
      const before = chargeSucceeded({ shape, amount: 3_000, customer: c.customer, paymentIntent: null });
      before.created = hourAgo;
      const early = await ctx.send(before);
      expect(early.row).toMatchObject({ status: 'ignored', error: 'referral_after_payment' });
      // Within the clock-skew allowance, and after the click: the affiliate's.
      const skewed = chargeSucceeded({ shape, amount: 2_000, customer: c.customer, paymentIntent: null });
      skewed.created = Math.floor(Date.now() / 1000) - 5 * 60;
      expect((await ctx.send(skewed)).row).toMatchObject({ status: 'processed' });
      expect((await ctx.conversions(c.affiliateId)).map((v: { amount: number }) => v.amount)).toEqual([2_000]);
    },
  );
});

describe('a subscriber’s payment intent that arrives long before its invoice (no key, current payloads)', () => {
  /** A customer whose subscription's first invoice was a referred sale. */
  async function subscriber() {
    const r = await keyless.referral();
    const customer = freshId('cus');
    const subscription = freshId('sub');
    const first = invoicePaid({
      shape: 'basil',
      customer,
      subscription,
      subscriptionMetadata: { partnerkit_referral: r.referral },
      billingReason: 'subscription_create',
      amountPaid: 4_900,
      // A month ago: the renewal below is the next one.
      created: Math.floor(Date.now() / 1000) - 30 * 86_400,
    });
    expect((await keyless.send(first)).row).toMatchObject({ status: 'processed' });
    return { ...r, customer, subscription };
  }
  async function later(ms: number, run: () => Promise<unknown>) {
    keyless.app.advance(ms);
    try {
      await run();
    } finally {
      keyless.app.advance(-ms);
    }
  }

  it('waits for the invoice (Stripe retried its delivery): one renewal, not a renewal and a second sale', async () => {
    const s = await subscriber();
    // Paid 5 minutes ago: the payment intent's delivery got through, the invoice's did not (yet).
    const pi = paymentIntentSucceeded({ shape: 'basil', amount: 4_900, customer: s.customer });
    pi.created -= 5 * 60;
    expect((await keyless.send(pi)).row).toMatchObject({ status: 'retrying', error: 'awaiting_invoice' });
    // The invoice's delivery, retried by Stripe, arrives (the payment happened when the payment intent's did).
    const renewal = invoicePaid({
      shape: 'basil',
      customer: s.customer,
      subscription: s.subscription,
      billingReason: 'subscription_cycle',
      amountPaid: 4_900,
      created: pi.created,
    });
    expect((await keyless.send(renewal)).row).toMatchObject({ status: 'processed' });
    await keyless.app.services.stripeWebhooks.idle();
    expect(await keyless.inbox(pi.id)).toMatchObject({ status: 'ignored', error: 'duplicate_sale' });
    const conversions = await keyless.conversions(s.affiliateId);
    expect(conversions.map((c: { sequence: number; amount: number }) => [c.sequence, c.amount]).sort()).toEqual([
      [1, 4_900],
      [2, 4_900],
    ]);
    expect(await adminCommissions(keyless, s.affiliateId)).toHaveLength(2);
  });

  it('counts on its own once the wait is over and no invoice came (a one-off payment of a subscriber)', async () => {
    const s = await subscriber();
    const pi = paymentIntentSucceeded({ shape: 'basil', amount: 1_500, customer: s.customer });
    await keyless.send(pi);
    await later(3 * 3_600_000, () => keyless.app.services.stripeWebhooks.processPending());
    expect(await keyless.inbox(pi.id)).toMatchObject({ status: 'processed' });
    const amounts = (await keyless.conversions(s.affiliateId)).map((c: { amount: number }) => c.amount).sort();
    expect(amounts).toEqual([1_500, 4_900]);
  });
});

describe('payments that belong to an invoice or a Checkout Session', () => {
  it('a payment nobody referred costs no Checkout or invoice look-up, and waits only briefly for its customer', async () => {
    const customer = freshId('cus');
    const from = fake.requests.length;
    const { row } = await keyed.send(paymentIntentSucceeded({ amount: 3_000, customer }));
    // Its customer's `customer.created` (which may name the referral) may still be on its way: a short wait.
    expect(row).toMatchObject({ status: 'retrying', error: 'no_referral' });
    // Only the customer's metadata is read (attribution), nothing about sessions or invoices.
    expect(fake.requests.slice(from).map((q) => q.path)).toEqual([`/v1/customers/${customer}`]);
    const keylessRow = (await keyless.send(paymentIntentSucceeded({ amount: 3_000, customer: freshId('cus') }))).row;
    expect(keylessRow).toMatchObject({ status: 'retrying', error: 'no_referral' });
    // Without a customer there is nothing to wait for.
    const alone = (await keyless.send(paymentIntentSucceeded({ amount: 3_000, customer: null }))).row;
    expect(alone).toMatchObject({ status: 'ignored', error: 'no_referral' });
  });

  it('legacy: a payment intent or charge naming its invoice is left to invoice.paid', async () => {
    const c = await boundCustomer(keyless, 'legacy');
    const invoice = freshId('in');
    const pi = freshId('pi');
    const a = await keyless.send(
      paymentIntentSucceeded({ shape: 'legacy', id: pi, amount: 3_000, customer: c.customer, invoice }),
    );
    expect(a.row).toMatchObject({ status: 'ignored', error: 'invoice_payment' });
    // The real capture names its invoice.
    const fixture = chargeSucceeded({
      shape: 'legacy',
      amount: 3_000,
      customer: c.customer,
      paymentIntent: pi,
      invoice,
    });
    const b = await keyless.send(fixture);
    expect(b.row).toMatchObject({ status: 'ignored', error: 'invoice_payment' });
    expect(await keyless.conversions(c.affiliateId)).toEqual([]);
  });

  it('current payloads with a key: Stripe says the payment intent paid an invoice', async () => {
    const c = await boundCustomer(keyed);
    const pi = freshId('pi');
    fake.invoicePayments.push({
      id: freshId('inpay'),
      object: 'invoice_payment',
      invoice: freshId('in'),
      payment: { type: 'payment_intent', payment_intent: pi },
      status: 'paid',
    });
    const { row } = await keyed.send(paymentIntentSucceeded({ id: pi, amount: 3_000, customer: c.customer }));
    expect(row).toMatchObject({ status: 'ignored', error: 'invoice_payment' });
    expect(await keyed.conversions(c.affiliateId)).toEqual([]);
  });

  it('current payloads without a key: an invoice sale of the same customer and amount is this payment', async () => {
    const c = await boundCustomer(keyless);
    const inv = invoicePaid({
      shape: 'basil',
      customer: c.customer,
      amountPaid: 5_900,
      billingReason: 'manual',
      subscription: null,
    });
    expect((await keyless.send(inv)).row).toMatchObject({ status: 'processed' });
    const pi = freshId('pi');
    const piEvent = paymentIntentSucceeded({ id: pi, amount: 5_900, customer: c.customer });
    await keyless.send(piEvent);
    await afterGrace(keyless);
    expect(await keyless.inbox(piEvent.id)).toMatchObject({ status: 'ignored', error: 'duplicate_sale' });
    expect(await keyless.conversions(c.affiliateId)).toEqual([
      expect.objectContaining({ amount: 5_900, stripeInvoiceId: inv.data.object.id, stripePaymentIntentId: pi }),
    ]);
  });
});

/** Deliver `events` in order (each processed before the next), then let deferred ones run after the grace period. */
async function deliverAll(ctx: StripeTestContext, events: any[]) {
  for (const e of events) await ctx.send(e);
  await afterGrace(ctx);
}

describe('order does not matter: a Checkout payment, its payment intent, charge and refund are one conversion', () => {
  const scenario = (ctx: StripeTestContext, withKey: boolean) =>
    fc.asyncProperty(
      fc.constantFrom<PayloadShape>('legacy', 'basil'),
      fc.constantFrom<PayloadShape>('legacy', 'basil'),
      fc.shuffledSubarray([0, 1, 2, 3, 0, 1, 2, 3], { minLength: 8, maxLength: 8 }),
      fc.boolean(),
      async (checkoutShape, paymentShape, order, tagged) => {
        const r = await ctx.referral();
        const customer = freshId('cus');
        const pi = freshId('pi');
        const charge = freshId('ch');
        const checkout = checkoutSession({
          shape: checkoutShape,
          referral: r.referral,
          customer,
          paymentIntent: pi,
          amountTotal: 11_900,
          tax: 1_900,
        });
        if (withKey) {
          const s = checkout.data.object as any;
          fake.checkoutSessions.set(s.id, { id: s.id, object: 'checkout.session', payment_intent: pi });
        }
        const metadata: Record<string, string> = tagged ? { partnerkit_referral: r.referral } : {};
        const events = [
          checkout,
          paymentIntentSucceeded({ shape: paymentShape, id: pi, amount: 11_900, customer, charge, metadata }),
          chargeSucceeded({ shape: paymentShape, id: charge, amount: 11_900, paymentIntent: pi, customer, metadata }),
          // A fifth refunded: before the sale it waits (or, after an untagged payment intent that looked nobody's,
          // is ignored as not referred), and the sale runs it.
          chargeRefunded({
            shape: paymentShape,
            chargeId: charge,
            paymentIntent: pi,
            amount: 11_900,
            amountRefunded: 2_380,
          }),
        ];
        // Each event twice (Stripe redelivers; the second copy has its own event id, as a replayed one would not).
        const copies = order.map((i, n) => (n < 4 ? events[i] : { ...events[i], id: freshId('evt') }));
        await deliverAll(ctx, copies);
        const conversions = await ctx.conversions(r.affiliateId);
        expect(conversions).toEqual([
          expect.objectContaining({
            amount: 10_000,
            refundedAmount: 2_000,
            stripePaymentIntentId: pi,
            attributedBy: 'client_reference_id',
          }),
        ]);
        expect(await adminCommissions(ctx, r.affiliateId)).toEqual([expect.objectContaining({ amount: 800 })]);
      },
    );

  it('without a key (deferral within the grace period)', async () => {
    await fc.assert(scenario(keyless, false), { numRuns: 10 });
  });
  it('with a key (Stripe names the session)', async () => {
    await fc.assert(scenario(keyed, true), { numRuns: 6 });
  });
});

describe('order does not matter: a payment outside Checkout, its customer, charge and refund', () => {
  it('one conversion attributed by the customer, refunded pro rata, whatever the order (with and without a key)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(keyed, keyless),
        fc.constantFrom<PayloadShape>('legacy', 'basil'),
        fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }),
        async (ctx, shape, order) => {
          const r = await ctx.referral();
          const customer = freshId('cus');
          const pi = freshId('pi');
          const charge = freshId('ch');
          const events = [
            customerEvent('created', { customerId: customer, metadata: { partnerkit_referral: r.referral }, shape }),
            paymentIntentSucceeded({ shape, id: pi, amount: 8_000, customer, charge }),
            chargeSucceeded({ shape, id: charge, amount: 8_000, paymentIntent: pi, customer }),
            chargeRefunded({ shape, chargeId: charge, paymentIntent: pi, amount: 8_000, amountRefunded: 2_000 }),
          ];
          await deliverAll(
            ctx,
            order.map((i) => events[i]),
          );
          expect(await ctx.conversions(r.affiliateId)).toEqual([
            expect.objectContaining({ amount: 8_000, refundedAmount: 2_000, attributedBy: 'customer' }),
          ]);
          expect(await adminCommissions(ctx, r.affiliateId)).toEqual([expect.objectContaining({ amount: 600 })]);
        },
      ),
      { numRuns: 12 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Credit notes

/** `credit_note.created` from the openapi fixture (current) or in its pre-2025 shape (`refund`, no `refunds`). */
function creditNoteCreated(o: {
  shape?: PayloadShape;
  invoice: string;
  amount: number;
  refunded?: number;
  outOfBand?: number | null;
  type?: 'pre_payment' | 'post_payment';
  id?: string;
}) {
  const cn = loadResource('credit_note');
  cn.id = o.id ?? freshId('cn');
  cn.invoice = o.invoice;
  cn.amount = o.amount;
  cn.total = o.amount;
  cn.subtotal = o.amount;
  cn.currency = 'usd';
  cn.status = 'issued';
  cn.voided_at = null;
  cn.type = o.type ?? 'post_payment';
  cn.out_of_band_amount = o.outOfBand ?? null;
  if (o.shape === 'legacy') {
    delete cn.refunds;
    delete cn.post_payment_amount;
    delete cn.pre_payment_amount;
    cn.refund = o.refunded ? freshId('re') : null;
    return envelope('credit_note.created', cn, { apiVersion: LEGACY });
  }
  cn.post_payment_amount = cn.type === 'post_payment' ? o.amount : 0;
  cn.pre_payment_amount = cn.type === 'pre_payment' ? o.amount : 0;
  cn.refunds = o.refunded ? [{ amount_refunded: o.refunded, refund: freshId('re'), type: 'refund' }] : [];
  return envelope('credit_note.created', cn);
}

/** A referred 100.00 sale by invoice (10.00 commission), paid by `charge`. */
async function invoiceSale(ctx: StripeTestContext, shape: PayloadShape) {
  const c = await boundCustomer(ctx, shape);
  const invoice = freshId('in');
  const charge = freshId('ch');
  const pi = freshId('pi');
  const event = invoicePaid({
    shape: 'legacy',
    invoiceId: invoice,
    customer: c.customer,
    amountPaid: 10_000,
    billingReason: 'manual',
    subscription: null,
    charge,
    paymentIntent: pi,
  });
  expect((await ctx.send(event)).row).toMatchObject({ status: 'processed' });
  return { ...c, invoice, charge, pi };
}

describe.each<PayloadShape>(['legacy', 'basil'])('credit notes (%s payload)', (shape) => {
  it('credit given as balance or out of band takes the commission back pro rata, once', async () => {
    const s = await invoiceSale(keyless, shape);
    const note = creditNoteCreated({
      shape,
      invoice: s.invoice,
      amount: 4_000,
      outOfBand: shape === 'legacy' ? null : 4_000,
    });
    expect((await keyless.send(note)).row).toMatchObject({ status: 'processed' });
    let [commission] = await keyless.commissions(s.affiliateId);
    expect(commission).toMatchObject({ amount: 600, reversed_amount: 400, status: 'pending' });
    expect((await history(keyless, commission!.id)).at(-1)).toEqual([
      'pending',
      'pending',
      600,
      'stripe',
      'partially_credited',
    ]);

    // A replay of the same event changes nothing.
    await keyless.app.services.stripeWebhooks.replay({ eventId: note.id });
    [commission] = await keyless.commissions(s.affiliateId);
    expect(commission).toMatchObject({ amount: 600 });
  });

  it('a credit note refunded through Stripe is left to charge.refunded: reversed once, not twice', async () => {
    const s = await invoiceSale(keyless, shape);
    const note = creditNoteCreated({ shape, invoice: s.invoice, amount: 3_000, refunded: 3_000 });
    expect((await keyless.send(note)).row).toMatchObject({ status: 'ignored', error: 'refunded_by_charge' });
    await keyless.send(
      chargeRefunded({ shape, chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: 3_000 }),
    );
    const [commission] = await keyless.commissions(s.affiliateId);
    expect(commission).toMatchObject({ amount: 700, reversed_amount: 300 });
  });

  it('a pre-payment credit note (it lowered what the invoice asked) changes nothing', async () => {
    const s = await invoiceSale(keyless, shape);
    const { row } = await keyless.send(
      creditNoteCreated({ shape, invoice: s.invoice, amount: 2_000, type: 'pre_payment' }),
    );
    expect(row).toMatchObject({ status: 'ignored', error: 'pre_payment' });
    expect((await keyless.commissions(s.affiliateId))[0]).toMatchObject({ amount: 1_000 });
  });
});

it('credit notes and a refund together never take back more than the sale (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 6_000 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 10_000 }),
      async (credits, refund) => {
        const s = await invoiceSale(keyless, 'basil');
        for (const amount of credits) {
          await keyless.send(creditNoteCreated({ invoice: s.invoice, amount, outOfBand: amount }));
        }
        if (refund > 0) {
          await keyless.send(
            chargeRefunded({
              shape: 'basil',
              chargeId: s.charge,
              paymentIntent: s.pi,
              amount: 10_000,
              amountRefunded: refund,
            }),
          );
        }
        const [commission] = await keyless.commissions(s.affiliateId);
        const back = Math.min(10_000, credits.reduce((a, b) => a + b, 0) + refund);
        expect(commission!.amount).toBe(1_000 - Math.round((1_000 * back) / 10_000));
        expect(commission!.status).toBe(back >= 10_000 ? 'reversed' : 'pending');
      },
    ),
    { numRuns: 8 },
  );
});

/** `credit_note.voided` of the note in `created` (the same object, voided), in the same payload generation. */
function creditNoteVoided(created: ReturnType<typeof creditNoteCreated>) {
  const cn = { ...(created.data.object as Record<string, unknown>), status: 'void', voided_at: nowSeconds() };
  return envelope('credit_note.voided', cn, { apiVersion: created.api_version });
}
const nowSeconds = () => Math.floor(Date.now() / 1000);

it('a voided credit note gives its credit back, once, whichever of created and voided is processed first', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<PayloadShape>('legacy', 'basil'),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 0, max: 3_000 }),
      fc.boolean(),
      async (shape, credit, refund, voidFirst) => {
        const s = await invoiceSale(keyless, shape);
        const note = creditNoteCreated({ shape, invoice: s.invoice, amount: credit, outOfBand: credit });
        const voided = creditNoteVoided(note);
        if (voidFirst) {
          expect((await keyless.send(voided)).row).toMatchObject({
            status: 'ignored',
            error: 'credit_note_not_applied',
          });
          expect((await keyless.send(note)).row).toMatchObject({ status: 'ignored', error: 'credit_note_voided' });
        } else {
          expect((await keyless.send(note)).row).toMatchObject({ status: 'processed' });
          const reduced = (await keyless.commissions(s.affiliateId))[0]!;
          expect(reduced.amount).toBe(1_000 - Math.round((1_000 * credit) / 10_000));
          expect((await keyless.send(voided)).row).toMatchObject({ status: 'processed' });
        }
        if (refund > 0)
          await keyless.send(
            chargeRefunded({ shape, chargeId: s.charge, paymentIntent: s.pi, amount: 10_000, amountRefunded: refund }),
          );
        // Replays of both change nothing.
        await keyless.app.services.stripeWebhooks.replay({ eventId: note.id });
        await keyless.app.services.stripeWebhooks.replay({ eventId: voided.id });
        const [commission] = await keyless.commissions(s.affiliateId);
        // As if the note had never been issued: only the refund takes anything back.
        expect(commission).toMatchObject({ amount: 1_000 - Math.round((1_000 * refund) / 10_000), status: 'pending' });
        // The history says why it grew back (when the note had taken anything off it).
        if (!voidFirst && refund === 0 && Math.round((1_000 * credit) / 10_000) > 0)
          expect((await history(keyless, commission!.id)).at(-1)!.slice(1)).toEqual([
            'pending',
            1_000,
            'stripe',
            'credit_note_voided',
          ]);
      },
    ),
    { numRuns: 10 },
  );
});

// ---------------------------------------------------------------------------------------------------------
// Early fraud warnings

function earlyFraudWarning(o: { charge: string; paymentIntent?: string; fraudType?: string }) {
  const w = loadResource('radar.early_fraud_warning');
  w.id = freshId('issfr');
  w.charge = o.charge;
  if (o.paymentIntent) w.payment_intent = o.paymentIntent;
  w.fraud_type = o.fraudType ?? 'made_with_stolen_card';
  return envelope('radar.early_fraud_warning.created', w);
}

describe('early fraud warnings', () => {
  it('put the commission on hold with the fraud reason; the hold-period job leaves it; the merchant decides', async () => {
    const s = await invoiceSale(keyless, 'basil');
    const { row } = await keyless.send(earlyFraudWarning({ charge: s.charge }));
    expect(row).toMatchObject({ status: 'processed' });
    const [held] = await adminCommissions(keyless, s.affiliateId);
    expect(held).toMatchObject({ status: 'on_hold', holdReason: 'early_fraud_warning', amount: 1_000 });
    expect((await history(keyless, held.id)).at(-1)).toEqual([
      'pending',
      'on_hold',
      1_000,
      'stripe',
      'early_fraud_warning:made_with_stolen_card',
    ]);

    keyless.app.advance(400 * 86_400_000);
    try {
      await keyless.app.services.commissions.approveDue();
    } finally {
      keyless.app.advance(-400 * 86_400_000);
    }
    expect((await adminCommissions(keyless, s.affiliateId))[0]).toMatchObject({ status: 'on_hold' });
    const approved = await keyless.admin.post(`/api/v1/commissions/${held.id}/approve`, {});
    expect(approved.body.commission).toMatchObject({ status: 'approved' });
  });

  it('a warning before its sale waits; with a key, a warning naming only the charge finds a Checkout sale', async () => {
    const r = await keyed.referral();
    const pi = freshId('pi');
    const charge = freshId('ch');
    fake.charges.set(charge, { ...loadResource('charge'), id: charge, payment_intent: pi, customer: null });
    const warning = earlyFraudWarning({ charge });
    const early = await keyed.send(warning);
    expect(early.row).toMatchObject({ status: 'retrying', error: 'sale_not_found' });
    await keyed.send(checkoutSession({ referral: r.referral, paymentIntent: pi, amountTotal: 5_000 }));
    expect(await keyed.inbox(warning.id)).toMatchObject({ status: 'processed' });
    expect((await adminCommissions(keyed, r.affiliateId))[0]).toMatchObject({
      status: 'on_hold',
      holdReason: 'early_fraud_warning',
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Promotion codes on invoices (subscriptions started without Checkout, codes applied later)

async function promotionCode(ctx: StripeTestContext) {
  const r = await ctx.referral();
  const promo = `promo_${freshId('x').slice(7)}`;
  const res = await ctx.admin.post('/api/v1/promotion-codes', {
    affiliateId: r.affiliateId,
    stripePromotionCodeId: promo,
  });
  expect(res.status).toBe(201);
  return { ...r, promo };
}

describe('promotion codes on invoices', () => {
  it.each<PayloadShape>(['legacy', 'basil'])(
    'a discount carrying its promotion code attributes the invoice (%s)',
    async (shape) => {
      const p = await promotionCode(keyless);
      const { row } = await keyless.send(
        invoicePaid({ shape, promotionCode: p.promo, amountPaid: 8_000, billingReason: 'subscription_create' }),
      );
      expect(row).toMatchObject({ status: 'processed' });
      expect(await keyless.conversions(p.affiliateId)).toEqual([
        expect.objectContaining({ amount: 8_000, attributedBy: 'promotion_code' }),
      ]);
    },
  );

  it('current payloads name discounts by id: with a key the invoice is read with its discounts expanded', async () => {
    const p = await promotionCode(keyed);
    const event = invoicePaid({ shape: 'basil', amountPaid: 8_000, billingReason: 'subscription_create' });
    const inv = event.data.object as any;
    inv.discounts = ['di_test_only_an_id'];
    fake.invoices.set(inv.id, {
      id: inv.id,
      object: 'invoice',
      discounts: [{ id: 'di_test_only_an_id', object: 'discount', promotion_code: p.promo }],
    });
    fake.subscriptions.set(inv.parent.subscription_details.subscription, {
      id: inv.parent.subscription_details.subscription,
      object: 'subscription',
      metadata: {},
    });
    const from = fake.requests.length;
    const { row } = await keyed.send(event);
    expect(row).toMatchObject({ status: 'processed' });
    expect(fake.requests.slice(from).map((q) => q.path)).toContain(`/v1/invoices/${inv.id}`);
    expect(await keyed.conversions(p.affiliateId)).toEqual([
      expect.objectContaining({ amount: 8_000, attributedBy: 'promotion_code' }),
    ]);
  });
});
