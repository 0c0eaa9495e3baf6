/**
 * PostgreSQL going away under load never kills the server. The server runs as its own process
 * (`node --import tsx server/main.ts`, as `npm start` does), with Agenda on, under click and signed Stripe webhook
 * load from this process:
 * - on a PostgreSQL of its own that this test stops (fast shutdown: every connection gets `57P01`) and starts again
 *   on the same port: the process stays up, every request answered during the outage is `503 database_unavailable`
 *   with `Retry-After` (never a 500), `/healthz` stays 200 while `/readyz` turns 503, and once PostgreSQL is back
 *   `/readyz` is 200 and clicks and webhooks succeed again, without a restart of the server;
 * - on its embedded PostgreSQL, whose postmaster this test kills (SIGKILL): the server starts PostgreSQL again by
 *   itself and serves clicks and webhooks again.
 * In both, every click and webhook acknowledged with a 2xx (before, during, after) is in the database.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createServices } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/database.ts';
import { freePort, isReachable, startEmbeddedPostgres, type PostgresServer } from '../../server/db/postgres.ts';
import { migrateToLatest } from '../../server/db/migrate.ts';
import { APPROVE_COMMISSIONS } from '../../server/jobs/approve-commissions.ts';
import { createScheduler } from '../../server/jobs/scheduler.ts';
import { createLogger, functionDestination } from '../../server/lib/logger.ts';
import { checkoutSession, sign } from '../helpers/stripe.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECRET_KEY = 'test-secret-key-test-secret-key-0123456789';
const WEBHOOK_SECRET = 'whsec_database_faults';
const SHOP = 'https://www.shop.test';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Things to clean up after each test, last first. */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse())
    await Promise.resolve()
      .then(c)
      .catch(() => {});
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  // PostgreSQL runs as the `postgres` user when we are root: it must be able to enter the directory.
  chmodSync(dir, 0o755);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  alive(): boolean;
}

/** `server/main.ts` in a child process on a free port. */
async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SECRET_KEY,
      TRUST_PROXY: 'on',
      JOBS: 'on',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // In order (it stops the PostgreSQL it owns), or at once after 20 s.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  });
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  await waitUntil(
    async () => (await probe(server.url, '/readyz')).status === 200,
    90_000,
    () => `server did not become ready:\n${output}`,
    server,
  );
  return server;
}

/** Poll `ok` every 100 ms; fail after `timeoutMs`, or at once when `server` (if given) has died. */
async function waitUntil(
  ok: () => Promise<boolean>,
  timeoutMs: number,
  what: () => string,
  server?: ServerProcess,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (server && !server.alive()) throw new Error(`the server process died: ${what()}`);
    if (Date.now() > until) throw new Error(what());
    await sleep(100);
  }
}

interface Answer {
  status: number | 'dropped';
  retryAfter: string | null;
  body: any;
}

async function answer(res: Promise<Response>): Promise<Answer> {
  try {
    const r = await res;
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: r.status, retryAfter: r.headers.get('retry-after'), body };
  } catch {
    return { status: 'dropped', retryAfter: null, body: null };
  }
}

const probe = (base: string, p: string) => answer(fetch(base + p, { signal: AbortSignal.timeout(10_000) }));

interface Outcome extends Answer {
  kind: 'click' | 'webhook';
  /** Click: the referral answered; webhook: the event id. */
  id: string;
  startedAt: number;
  endedAt: number;
}

/** A program with a webhook secret and an approved affiliate, made directly in the database. */
async function setUp(databaseUrl: string) {
  const handle = openDatabase(databaseUrl, 2);
  cleanups.push(() => handle.close());
  const config = loadConfig({ DATABASE_URL: databaseUrl, SECRET_KEY, JOBS: 'off', LOG_LEVEL: 'silent' });
  const services = createServices(handle.db, config);
  const created = await services.programs.create({ name: 'Shop', website: SHOP, stripeWebhookSecret: WEBHOOK_SECRET });
  const program = (await services.programs.findById(created.id))!;
  const affiliate = await services.affiliates.create(program, {
    email: 'faults@partners.test',
    name: 'Faults',
    status: 'approved',
  });
  return { handle, program, affiliate };
}

/**
 * Click and webhook load on `base` until `stop()`: `clickers` + `senders` loops, each one request at a time.
 * Every click comes from a new visitor (its own IPv6 documentation address), every event is new.
 */
