/**
 * What an operator sees, over real HTTP and PostgreSQL: JSON log lines that carry the id of the request they were
 * written for (also deep in a service, also under concurrency), the `X-Request-Id` round trip, and `GET /metrics`
 * (off without METRICS_TOKEN, bearer-protected with it, Prometheus text that parses, with route templates, click
 * batches and the Stripe inbox backlog).
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/db/database.ts';
import { createScheduler } from '../../server/jobs/scheduler.ts';
import { createLogger } from '../../server/lib/logger.ts';
import { createMetrics } from '../../server/lib/metrics.ts';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { chargeRefunded, checkoutCompleted, deliver, freshId } from '../helpers/stripe.ts';
import { waitFor } from '../helpers/wait.ts';
import { approvedAffiliate as newAffiliate } from '../helpers/fixtures.ts';

const TOKEN = 'metrics-token-for-tests-0123456789';
const SECRET = 'whsec_test_observability';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const ORIGIN = 'https://www.shop.test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface LogLine {
  level: string;
  msg: string;
  reqId?: string;
  [key: string]: unknown;
}
/** Every line the app logged, parsed (pino writes them to this stream synchronously). */
const lines: LogLine[] = [];
let app: TestApp;
/** An app without METRICS_TOKEN. */
let plain: TestApp;
let program: { id: string; publicKey: string; apiKey: string };
let ip = 0;
const nextIp = () => `198.51.${100 + (Math.floor(++ip / 250) % 100)}.${ip % 250}`;

beforeAll(async () => {
  [app, plain] = await Promise.all([
    startTestApp(
      { TRUST_PROXY: 'on', METRICS_TOKEN: TOKEN },
      {
        logger: createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } }),
      },
    ),
    startTestApp(),
  ]);
  program = await app.services.programs.create({
    name: 'Shop',
    website: ORIGIN,
    stripeWebhookSecret: SECRET,
  });
});
afterAll(async () => {
  await Promise.all([app?.stop(), plain?.stop()]);
});

const approvedAffiliate = (email: string) => newAffiliate({ admin: adminClient(app, program.apiKey) }, { email });

function click(code: string, headers: Record<string, string> = {}) {
  return app.request('/api/v1/track/click', {
    method: 'POST',
    headers: {
      'content-type': 'text/plain',
      origin: ORIGIN,
      'user-agent': UA,
      'x-forwarded-for': nextIp(),
      ...headers,
    },
    body: JSON.stringify({ key: program.publicKey, code }),
  });
}

async function scrape(target: TestApp = app, authorization = `Bearer ${TOKEN}`) {
  return target.request('/metrics', { headers: { authorization } });
}

/** The metric families of one authorized scrape (throws if the text is not exposition format). */
async function metrics(): Promise<PrometheusFamily[]> {
  const res = await scrape();
  expect(res.status).toBe(200);
  return parsePrometheusTextFormat(await res.text());
}

/** The text of one authorized scrape, checked to parse as exposition format. */
async function scrapeText(): Promise<string> {
  const res = await scrape();
  expect(res.status).toBe(200);
  const text = await res.text();
  parsePrometheusTextFormat(text);
  return text;
}

interface HistogramSeries {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Cumulative count per upper bound (`le`). */
  buckets: Record<string, number>;
}

/**
 * The series of histogram `name` in exposition `text`, one per label set. (The parser's own view of a labelled
 * histogram merges all series into one, parse-prometheus-text-format 1.1.1, so samples are read from the lines.)
 */
function histogram(text: string, name: string): HistogramSeries[] {
  const series = new Map<string, HistogramSeries>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || !m[1]!.startsWith(name)) continue;
    const part = m[1]!.slice(name.length);
    if (part !== '_bucket' && part !== '_count' && part !== '_sum') continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const le = labels.le;
    delete labels.le;
    const key = JSON.stringify(Object.entries(labels).sort());
    const s = series.get(key) ?? { labels, count: 0, sum: 0, buckets: {} };
    series.set(key, s);
    if (part === '_bucket') s.buckets[le!] = Number(m[3]);
    else if (part === '_count') s.count = Number(m[3]);
    else s.sum = Number(m[3]);
  }
  return [...series.values()];
}

const family = (all: PrometheusFamily[], name: string) => {
  const f = all.find((x) => x.name === name);
  if (!f) throw new Error(`no metric ${name}`);
  return f;
};
const sample = (f: PrometheusFamily, labels: Record<string, string> = {}) =>
  f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
