/**
 * Real Stripe payloads from `test/fixtures/stripe/`, with fresh ids and our overrides, signed exactly as
 * Stripe signs them (`Stripe.webhooks.generateTestHeaderString`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

/**
 * `test/fixtures/stripe/`: third-party payloads kept in the repository with their licences (its README names the
 * sources), so a clean clone runs the suite with nothing beside it.
 */
export const FIXTURES = fileURLToPath(new URL('../fixtures/stripe/', import.meta.url));

/** A fixture event envelope from stripe-sync-engine (API 2020-03-02 shapes), deep-copied. */
export function loadEvent(name: string): any {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'stripe-sync-engine', `${name}.json`), 'utf8'));
}

export const freshId = (prefix: string) => `${prefix}_test${randomBytes(8).toString('hex')}`;

/**
 * A `checkout.session.completed` event from the real fixture for `referral`, amount in minor units.
 */
export function checkoutCompleted(opts: {
  referral?: string | null;
  amountTotal?: number;
  tax?: number;
  currency?: string;
  metadataReferral?: string;
  created?: number;
}) {
  const event = loadEvent('checkout_session_completed');
  event.id = freshId('evt');
  event.created = opts.created ?? Math.floor(Date.now() / 1000);
  const s = event.data.object;
  s.id = freshId('cs');
  s.client_reference_id = opts.referral ?? null;
  s.payment_intent = freshId('pi');
  if (s.invoice) s.invoice = freshId('in');
  s.customer = freshId('cus');
  s.payment_status = 'paid';
  if (opts.amountTotal !== undefined) s.amount_total = opts.amountTotal;
  if (opts.currency) s.currency = opts.currency;
  s.total_details = { ...(s.total_details ?? {}), amount_tax: opts.tax ?? 0 };
  if (opts.metadataReferral) s.metadata = { ...(s.metadata ?? {}), partnerkit_referral: opts.metadataReferral };
  return event;
}