function load(base: string, ctx: Awaited<ReturnType<typeof setUp>>, referral: string, clickers = 6, senders = 3) {
  const outcomes: Outcome[] = [];
  let stopped = false;
  let n = 0;
  const click = async (): Promise<Outcome> => {
    const startedAt = Date.now();
    const a = await answer(
      fetch(`${base}/api/v1/track/click`, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          origin: SHOP,
          'user-agent': UA,
          'x-forwarded-for': `2001:db8::${(++n).toString(16)}`,
        },
        body: JSON.stringify({ key: ctx.program.public_key, code: ctx.affiliate.code }),
        signal: AbortSignal.timeout(20_000),
      }),
    );
    return { ...a, kind: 'click', id: a.body?.referral ?? '', startedAt, endedAt: Date.now() };
  };
  const webhook = async (): Promise<Outcome> => {
    const event = checkoutSession({ referral, amountTotal: 4900 });
    const payload = JSON.stringify(event);
    const startedAt = Date.now();
    const a = await answer(
      fetch(`${base}/api/v1/webhooks/stripe/${ctx.program.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': sign(payload, WEBHOOK_SECRET) },
        body: payload,
        signal: AbortSignal.timeout(20_000),
      }),
    );
    return { ...a, kind: 'webhook', id: event.id, startedAt, endedAt: Date.now() };
  };
  const loop = async (send: () => Promise<Outcome>) => {
    while (!stopped) {
      outcomes.push(await send());
      await sleep(5);
    }
  };
  const loops = [
    ...Array.from({ length: clickers }, () => loop(click)),
    ...Array.from({ length: senders }, () => loop(webhook)),
  ];
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Every answer is a 2xx or a `503 database_unavailable` with `Retry-After`; none was left without an answer. */
function expectOnly2xxOr503(outcomes: Outcome[]) {
  const bad = outcomes.filter(
    (o) =>
      !(typeof o.status === 'number' && o.status >= 200 && o.status < 300) &&
      !(o.status === 503 && Number(o.retryAfter) > 0 && o.body?.error?.code === 'database_unavailable'),
  );
  expect(
    bad.map((o) => `${o.kind} ${o.status} ${JSON.stringify(o.body)}`).slice(0, 5),
    `${bad.length} of ${outcomes.length} answers were neither 2xx nor 503 database_unavailable with Retry-After`,
  ).toEqual([]);
}

/** Every acknowledged click's referral and every acknowledged event is stored. */
async function expectNothingAcknowledgedLost(handle: DatabaseHandle, outcomes: Outcome[]) {
  const ok = (kind: Outcome['kind']) =>
    outcomes.filter((o) => o.kind === kind && typeof o.status === 'number' && o.status < 300).map((o) => o.id);
  const clicks = ok('click');
  const events = ok('webhook');
  const storedClicks = new Set(
    (await handle.db.selectFrom('clicks').select('referral_id').execute()).map((r) => r.referral_id),
  );
  const storedEvents = new Set((await handle.db.selectFrom('stripe_events').select('id').execute()).map((r) => r.id));
  expect(
    clicks.filter((id) => !storedClicks.has(id)),
    'acknowledged clicks missing',
  ).toEqual([]);
  expect(
    events.filter((id) => !storedEvents.has(id)),
    'acknowledged events missing',
  ).toEqual([]);
  return { clicks: clicks.length, events: events.length };
}

const statuses = (os: Outcome[]) =>
  os.reduce<Record<string, number>>((acc, o) => {
    const k = `${o.kind} ${o.status}`;
    acc[k] = (acc[k] ?? 0) + 1;
    return acc;
  }, {});

it('PostgreSQL stopped under load: the server stays up, answers 503 + Retry-After, and recovers by itself', async () => {
  const dir = tempDir('partnerkit-dbfaults-');
  const pgOpts = { clusterDir: path.join(dir, 'pg'), persistent: true, urlFile: null };
  let postgres: PostgresServer = await startEmbeddedPostgres(pgOpts);
  cleanups.push(() => postgres.stop());
  const port = Number(new URL(postgres.url).port);
  const server = await startServer({ DATABASE_URL: postgres.url, DATA_DIR: path.join(dir, 'data') });
  const ctx = await setUp(postgres.url);
  const first = load(server.url, ctx, '', 1, 0);
  await sleep(200);
  await first.stop();
  const referral = first.outcomes.find((o) => o.status === 200)!.id;
  expect(referral).toMatch(/^ref_/);

  const traffic = load(server.url, ctx, referral);
  await sleep(1500);
  const stopping = Date.now();
  await postgres.stop(); // fast shutdown: every backend ends its connection with 57P01
  const stopped = Date.now();
  const health: Answer[] = [];
  const ready: Answer[] = [];
  while (Date.now() - stopped < 3000) {
    health.push(await probe(server.url, '/healthz'));
    ready.push(await probe(server.url, '/readyz'));
    await sleep(200);
  }
  const restarting = Date.now();
  postgres = await startEmbeddedPostgres({ ...pgOpts, port });
  await waitUntil(
    async () => (await probe(server.url, '/readyz')).status === 200,
    30_000,
    () => `/readyz did not become 200 after PostgreSQL came back:\n${server.output()}`,
    server,
  );
  const readyAgain = Date.now();
  await sleep(1500);
  await traffic.stop();

  const outcomes = [...first.outcomes, ...traffic.outcomes];
  const summary = statuses(outcomes);
  expect(server.alive(), `the server process died:\n${server.output()}`).toBe(true);
  expect(server.output()).not.toMatch(/Unhandled|uncaught/i);
  expectOnly2xxOr503(outcomes);
  expect(
    outcomes.filter((o) => o.status === 'dropped'),
    JSON.stringify(summary),
  ).toHaveLength(0);

  const before = outcomes.filter((o) => o.endedAt < stopping);
  const outage = outcomes.filter((o) => o.startedAt > stopped && o.endedAt < restarting);
  const after = outcomes.filter((o) => o.startedAt > readyAgain);
  for (const kind of ['click', 'webhook'] as const) {
    const of = (os: Outcome[]) => os.filter((o) => o.kind === kind);
    expect(of(before).length, `${kind}s before the outage ${JSON.stringify(summary)}`).toBeGreaterThan(5);
    expect(of(before).every((o) => o.status === 200)).toBe(true);
    expect(of(outage).length, `${kind}s during the outage ${JSON.stringify(summary)}`).toBeGreaterThan(5);
    expect(of(outage).map((o) => o.status)).toEqual(of(outage).map(() => 503));
    expect(of(after).length, `${kind}s after the outage ${JSON.stringify(summary)}`).toBeGreaterThan(5);
    expect(of(after).map((o) => o.status)).toEqual(of(after).map(() => 200));
  }
  expect(health.map((h) => h.status)).toEqual(health.map(() => 200));
  expect(health[0]!.body).toEqual({ status: 'ok' });
  expect(ready.map((r) => r.status)).toEqual(ready.map(() => 503));
  expect(ready.every((r) => Number(r.retryAfter) > 0 && r.body.error.code === 'database_unavailable')).toBe(true);

  const stored = await expectNothingAcknowledgedLost(ctx.handle, outcomes);
  expect(stored.clicks).toBeGreaterThan(10);
  expect(stored.events).toBeGreaterThan(10);

  server.child.kill('SIGTERM');
  expect(await server.exited, server.output()).toBe(0);
}, 180_000);

it('a killed embedded postmaster is restarted by the server, which then serves clicks and webhooks again', async () => {
  const dataDir = tempDir('partnerkit-dbkill-');
  const urlFile = path.join(dataDir, 'postgres.url');
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  const postmaster = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0);
  // After the server (cleanups run last first): a postmaster a failed test left behind.
  cleanups.push(() => {
    if (postmaster() > 0) process.kill(postmaster(), 'SIGINT');
  });
  const server = await startServer({ DATABASE_URL: '', DATA_DIR: dataDir });
  const databaseUrl = readFileSync(urlFile, 'utf8').trim();
  const killed = postmaster();
  expect(killed).toBeGreaterThan(0);
  const ctx = await setUp(databaseUrl);
  const first = load(server.url, ctx, '', 1, 0);
  await sleep(200);
  await first.stop();
  const referral = first.outcomes.find((o) => o.status === 200)!.id;

  const traffic = load(server.url, ctx, referral);
  await sleep(1500);
  process.kill(killed, 'SIGKILL');
  const health: Answer[] = [];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitUntil(
    async () => {
      health.push(await probe(server.url, '/healthz'));
      const pid = postmaster();
      return pid !== killed && pid > 0 && alive(pid) && (await probe(server.url, '/readyz')).status === 200;
    },
    60_000,
    () => `PostgreSQL was not restarted:\n${server.output()}`,
    server,
  );
  const readyAgain = Date.now();
  await sleep(1500);
  await traffic.stop();

  const outcomes = [...first.outcomes, ...traffic.outcomes];
  const summary = statuses(outcomes);
  expect(server.alive(), `the server process died:\n${server.output()}`).toBe(true);
  expect(server.output()).toMatch(/embedded PostgreSQL restarted/);
  expect(server.output()).not.toMatch(/Unhandled|uncaught/i);
  expectOnly2xxOr503(outcomes);
  expect(
    outcomes.filter((o) => o.status === 'dropped'),
    JSON.stringify(summary),
  ).toHaveLength(0);
  expect(health.map((h) => h.status)).toEqual(health.map(() => 200));
  const after = outcomes.filter((o) => o.startedAt > readyAgain);
  for (const kind of ['click', 'webhook'] as const) {
    const of = after.filter((o) => o.kind === kind);
    expect(of.length, `${kind}s after the restart ${JSON.stringify(summary)}`).toBeGreaterThan(5);
    expect(of.map((o) => o.status)).toEqual(of.map(() => 200));
  }
  await expectNothingAcknowledgedLost(ctx.handle, outcomes);
  await ctx.handle.close();

  // It stops the PostgreSQL it restarted, too: nothing left running, no stale URL file.
  server.child.kill('SIGTERM');
  expect(await server.exited, server.output()).toBe(0);
  expect(existsSync(urlFile)).toBe(false);
  expect(await isReachable(databaseUrl)).toBe(false);
}, 180_000);

it('Agenda on a PostgreSQL that goes away logs the failures, never throws them, and runs jobs again once it is back', async () => {
  // In this process: an uncaught 'error' event or unhandled rejection fails the vitest run.
  const dir = tempDir('partnerkit-dbagenda-');
  const pgOpts = { clusterDir: path.join(dir, 'pg'), persistent: true, urlFile: null };
  let postgres: PostgresServer = await startEmbeddedPostgres(pgOpts);
  cleanups.push(() => postgres.stop());
  const port = Number(new URL(postgres.url).port);
  const logs: string[] = [];
  const handle = openDatabase(postgres.url, 5, { log: (m) => logs.push(m) });
  cleanups.push(() => handle.close());
  await migrateToLatest(handle.db);
  const config = loadConfig({ DATABASE_URL: postgres.url, SECRET_KEY, JOBS: 'off', LOG_LEVEL: 'silent' });
  const services = createServices(handle.db, config);
  const logger = createLogger({ level: 'info', destination: functionDestination((m) => logs.push(m)) });
  // Polls every 200 ms, so the outage spans several lock attempts (each fails on the database).
  const scheduler = createScheduler({
    pool: handle.pool,
    commissions: services.commissions,
    logger,
    processEvery: 200,
  });
  cleanups.push(() => scheduler.stop(1000));
  let completed = 0;
  scheduler.agenda.on(`complete:${APPROVE_COMMISSIONS}`, () => completed++);
  await scheduler.start();
  await waitUntil(
    async () => completed > 0,
    20_000,
    () => `the job never ran: ${logs.join('\n')}`,
  );

  await postgres.stop();
  await sleep(2000);
  expect(logs.filter((l) => l.startsWith('Agenda: ')).length, logs.join('\n')).toBeGreaterThan(0);
  expect(logs.some((l) => l.includes('LISTEN connection lost'))).toBe(true);

  postgres = await startEmbeddedPostgres({ ...pgOpts, port });
  await waitUntil(
    async () => logs.some((l) => l.includes('LISTEN connection re-established')),
    20_000,
    () => `LISTEN was not re-established: ${logs.join('\n')}`,
  );
  const before = completed;
  await scheduler.agenda.now(APPROVE_COMMISSIONS);
  await waitUntil(
    async () => completed > before,
    20_000,
    () => `no job ran after the outage: ${logs.join('\n')}`,
  );
}, 120_000);
