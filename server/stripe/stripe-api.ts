/**
 * The few Stripe API reads we make when a webhook payload lacks what we need, with the program's restricted
 * key (`programs.stripe_api_key`, e.g. `rk_live_…` with read access to customers, subscriptions, charges,
 * invoices and Checkout Sessions — the last for a session's line items and for which session a payment intent
 * belongs to). Each method answers null for an object Stripe does not have (404), and throws for anything else
 * (bad key, rate limit, network), so the event is retried with backoff and the error is kept on the inbox row.
 *
 * Calls go through the official `stripe` client; `endpoint` points it elsewhere (tests use a loopback fake of
 * Stripe's API through the client's `host` / `port` / `protocol` options).
 * Sources: https://docs.stripe.com/keys#limit-access, https://docs.stripe.com/api/invoice-payment/list,
 * https://docs.stripe.com/api/checkout/sessions/line_items, https://docs.stripe.com/api/checkout/sessions/list
 */
import Stripe from 'stripe';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import {
  charge,
  customer,
  invoicePayment,
  stripeRef,
  subscription,
  type Charge,
  type Customer,
  type Subscription,
} from './stripe-objects.ts';

/** Where the Stripe API is (default: api.stripe.com over HTTPS). */
export interface StripeEndpoint {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

/** The reads a handler may make for one program. */
export interface StripeReader {
  customer(id: string): Promise<Customer | null>;
  subscription(id: string): Promise<Subscription | null>;
  charge(id: string): Promise<Charge | null>;
  /** The invoice a payment intent paid (2025+ payloads no longer say it on the charge). */
  invoiceForPaymentIntent(paymentIntentId: string): Promise<string | null>;
  /**
   * A Checkout Session's line items (`GET /v1/checkout/sessions/:id/line_items`, every page): price, product and
   * what the line was paid excluding tax (`amount_total − amount_tax`, minor units). Null when Stripe has no such
   * session.
   */
  checkoutLineItems(sessionId: string): Promise<CheckoutLineItem[] | null>;
  /** The Checkout Session that created a payment intent (`GET /v1/checkout/sessions?payment_intent=`), or null. */
  checkoutSessionForPaymentIntent(paymentIntentId: string): Promise<string | null>;
  /**
   * Promotion codes of an invoice's discounts (`GET /v1/invoices/:id?expand[]=discounts`), for payloads that carry
   * discounts as ids only. Empty when Stripe has no such invoice.
   */
  invoicePromotionCodes(invoiceId: string): Promise<string[]>;
}

/** One Checkout line item as the rules engine uses it. */
export interface CheckoutLineItem {
  stripePriceId: string | null;
  stripeProductId: string | null;
  /** Minor units paid for the line, excluding tax. */
  amount: number;
}

const lineItemPage = z.looseObject({
  data: z.array(
    z.looseObject({
      amount_total: z.number().int().min(0),
      amount_tax: z.number().int().min(0).nullish(),
      price: z.looseObject({ id: z.string(), product: stripeRef }).nullish(),
    }),
  ),
  has_more: z.boolean().optional(),
});
const sessionList = z.looseObject({ data: z.array(z.looseObject({ id: z.string() })) });
const invoiceWithDiscounts = z.looseObject({
  id: z.string(),
  discounts: z.array(z.union([z.string(), z.looseObject({ promotion_code: stripeRef.optional() })])).nullish(),
});
/** Pages of line items read at most (100 each): a session has at most a few hundred lines. */
const MAX_LINE_ITEM_PAGES = 20;

/** A Stripe API call failed for a reason other than "no such object"; the message is safe to store. */
export class StripeApiError extends Error {
  override name = 'StripeApiError';
}

const isNotFound = (err: unknown) => (err as { statusCode?: number })?.statusCode === 404;

async function read<T>(what: string, schema: z.ZodType<T>, call: () => Promise<unknown>): Promise<T | null> {
  let raw: unknown;
  try {
    raw = await call();
  } catch (err) {
    if (isNotFound(err)) return null;
    const e = err as { type?: string; statusCode?: number; message?: string };
    throw new StripeApiError(
      `Stripe API ${what}: ${e.statusCode ?? ''} ${e.type ?? ''} ${e.message ?? String(err)}`
        .replace(/\s+/g, ' ')
        .slice(0, 500),
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new StripeApiError(`Stripe API ${what}: unexpected response shape`);
  return parsed.data;
}

const invoicePaymentList = z.looseObject({ data: z.array(invoicePayment) });

/**
 * Stripe clients per key (bounded cache; a client keeps its HTTP agent, so keep-alive works across events).
 * @param endpoint override of Stripe's API location (tests' loopback fake)
 */
export function createStripeApi(endpoint?: StripeEndpoint) {
  const clients = new LRUCache<string, Stripe>({ max: 1000 });
  function client(key: string): Stripe {
    let c = clients.get(key);
    if (!c) {
      c = new Stripe(key, {
        maxNetworkRetries: 1,
        timeout: 8_000,
        telemetry: false,
        ...(endpoint ? { host: endpoint.host, port: endpoint.port, protocol: endpoint.protocol } : {}),
      });
      clients.set(key, c);
    }
    return c;
  }

  return {
    /** A reader for the program's key, or null when the program has none (handlers then use the payload alone). */
    forKey(key: string | null | undefined): StripeReader | null {
      if (!key) return null;
      const stripe = client(key);
      return {
        customer: (id) => read(`GET /v1/customers/${id}`, customer, () => stripe.customers.retrieve(id)),
        subscription: (id) =>
          read(`GET /v1/subscriptions/${id}`, subscription, () => stripe.subscriptions.retrieve(id)),
        charge: (id) => read(`GET /v1/charges/${id}`, charge, () => stripe.charges.retrieve(id)),
        async invoiceForPaymentIntent(pi) {
          const list = await read('GET /v1/invoice_payments', invoicePaymentList, () =>
            stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: pi }, limit: 1 }),
          );
          return list?.data[0]?.invoice ?? null;
        },
        async checkoutLineItems(sessionId) {
          const out: CheckoutLineItem[] = [];
          let after: string | undefined;
          for (let page = 0; page < MAX_LINE_ITEM_PAGES; page++) {
            const res = await read(`GET /v1/checkout/sessions/${sessionId}/line_items`, lineItemPage, () =>
              stripe.checkout.sessions.listLineItems(sessionId, {
                limit: 100,
                ...(after ? { starting_after: after } : {}),
              }),
            );
            if (!res) return page === 0 ? null : out;
            for (const l of res.data) {
              out.push({
                stripePriceId: l.price?.id ?? null,
                stripeProductId: l.price?.product ?? null,
                amount: Math.max(0, l.amount_total - (l.amount_tax ?? 0)),
              });
            }
            const last = res.data.at(-1) as { id?: unknown } | undefined;
            if (!res.has_more || typeof last?.id !== 'string') break;
            after = last.id;
          }
          return out;
        },
        async checkoutSessionForPaymentIntent(pi) {
          const list = await read('GET /v1/checkout/sessions', sessionList, () =>
            stripe.checkout.sessions.list({ payment_intent: pi, limit: 1 }),
          );
          return list?.data[0]?.id ?? null;
        },
        async invoicePromotionCodes(invoiceId) {
          const inv = await read(`GET /v1/invoices/${invoiceId}`, invoiceWithDiscounts, () =>
            stripe.invoices.retrieve(invoiceId, { expand: ['discounts'] }),
          );
          return (inv?.discounts ?? []).flatMap((d) =>
            typeof d !== 'string' && d.promotion_code ? [d.promotion_code] : [],
          );
        },
      };
    },
  };
}
export type StripeApi = ReturnType<typeof createStripeApi>;
