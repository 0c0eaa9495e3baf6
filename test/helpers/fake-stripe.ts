/**
 * A loopback fake of the Stripe API reads our webhook handlers make with a program's restricted key:
 * `GET /v1/customers/:id`, `/v1/subscriptions/:id`, `/v1/charges/:id`, `/v1/invoices/:id`, `/v1/invoice_payments`
 * (`?invoice=` or `?payment[type]=payment_intent&payment[payment_intent]=`), `/v1/checkout/sessions`
 * (`?payment_intent=`) and `/v1/checkout/sessions/:id/line_items` (`limit`, `starting_after` pages). Objects are what the test puts in the maps;
 * the lists `GET /v1/customers`, `/v1/subscriptions`, `/v1/charges`, `/v1/invoices` (`limit`; what a connection
 * test of the key calls); anything else answers Stripe's 404 (`resource_missing`). Every request is recorded, so tests assert what we
 * sent (path, query, `Authorization: Bearer rk_…`). `failWith` makes every request fail (e.g. a revoked key);
 * `denied` holds resources (`customers`, `checkout`, …) the key may not read: 403 as Stripe answers a restricted
 * key without that permission.
 * Point the app at it with `startTestApp(env, { stripeEndpoint: fake.endpoint })` (the `stripe` client's
 * `host` / `port` / `protocol` options).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStripeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

export interface FakeStripeApi {
  endpoint: { host: string; port: number; protocol: 'http' };
  requests: FakeStripeRequest[];
  customers: Map<string, Record<string, unknown>>;
  subscriptions: Map<string, Record<string, unknown>>;
  charges: Map<string, Record<string, unknown>>;
  invoices: Map<string, Record<string, unknown>>;
  /** Checkout Sessions by id (`{ id, object, payment_intent, … }`) for the session list by payment intent. */
  checkoutSessions: Map<string, Record<string, unknown>>;
  /** A Checkout Session's line items (`item` objects) by session id; a session listed here exists. */
  lineItems: Map<string, Record<string, unknown>[]>;
  /** `invoice_payment` objects (`{ id, object, invoice, payment: { type, payment_intent }, status }`). */
  invoicePayments: Record<string, unknown>[];
  /** Resources (first path segment after `/v1/`) answered 403 "does not have the required permissions". */
  denied: Set<string>;
  /** Answer every request with this error from now on (null = behave). */
  failWith(error: { status: number; type: string; message: string } | null): void;
  close(): Promise<void>;
}

export async function startFakeStripeApi(): Promise<FakeStripeApi> {
  const requests: FakeStripeRequest[] = [];
  const customers = new Map<string, Record<string, unknown>>();
  const subscriptions = new Map<string, Record<string, unknown>>();
  const charges = new Map<string, Record<string, unknown>>();
  const invoices = new Map<string, Record<string, unknown>>();
  const checkoutSessions = new Map<string, Record<string, unknown>>();
  const lineItems = new Map<string, Record<string, unknown>[]>();
  const invoicePayments: Record<string, unknown>[] = [];
  const denied = new Set<string>();
  let failure: { status: number; type: string; message: string } | null = null;
  let counter = 0;

  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      requests.push({ method: req.method ?? '', path: url.pathname, query, authorization: req.headers.authorization });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${++counter}` });
        res.end(JSON.stringify(body));
      };
      const missing = (what: string) =>
        send(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}` } });
      if (failure) return send(failure.status, { error: { type: failure.type, message: failure.message } });
      if (!/^Bearer (rk|sk)_/.test(String(req.headers.authorization ?? ''))) {
        return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
      }
      if (req.method !== 'GET')
        return send(405, { error: { type: 'invalid_request_error', message: 'read-only fake' } });
      const [, v1, resource, id, sub, sub2] = url.pathname.split('/');
      if (v1 !== 'v1') return missing('route');
      if (resource && denied.has(resource))
        return send(403, {
          error: {
            type: 'invalid_request_error',
            message: `The provided key '${String(req.headers.authorization).slice(7, 19)}***' does not have the required permissions for this endpoint on account 'acct_fake'.`,
          },
        });
      const one = (map: Map<string, Record<string, unknown>>, what: string) => {
        if (!id) {
          const data = [...map.values()].slice(0, Number(query.limit ?? 10));
          return send(200, { object: 'list', data, has_more: false, url: `/v1/${resource}` });
        }
        const obj = id ? map.get(decodeURIComponent(id)) : undefined;
        return obj ? send(200, obj) : missing(`${what}: '${id}'`);
      };
      if (resource === 'customers') return one(customers, 'customer');
      if (resource === 'subscriptions') return one(subscriptions, 'subscription');
      if (resource === 'charges') return one(charges, 'charge');
      if (resource === 'invoices') return one(invoices, 'invoice');
      if (resource === 'checkout' && id === 'sessions' && !sub) {
        const data = [...checkoutSessions.values()].filter(
          (s) => query.payment_intent === undefined || s.payment_intent === query.payment_intent,
        );
        return send(200, { object: 'list', data, has_more: false, url: '/v1/checkout/sessions' });
      }
      if (resource === 'checkout' && id === 'sessions' && sub && sub2 === 'line_items') {
        const all = lineItems.get(decodeURIComponent(sub));
        if (!all) return missing(`checkout.session: '${sub}'`);
        const from = query.starting_after ? all.findIndex((l) => l.id === query.starting_after) + 1 : 0;
        const limit = Number(query.limit ?? 10);
        const data = all.slice(from, from + limit);
        return send(200, {
          object: 'list',
          data,
          has_more: from + limit < all.length,
          url: `/v1/checkout/sessions/${sub}/line_items`,
        });
      }
      if (resource === 'invoice_payments' && !id) {
        const data = invoicePayments.filter((p: any) =>
          query.invoice ? p.invoice === query.invoice : p.payment?.payment_intent === query['payment[payment_intent]'],
        );
        return send(200, { object: 'list', data, has_more: false, url: '/v1/invoice_payments' });
      }
      return missing(`route ${url.pathname}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { host: '127.0.0.1', port, protocol: 'http' },
    requests,
    customers,
    subscriptions,
    charges,
    invoices,
    checkoutSessions,
    lineItems,
    invoicePayments,
    denied,
    failWith(error) {
      failure = error;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