/** Sign `payload` as Stripe would for `secret`; `timestamp` in seconds defaults to now. */
export function sign(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/** POST a signed event to the program's webhook route. */
export async function deliver(
  baseUrl: string,
  programId: string,
  event: unknown,
  secret: string,
  opts: { signature?: string } = {},
) {
  const payload = JSON.stringify(event);
  const res = await fetch(`${baseUrl}/api/v1/webhooks/stripe/${programId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': opts.signature ?? sign(payload, secret) },
    body: payload,
  });
  return { status: res.status, body: await res.json() };
}

// ---------------------------------------------------------------------------------------------------------
// Builders for every event type we handle, in both payload generations. Each returns a full event envelope
// with fresh ids where the caller did not name them.
//   legacy: stripe-sync-engine captures (API 2020-03-02: invoice.subscription, invoice.charge, charge.invoice)
//   basil:  openapi/fixtures3.json objects (current API: invoice.parent.subscription_details, no charge.invoice)

export type PayloadShape = 'legacy' | 'basil';

let openapiResources: Record<string, any> | null = null;
/** One object of `openapi/fixtures3.json` (`resources[name]`), deep-copied. */
export function loadResource(name: string): any {
  openapiResources ??= JSON.parse(readFileSync(path.join(FIXTURES, 'openapi', 'fixtures3.json'), 'utf8')).resources;
  const r = openapiResources![name];
  if (!r) throw new Error(`no resource ${name} in fixtures3.json`);
  return JSON.parse(JSON.stringify(r));
}

const BASIL_API_VERSION = '2025-03-31.basil';
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Wrap a Stripe object in an event envelope, as Stripe sends it. */
export function envelope(
  type: string,
  object: unknown,
  opts: { created?: number; apiVersion?: string; id?: string } = {},
) {
  return {
    id: opts.id ?? freshId('evt'),
    object: 'event',
    api_version: opts.apiVersion ?? BASIL_API_VERSION,
    created: opts.created ?? nowSeconds(),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** A legacy fixture event with a fresh event id and `created`. */
function legacyEvent(name: string, created?: number): any {
  const e = loadEvent(name);
  e.id = freshId('evt');
  e.created = created ?? nowSeconds();
  return e;
}

export interface CheckoutOpts {
  shape?: PayloadShape;
  type?: 'checkout.session.completed' | 'checkout.session.async_payment_succeeded';
  mode?: 'payment' | 'subscription';
  paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
  referral?: string | null;
  metadata?: Record<string, string>;
  amountTotal?: number;
  tax?: number;
  currency?: string;
  sessionId?: string;
  customer?: string | null;
  email?: string | null;
  paymentIntent?: string | null;
  invoice?: string | null;
  subscription?: string | null;
  promotionCode?: string;
  created?: number;
}

/** A Checkout Session event (`completed` by default), payment or subscription mode, in either generation. */
export function checkoutSession(o: CheckoutOpts = {}) {
  const shape = o.shape ?? 'legacy';
  const mode = o.mode ?? 'payment';
  const s = shape === 'legacy' ? loadEvent('checkout_session_completed').data.object : loadResource('checkout.session');
  s.id = o.sessionId ?? freshId('cs');
  s.mode = mode;
  s.status = 'complete';
  s.payment_status = o.paymentStatus ?? 'paid';
  s.client_reference_id = o.referral ?? null;
  s.metadata = o.metadata ?? {};
  s.amount_total = o.amountTotal ?? 4900;
  s.amount_subtotal = s.amount_total - (o.tax ?? 0);
  s.currency = o.currency ?? 'usd';
  s.total_details = { amount_discount: 0, amount_shipping: 0, amount_tax: o.tax ?? 0 };
  s.customer = o.customer === undefined ? freshId('cus') : o.customer;
  s.customer_details = {
    ...(s.customer_details ?? {}),
    email: o.email === undefined ? `${freshId('buyer')}@example.com` : o.email,
  };
  s.customer_email = null;
  if (mode === 'payment') {
    s.payment_intent = o.paymentIntent === undefined ? freshId('pi') : o.paymentIntent;
    s.subscription = null;
    s.invoice = o.invoice === undefined ? null : o.invoice;
  } else {
    s.payment_intent = null;
    s.subscription = o.subscription ?? freshId('sub');
    s.invoice = o.invoice === undefined ? freshId('in') : o.invoice;
  }
  s.discounts = o.promotionCode ? [{ coupon: 'co_test', promotion_code: o.promotionCode }] : [];
  s.shipping_cost = null;
  s.currency_conversion = null;
  return envelope(o.type ?? 'checkout.session.completed', s, {
    created: o.created,
    apiVersion: shape === 'legacy' ? '2020-03-02' : BASIL_API_VERSION,
  });
}

export interface InvoiceOpts {
  shape?: PayloadShape;
  invoiceId?: string;
  amountPaid?: number;
  tax?: number;
  currency?: string;
  customer?: string;
  email?: string | null;
  subscription?: string | null;
  /** Subscription metadata as the invoice carries it (basil: `parent.subscription_details.metadata`). */
  subscriptionMetadata?: Record<string, string>;
  billingReason?: string;
  /** legacy only: `invoice.charge` / `invoice.payment_intent`. */
  charge?: string | null;
  paymentIntent?: string | null;
  promotionCode?: string;
  created?: number;
}

/** An `invoice.paid` event, in either generation. */
export function invoicePaid(o: InvoiceOpts = {}) {
  const shape = o.shape ?? 'legacy';
  const amountPaid = o.amountPaid ?? 4900;
  const tax = o.tax ?? 0;
  const created = o.created ?? nowSeconds();
  const subscription = o.subscription === undefined ? freshId('sub') : o.subscription;
  if (shape === 'legacy') {
    const e = legacyEvent('invoice_paid', created);
    const inv = e.data.object;
    inv.id = o.invoiceId ?? freshId('in');
    inv.amount_due = amountPaid;
    inv.amount_paid = amountPaid;
    inv.amount_remaining = 0;
    inv.subtotal = amountPaid - tax;
    inv.total = amountPaid;
    inv.tax = tax;
    inv.currency = o.currency ?? 'usd';
    inv.customer = o.customer ?? freshId('cus');
    inv.customer_email = o.email === undefined ? null : o.email;
    inv.subscription = subscription;
    if (o.subscriptionMetadata) inv.subscription_details = { metadata: o.subscriptionMetadata };
    inv.billing_reason = o.billingReason ?? 'subscription_cycle';
    inv.charge = o.charge === undefined ? freshId('ch') : o.charge;
    inv.payment_intent = o.paymentIntent === undefined ? freshId('pi') : o.paymentIntent;
    inv.discount = o.promotionCode ? { id: 'di_test', object: 'discount', promotion_code: o.promotionCode } : null;
    inv.created = created;
    inv.status_transitions = { ...(inv.status_transitions ?? {}), paid_at: created };
    for (const line of inv.lines.data) line.subscription = subscription;
    return e;
  }
  const inv = loadResource('invoice');
  inv.id = o.invoiceId ?? freshId('in');
  inv.status = 'paid';
  inv.amount_due = amountPaid;
  inv.amount_paid = amountPaid;
  inv.amount_remaining = 0;
  inv.amount_overpaid = 0;
  inv.subtotal = amountPaid - tax;
  inv.subtotal_excluding_tax = amountPaid - tax;
  inv.total = amountPaid;
  inv.total_excluding_tax = amountPaid - tax;
  inv.total_taxes = tax
    ? [
        {
          amount: tax,
          tax_behavior: 'exclusive',
          taxability_reason: 'standard_rated',
          taxable_amount: amountPaid - tax,
          type: 'tax_rate_details',
        },
      ]
    : [];
  inv.currency = o.currency ?? 'usd';
  inv.customer = o.customer ?? freshId('cus');
  inv.customer_email = o.email === undefined ? null : o.email;
  inv.billing_reason = o.billingReason ?? 'subscription_cycle';
  inv.parent = subscription
    ? {
        type: 'subscription_details',
        quote_details: null,
        subscription_details: { subscription, metadata: o.subscriptionMetadata ?? {} },
      }
    : null;
  inv.discounts = o.promotionCode ? [{ id: 'di_test', object: 'discount', promotion_code: o.promotionCode }] : [];
  inv.shipping_cost = null;
  inv.created = created;
  inv.status_transitions = { ...inv.status_transitions, paid_at: created };
  for (const line of inv.lines.data) {
    line.parent = subscription
      ? {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            subscription,
            subscription_item: 'si_test',
            proration: false,
            invoice_item: null,
            proration_details: null,
          },
        }
      : null;
  }
  return envelope('invoice.paid', inv, { created });
}

export interface ChargeOpts {
  shape?: PayloadShape;
  chargeId?: string;
  paymentIntent?: string | null;
  /** legacy only: `charge.invoice`. */
  invoice?: string | null;
  amount: number;
  amountRefunded: number;
  currency?: string;
  created?: number;
}

/** A `charge.refunded` event (`amount_refunded` is cumulative), in either generation. */
export function chargeRefunded(o: ChargeOpts) {
  const shape = o.shape ?? 'legacy';
  const ch = shape === 'legacy' ? loadEvent('charge_refunded').data.object : loadResource('charge');
  ch.id = o.chargeId ?? freshId('ch');
  ch.amount = o.amount;
  ch.amount_captured = o.amount;
  ch.amount_refunded = o.amountRefunded;
  ch.refunded = o.amountRefunded >= o.amount;
  ch.currency = o.currency ?? 'usd';
  ch.payment_intent = o.paymentIntent ?? null;
  if (shape === 'legacy') ch.invoice = o.invoice ?? null;
  else delete ch.invoice;
  return envelope('charge.refunded', ch, {
    created: o.created,
    apiVersion: shape === 'legacy' ? '2020-03-02' : BASIL_API_VERSION,
  });
}

export interface DisputeOpts {
  shape?: PayloadShape;
  disputeId?: string;
  charge: string;
  paymentIntent?: string | null;
  amount: number;
  currency?: string;
  /** The dispute's status in the payload (closed events: `won`, `lost`, `warning_closed`...). */
  status?: string;
  created?: number;
}

/** A `charge.dispute.created` / `charge.dispute.closed` event, in either generation. */
export function disputeEvent(phase: 'created' | 'closed', o: DisputeOpts) {
  const shape = o.shape ?? 'legacy';
  const d =
    shape === 'legacy'
      ? loadEvent(phase === 'created' ? 'charge_dispute_created' : 'charge_dispute_closed').data.object
      : loadResource('dispute');
  d.id = o.disputeId ?? freshId('dp');
  d.charge = o.charge;
  d.payment_intent = o.paymentIntent ?? null;
  d.amount = o.amount;
  d.currency = o.currency ?? 'usd';
  d.status = o.status ?? (phase === 'created' ? 'needs_response' : 'lost');
  return envelope(`charge.dispute.${phase}`, d, {
    created: o.created,
    apiVersion: shape === 'legacy' ? '2020-03-02' : BASIL_API_VERSION,
  });
}

/** A `customer.created` / `customer.updated` event carrying `metadata`. */
export function customerEvent(
  phase: 'created' | 'updated',
  o: {
    customerId?: string;
    metadata?: Record<string, string>;
    email?: string | null;
    shape?: PayloadShape;
    created?: number;
  },
) {
  const shape = o.shape ?? 'legacy';
  const c = shape === 'legacy' ? loadEvent('customer_updated').data.object : loadResource('customer');
  c.id = o.customerId ?? freshId('cus');
  c.metadata = o.metadata ?? {};
  c.email = o.email === undefined ? `${freshId('cust')}@example.com` : o.email;
  return envelope(`customer.${phase}`, c, {
    created: o.created,
    apiVersion: shape === 'legacy' ? '2020-03-02' : BASIL_API_VERSION,
  });
}

/** A `customer.subscription.deleted` event. */
export function subscriptionDeleted(o: {
  subscriptionId: string;
  customer?: string;
  endedAt?: number;
  shape?: PayloadShape;
  created?: number;
}) {
  const shape = o.shape ?? 'legacy';
  const s = shape === 'legacy' ? loadEvent('subscription_deleted').data.object : loadResource('subscription');
  s.id = o.subscriptionId;
  s.customer = o.customer ?? freshId('cus');
  s.status = 'canceled';
  s.ended_at = o.endedAt ?? nowSeconds();
  s.canceled_at = s.ended_at;
  return envelope('customer.subscription.deleted', s, {
    created: o.created,
    apiVersion: shape === 'legacy' ? '2020-03-02' : BASIL_API_VERSION,
  });
}

/**
 * An `invoice_payment.paid` event (API 2025-03-31 "basil" and later only): the `invoice_payment` of
 * `openapi/fixtures3.json` linking `invoice` to the payment intent (default) or charge that paid it.
 */
export function invoicePaymentPaid(o: {
  invoice: string;
  paymentIntent?: string | null;
  charge?: string | null;
  amount?: number;
  currency?: string;
  created?: number;
  id?: string;
}) {
  const created = o.created ?? nowSeconds();
  const p = loadResource('invoice_payment');
  p.id = o.id ?? freshId('inpay');
  p.invoice = o.invoice;
  p.amount_paid = o.amount ?? 4900;
  p.amount_requested = o.amount ?? 4900;
  p.currency = o.currency ?? 'usd';
  p.created = created;
  p.is_default = true;
  p.livemode = false;
  p.status = 'paid';
  p.status_transitions = { canceled_at: null, paid_at: created };
  p.payment = o.paymentIntent
    ? { type: 'payment_intent', payment_intent: o.paymentIntent }
    : { type: 'charge', charge: o.charge ?? freshId('ch') };
  return envelope('invoice_payment.paid', p, { created });
}

/** POST raw bytes signed for `secret` (garbage bodies, exact byte strings). */
export async function deliverRaw(baseUrl: string, programId: string, payload: string, secret: string) {
  const res = await fetch(`${baseUrl}/api/v1/webhooks/stripe/${programId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': sign(payload, secret) },
    body: payload,
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** `payment_intent.succeeded` from the openapi fixture; `legacy` adds the pre-2025 `invoice` field. */
export function paymentIntentSucceeded(o: {
  shape?: PayloadShape;
  id?: string;
  amount: number;
  customer?: string | null;
  metadata?: Record<string, string>;
  charge?: string | null;
  invoice?: string | null;
  currency?: string;
}) {
  const pi = loadResource('payment_intent');
  pi.id = o.id ?? freshId('pi');
  pi.status = 'succeeded';
  pi.amount = o.amount;
  pi.amount_received = o.amount;
  pi.amount_capturable = 0;
  pi.currency = o.currency ?? 'usd';
  pi.customer = o.customer ?? null;
  pi.metadata = o.metadata ?? {};
  pi.latest_charge = o.charge ?? null;
  pi.canceled_at = null;
  pi.last_payment_error = null;
  pi.next_action = null;
  if (o.shape === 'legacy') pi.invoice = o.invoice ?? null;
  return envelope('payment_intent.succeeded', pi, o.shape === 'legacy' ? { apiVersion: '2020-03-02' } : {});
}