const value = (all: PrometheusFamily[], name: string, labels: Record<string, string> = {}) =>
  Number(sample(family(all, name), labels)?.value ?? 0);

describe('logs', () => {
  it('every line logged during a request carries that request’s id, also deep in a service and under concurrency', async () => {
    const affiliates = await Promise.all(
      Array.from({ length: 6 }, (_, i) => approvedAffiliate(`reset${i}@shop.test`).then((a) => ({ ...a, i }))),
    );
    const ids = affiliates.map((a) => `reset-${a.i}-${freshId('rq')}`);
    const from = lines.length;
    // A password reset mails the link; without SMTP_URL the mailer (deep in the partner service) logs it instead.
    const answers = await Promise.all(
      affiliates.map((a) =>
        app.request('/api/v1/partner/password/reset', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': ids[a.i]!, 'x-forwarded-for': nextIp() },
          body: JSON.stringify({ email: `reset${a.i}@shop.test` }),
        }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(ids.map(() => 202));
    expect(answers.map((r) => r.headers.get('x-request-id'))).toEqual(ids);
    const during = lines.slice(from);
    // Nothing else runs in this app (no jobs, no clicks): every line is one of these requests'.
    for (const line of during) expect(ids, JSON.stringify(line)).toContain(line.reqId);
    for (const a of affiliates) {
      const mine = during.filter((l) => l.reqId === ids[a.i]);
      // The mail line is the one for this request's affiliate, not another concurrent request's.
      expect(mine.filter((l) => l.msg.startsWith('mail (SMTP_URL not set')).map((l) => l.mailTo)).toEqual([
        `reset${a.i}@shop.test`,
      ]);
      expect(mine.find((l) => l.msg === 'request')).toMatchObject({
        level: 'debug',
        method: 'POST',
        route: '/api/v1/partner/password/reset',
        status: 202,
      });
    }
  });

  it('a failed click (a hot route, which opens no log context) logs its error with the click’s request id', async () => {
    const a = await approvedAffiliate('broken@shop.test');
    await sql`
        CREATE FUNCTION observability_test_fail() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN RAISE EXCEPTION 'clicks are broken for this test'; END $$;
        CREATE TRIGGER observability_test_fail BEFORE INSERT ON clicks FOR EACH ROW
          EXECUTE FUNCTION observability_test_fail();`.execute(app.db);
    const from = lines.length;
    let res: Response;
    try {
      res = await click(a.code, { 'x-request-id': 'broken-click-1' });
    } finally {
      await sql`DROP TRIGGER observability_test_fail ON clicks; DROP FUNCTION observability_test_fail();`.execute(
        app.db,
      );
    }
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('broken-click-1');
    const during = lines.slice(from);
    const failure = during.find((l) => l.msg === 'POST /api/v1/track/click failed');
    expect(failure).toMatchObject({ level: 'error', reqId: 'broken-click-1' });
    expect((failure!.err as { message: string }).message).toContain('clicks are broken for this test');
    for (const line of during) expect(line.reqId, JSON.stringify(line)).toBe('broken-click-1');
    // And clicks work again.
    expect((await click(a.code)).status).toBe(200);
  });
});

describe('X-Request-Id', () => {
  it('echoes a sane incoming id and replaces any other with a new one, on every route', async () => {
    const sane = /^[A-Za-z0-9._-]{1,100}$/;
    const printable = fc.string({
      unit: fc.mapToConstant({ num: 95, build: (v) => String.fromCharCode(0x20 + v) }),
      maxLength: 140,
    });
    const token = fc.stringMatching(/^[A-Za-z0-9._-]{1,120}$/);
    const paths = ['/no/such/route', '/api/v1/affiliates', '/api/v1/track/click', '/metrics'];
    await fc.assert(
      fc.asyncProperty(fc.oneof(printable, token), fc.constantFrom(...paths), async (header, path) => {
        const res = await app.request(path, { headers: { 'x-request-id': header } });
        await res.arrayBuffer();
        // fetch trims the value it sends (HTTP whitespace around a header value is not part of it).
        const sent = header.trim();
        const echoed = res.headers.get('x-request-id')!;
        if (sane.test(sent)) expect(echoed).toBe(sent);
        else expect(echoed).toMatch(UUID);
      }),
      { numRuns: 120 },
    );
    for (const hostile of ['a'.repeat(101), '<script>alert(1)</script>', 'two words', '../../etc/passwd', 'x,y']) {
      const res = await app.request('/no/such/route', { headers: { 'x-request-id': hostile } });
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    }
    // Without one, each request gets its own.
    const [r1, r2] = await Promise.all([app.request('/no/such/route'), app.request('/no/such/route')]);
    expect(r1.headers.get('x-request-id')).toMatch(UUID);
    expect(r2.headers.get('x-request-id')).toMatch(UUID);
    expect(r1.headers.get('x-request-id')).not.toBe(r2.headers.get('x-request-id'));
  });
});

describe('GET /metrics', () => {
  it('refuses a METRICS_TOKEN that is short or has spaces, naming it', () => {
    for (const METRICS_TOKEN of ['short', 'sixteen chars ok?', 'x'.repeat(201)])
      expect(() => loadConfig({ METRICS_TOKEN, SECRET_KEY: 'k'.repeat(32) })).toThrow(/METRICS_TOKEN/);
    expect(loadConfig({ METRICS_TOKEN: TOKEN, SECRET_KEY: 'k'.repeat(32) }).metricsToken).toBe(TOKEN);
    expect(loadConfig({ SECRET_KEY: 'k'.repeat(32) }).metricsToken).toBeNull();
  });

  it('is a plain 404 when METRICS_TOKEN is not set, whatever the credentials', async () => {
    for (const authorization of ['', `Bearer ${TOKEN}`]) {
      const res = await scrape(plain, authorization);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('route_not_found');
    }
  });

  it('answers 401 without the right bearer token', async () => {
    for (const authorization of ['', 'Bearer wrong-token-wrong-token', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const res = await scrape(app, authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect((await res.json()).error.code).toBe('invalid_metrics_token');
    }
  });

  it('shows the Stripe inbox backlog and processing lag after webhooks', async () => {
    // A refund whose sale we do not know waits for it (`retrying`); a sale no affiliate referred is settled at once
    // (`ignored`).
    const refund = chargeRefunded({
      chargeId: freshId('ch'),
      paymentIntent: freshId('pi'),
      amount: 1_000,
      amountRefunded: 1_000,
    });
    expect((await deliver(app.url, program.id, refund, SECRET)).status).toBe(200);
    const sale = checkoutCompleted({ referral: null, amountTotal: 5_000, currency: 'usd' });
    expect((await deliver(app.url, program.id, sale, SECRET)).status).toBe(200);
    await app.services.stripeWebhooks.idle();
    const statuses = await app.db.selectFrom('stripe_events').select(['id', 'status']).execute();
    expect(Object.fromEntries(statuses.map((r) => [r.id, r.status]))).toEqual({
      [refund.id]: 'retrying',
      [sale.id]: 'ignored',
    });
    // The count is cached for a few seconds: an earlier scrape may still be what it shows.
    const scraped = await waitFor(async () => {
      const m = await metrics();
      return value(m, 'partnerkit_stripe_inbox_backlog', { status: 'retrying' }) === 1 ? m : undefined;
    }, 15_000);
    expect(family(scraped, 'partnerkit_stripe_inbox_backlog').type).toBe('GAUGE');
    expect(value(scraped, 'partnerkit_stripe_inbox_backlog', { status: 'received' })).toBe(0);
    const lag = histogram(await scrapeText(), 'partnerkit_stripe_event_processing_lag_seconds');
    expect(lag.find((h) => h.labels.status === 'ignored')?.count).toBe(1);
    expect(lag.filter((h) => h.labels.status !== 'ignored')).toEqual([]);
  });

  it('counts click batches and the clicks they wrote', async () => {
    const a = await approvedAffiliate('clicks@shop.test');
    const before = await scrapeText();
    const [batches0] = histogram(before, 'partnerkit_click_batch_size');
    const written0 = value(parsePrometheusTextFormat(before), 'partnerkit_clicks_written_total');
    const answers = await Promise.all(Array.from({ length: 7 }, () => click(a.code)));
    expect(answers.map((r) => r.status)).toEqual(Array(7).fill(200));
    // One visitor again within the dedupe window: answered, but no click row.
    const ipAgain = nextIp();
    expect((await click(a.code, { 'x-forwarded-for': ipAgain })).status).toBe(200);
    expect((await click(a.code, { 'x-forwarded-for': ipAgain })).status).toBe(200);
    const after = await scrapeText();
    const [batches1] = histogram(after, 'partnerkit_click_batch_size');
    expect(value(parsePrometheusTextFormat(after), 'partnerkit_clicks_written_total') - written0).toBe(8);
    // Nine clicks answered, in at least three batches (the last two one after the other), at most nine.
    expect(batches1!.sum - batches0!.sum).toBe(9);
    expect(batches1!.count - batches0!.count).toBeGreaterThanOrEqual(3);
    expect(batches1!.count - batches0!.count).toBeLessThanOrEqual(9);
    expect(batches1!.buckets['+Inf']).toBe(batches1!.count);
  });

  it('parses as Prometheus text with the HTTP histogram labelled by route template, never the raw path', async () => {
    const a = await approvedAffiliate('template@shop.test');
    const admin = adminClient(app, program.apiKey);
    for (let i = 0; i < 3; i++) expect((await admin.get(`/api/v1/affiliates/${a.id}`)).status).toBe(200);
    expect((await admin.get('/api/v1/affiliates/aff_nosuchaffiliate0000')).status).toBe(404);
    await app.request(`/no/such/${freshId('path')}`);
    const res = await scrape();
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const all = parsePrometheusTextFormat(text);
    // Every sample is a number (the parser accepts any token as a value).
    for (const f of all)
      for (const m of f.metrics)
        for (const v of [m.value, m.count, m.sum, ...Object.values(m.buckets ?? {})].filter((x) => x !== undefined))
          expect(Number.isNaN(Number(v)) && v !== 'NaN', `${f.name} ${v}`).toBe(false);
    expect(family(all, 'partnerkit_http_request_duration_seconds').type).toBe('HISTOGRAM');
    const http = histogram(text, 'partnerkit_http_request_duration_seconds');
    const find = (method: string, route: string, status_class: string) =>
      http.find(
        (h) => h.labels.method === method && h.labels.route === route && h.labels.status_class === status_class,
      );
    expect(find('GET', '/api/v1/affiliates/:id', '2xx')).toMatchObject({ count: 3, buckets: { '+Inf': 3 } });
    expect(find('GET', '/api/v1/affiliates/:id', '4xx')?.count).toBe(1);
    expect(find('POST', '/api/v1/track/click', '2xx')?.count).toBe(answeredClicks());
    expect(find('POST', '/api/v1/track/click', '5xx')?.count).toBe(1);
    expect(find('GET', 'unmatched', '4xx')?.count).toBeGreaterThan(1);
    // Route templates only: a handful of label values, however many ids and paths were requested.
    expect(new Set(http.map((h) => h.labels.route)).size).toBeLessThan(12);
    expect(text).not.toContain(a.id);
    expect(text).not.toContain('/no/such/');
    // Job failures are counted per job; Node's default metrics are there.
    expect(family(all, 'partnerkit_job_failures_total').type).toBe('COUNTER');
    expect(family(all, 'process_cpu_user_seconds_total').type).toBe('COUNTER');
    expect(family(all, 'nodejs_eventloop_lag_seconds').type).toBe('GAUGE');
  });
});

describe('jobs', () => {
  it('counts a failed job run under its name and logs it with the job’s bindings', async () => {
    const handle = openDatabase(app.databaseUrl, 3);
    const jobLines: LogLine[] = [];
    const metrics = createMetrics();
    const scheduler = createScheduler({
      pool: handle.pool,
      commissions: app.services.commissions,
      logger: createLogger({ level: 'info', destination: { write: (s: string) => void jobLines.push(JSON.parse(s)) } }),
      metrics,
    });
    try {
      const failures = async () => parsePrometheusTextFormat(await metrics.registry.metrics());
      // Known jobs are there from the start, at 0.
      expect(value(await failures(), 'partnerkit_job_failures_total', { job: 'approve-commissions' })).toBe(0);
      scheduler.agenda.define('observability-test-boom', async () => {
        throw new Error('boom for the test');
      });
      await scheduler.start();
      await scheduler.agenda.now('observability-test-boom', {});
      const all = await waitFor(async () => {
        const m = await failures();
        return value(m, 'partnerkit_job_failures_total', { job: 'observability-test-boom' }) === 1 ? m : undefined;
      });
      expect(value(all, 'partnerkit_job_failures_total', { job: 'approve-commissions' })).toBe(0);
      expect(jobLines.find((l) => l.msg === 'job observability-test-boom failed')).toMatchObject({
        level: 'error',
        job: 'observability-test-boom',
        err: { message: 'boom for the test' },
      });
    } finally {
      await scheduler.stop();
      await handle.close();
    }
  });
});

/** Clicks answered 200 so far in this file (from the log's per-request lines). */
function answeredClicks(): number {
  return lines.filter((l) => l.msg === 'request' && l.route === '/api/v1/track/click' && l.status === 200).length;
}
