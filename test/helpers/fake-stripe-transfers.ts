/**
 * A loopback fake of the part of Stripe's API that payouts call: `POST /v1/transfers` (honouring
 * `Idempotency-Key` as Stripe does: the same key answers the same transfer) and `GET /v1/transfers?transfer_group=`;
 * for pay-all, `GET /v1/accounts/:id` (connected accounts the test puts in `accounts`, else Stripe's 404), errors
 * per destination (`failTransfersTo`) and a delay per transfer (`transferDelayMs`, to make runs overlap); for
 * onboarding, `POST /v1/accounts` (an Express account, not ready yet; the same `Idempotency-Key` answers the same
 * account) and `POST /v1/account_links`.
 * It records every request so tests assert what we sent. Point the app at it with `startTestApp(env, { stripeEndpoint })`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Form fields of the body (Stripe's API takes application/x-www-form-urlencoded). */
  form: Record<string, string>;
}

export interface FakeStripe {
  endpoint: { host: string; port: number; protocol: 'http' };
  requests: RecordedRequest[];
  /** Transfers made, by id. */
  transfers: Map<string, Record<string, unknown>>;
  /** The next POST /v1/transfers answers this error instead (once). */
  failNextTransfer(status: number, error: { type: string; code?: string; message: string }): void;
  /** Connected accounts by id (`GET /v1/accounts/:id`). */
  accounts: Map<string, Record<string, unknown>>;
  /** Every POST /v1/transfers to `destination` answers this error (null: behave again). */
  failTransfersTo(
    destination: string,
    failure: { status: number; type: string; code?: string; message: string } | null,
  ): void;
  /** Milliseconds each POST /v1/transfers waits before answering. */
  transferDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: RecordedRequest[] = [];
  const transfers = new Map<string, Record<string, unknown>>();
  const byIdempotencyKey = new Map<string, Record<string, unknown>>();
  let nextError: { status: number; error: { type: string; code?: string; message: string } } | null = null;
  let counter = 0;
  const accounts = new Map<string, Record<string, unknown>>();
  const accountsByKey = new Map<string, Record<string, unknown>>();
  const failingDestinations = new Map<string, { status: number; type: string; code?: string; message: string }>();
  const state = { transferDelayMs: 0 };

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const form = Object.fromEntries(new URLSearchParams(req.method === 'GET' ? url.search : raw));
      requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, form });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${++counter}` });
        res.end(JSON.stringify(body));
      };
      if (
        !String(req.headers.authorization ?? '').startsWith('Bearer sk_') &&
        !String(req.headers.authorization ?? '').startsWith('Bearer rk_')
      ) {
        return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
      }
      if (req.method === 'POST' && url.pathname === '/v1/accounts') {
        const key = req.headers['idempotency-key'];
        const earlier = typeof key === 'string' ? accountsByKey.get(key) : undefined;
        if (earlier) return send(200, earlier);
        const account = {
          id: `acct_1Fake${String(++counter).padStart(10, '0')}`,
          object: 'account',
          type: form.type,
          country: form.country,
          email: form.email ?? null,
          capabilities: { transfers: 'inactive' },
          payouts_enabled: false,
          charges_enabled: false,
          details_submitted: false,
          requirements: {
            currently_due: ['external_account', 'tos_acceptance.date'],
            disabled_reason: 'requirements.past_due',
          },
          metadata: Object.fromEntries(
            Object.entries(form)
              .filter(([k]) => k.startsWith('metadata['))
              .map(([k, v]) => [k.slice(9, -1), v]),
          ),
        };
        accounts.set(account.id, account);
        if (typeof key === 'string') accountsByKey.set(key, account);
        return send(200, account);
      }
      if (req.method === 'POST' && url.pathname === '/v1/account_links') {
        if (!accounts.has(form.account ?? ''))
          return send(400, { error: { type: 'invalid_request_error', message: `No such account: '${form.account}'` } });
        return send(200, {
          object: 'account_link',
          created: Math.floor(Date.now() / 1000),
          expires_at: Math.floor(Date.now() / 1000) + 300,
          url: `https://connect.stripe.com/setup/e/${form.account}/fake${++counter}`,
          refresh_url: form.refresh_url,
          return_url: form.return_url,
        });
      }
      if (req.method === 'GET' && url.pathname.startsWith('/v1/accounts/')) {
        const account = accounts.get(decodeURIComponent(url.pathname.slice('/v1/accounts/'.length)));
        if (account) return send(200, account);
        return send(404, {
          error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such account' },
        });
      }
      if (req.method === 'POST' && url.pathname === '/v1/transfers') {
        if (state.transferDelayMs) await new Promise((r) => setTimeout(r, state.transferDelayMs));
        const key = req.headers['idempotency-key'];
        const failing = failingDestinations.get(form.destination ?? '');
        if (failing && !(typeof key === 'string' && byIdempotencyKey.has(key))) {
          const { status, ...error } = failing;
          return send(status, { error });
        }
        if (typeof key === 'string' && byIdempotencyKey.has(key)) return send(200, byIdempotencyKey.get(key));
        if (nextError) {
          const e = nextError;
          nextError = null;
          return send(e.status, { error: e.error });
        }
        const transfer = {
          id: `tr_fake_${++counter}`,
          object: 'transfer',
          amount: Number(form.amount),
          currency: form.currency,
          destination: form.destination,
          transfer_group: form.transfer_group ?? null,
          description: form.description ?? null,
          metadata: Object.fromEntries(
            Object.entries(form)
              .filter(([k]) => k.startsWith('metadata['))
              .map(([k, v]) => [k.slice(9, -1), v]),
          ),
          created: Math.floor(Date.now() / 1000),
          livemode: false,
          reversed: false,
        };
        transfers.set(transfer.id, transfer);
        if (typeof key === 'string') byIdempotencyKey.set(key, transfer);
        return send(200, transfer);
      }
      if (req.method === 'GET' && url.pathname === '/v1/transfers') {
        const group = url.searchParams.get('transfer_group');
        const data = [...transfers.values()].filter((t) => !group || t.transfer_group === group);
        return send(200, { object: 'list', data, has_more: false, url: '/v1/transfers' });
      }
      send(404, {
        error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname})` },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { host: '127.0.0.1', port, protocol: 'http' },
    requests,
    transfers,
    failNextTransfer(status, error) {
      nextError = { status, error };
    },
    accounts,
    failTransfersTo(destination, failure) {
      if (failure) failingDestinations.set(destination, failure);
      else failingDestinations.delete(destination);
    },
    get transferDelayMs() {
      return state.transferDelayMs;
    },
    set transferDelayMs(ms: number) {
      state.transferDelayMs = ms;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
