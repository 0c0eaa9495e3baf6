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
 * The permissions the restricted key needs, as Stripe's dashboard names them (Developers → API keys → Create
 * restricted key), what each is for, and the list call (`limit=1`) that proves it: the reads webhook processing
 * makes; the optional writes serve Stripe Connect payouts and cannot be proven without making a transfer or an
 * account, so they are listed (`list: null`), not checked. Source: https://docs.stripe.com/keys#limit-access
 */
export const STRIPE_KEY_PERMISSIONS: readonly {
  permission: string;
  use: string;
  list: ((s: Stripe) => Promise<unknown>) | null;
}[] = [
  {
    permission: 'Customers: Read',
    use: 'referral metadata on the customer',
    list: (s: Stripe) => s.customers.list({ limit: 1 }),
  },
  {
    permission: 'Subscriptions: Read',
    use: 'referral metadata on the subscription',
    list: (s: Stripe) => s.subscriptions.list({ limit: 1 }),
  },
  {
    permission: 'Charges: Read',
    use: 'which sale a refund, dispute or fraud warning belongs to',
    list: (s: Stripe) => s.charges.list({ limit: 1 }),
  },
  {
    permission: 'Invoices: Read',
    use: 'which invoice a payment paid; promotion codes of an invoice',
    list: (s: Stripe) => s.invoices.list({ limit: 1 }),
  },
  {
    permission: 'Checkout Sessions: Read',
    use: 'line items for per-product rules; which session a payment belongs to',
    list: (s: Stripe) => s.checkout.sessions.list({ limit: 1 }),
  },
  {
    permission: 'Transfers: Write',
    use: 'optional: Stripe Connect payouts to partners',
    list: null,
  },
  {
    permission: 'Connect (Accounts, Account Links): Write',
    use: 'optional: partners onboard to Stripe Connect',
    list: null,
  },
];

/** One permission of `STRIPE_KEY_PERMISSIONS` as a connection test found it (`ok` null: not checkable). */
export interface StripeKeyCheck {
  permission: string;
  use: string;
  ok: boolean | null;
  /** Stripe's answer when the call was refused (e.g. "…does not have the required permissions…"). */
  error: string | null;
}

/** What a connection test found: `ok` when Stripe accepted the key and every required read. */
export interface StripeKeyTest {
  ok: boolean;
  /** `test` or `live`, from the key's prefix (`rk_test_…`). */
  mode: 'test' | 'live';
  /** Why not ok, for a person: the key refused, Stripe unreachable, or which permissions are missing. */
  message: string;
  checks: StripeKeyCheck[];
}

/** A Stripe key's mode from its prefix (`rk_live_…`, `sk_test_…`). */
export const stripeKeyMode = (key: string): 'test' | 'live' => (/_live_/.test(key) ? 'live' : 'test');

const errorText = (err: unknown) => {
  const e = err as { statusCode?: number; message?: string };
  return `${e.statusCode ? `${e.statusCode} ` : ''}${e.message ?? String(err)}`.replace(/\s+/g, ' ').slice(0, 300);
};

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

  /**
   * Test `key` against Stripe: one `limit=1` list per required permission (`STRIPE_KEY_PERMISSIONS`), so a key
   * Stripe refuses (401), one missing a permission (403 on that call) and an unreachable Stripe are told apart.
   * Never throws: the answer says what went wrong.
   */
  async function testKey(key: string): Promise<StripeKeyTest> {
    const stripe = client(key);
    const mode = stripeKeyMode(key);
    const checks: StripeKeyCheck[] = [];
    for (const p of STRIPE_KEY_PERMISSIONS) {
      if (!p.list) {
        checks.push({ permission: p.permission, use: p.use, ok: null, error: null });
        continue;
      }
      try {
        await p.list(stripe);
        checks.push({ permission: p.permission, use: p.use, ok: true, error: null });
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 401)
          return { ok: false, mode, message: `Stripe refused the key: ${errorText(err)}`, checks: [] };
        if (status === undefined || status >= 500)
          return { ok: false, mode, message: `Could not reach Stripe: ${errorText(err)}`, checks: [] };
        checks.push({ permission: p.permission, use: p.use, ok: false, error: errorText(err) });
      }
    }
    const missing = checks.filter((c) => c.ok === false).map((c) => c.permission);
    return {
      ok: missing.length === 0,
      mode,
      message: missing.length
        ? `The key works but lacks: ${missing.join(', ')}`
        : `Connected to Stripe (${mode} mode): every read the webhooks need is allowed`,
      checks,
    };
  }

  return {
    testKey,
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
