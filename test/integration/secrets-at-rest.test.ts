/**
 * Secrets at rest over real HTTP, PostgreSQL and the real CLI: programs' Stripe keys and webhook signing secrets
 * are stored encrypted (never the plain text, never returned by the admin API), webhooks still verify with every
 * active secret, plain-text rows of an older version are encrypted at start-up, `SECRET_KEY` rotates with
 * `SECRET_KEY_PREVIOUS` + `secrets rotate`, and a wrong key is a clear error, never a silent pass.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type RunningApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { down as unmigrate0011 } from '../../server/db/migrations/0011_secrets_encrypted_at_rest.ts';
import { createSecretBox, SecretDecryptionError } from '../../server/lib/secrets.ts';
import { freshDatabaseUrl } from '../helpers/db.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { checkoutSession, deliver, freshId } from '../helpers/stripe.ts';

const root = path.resolve(import.meta.dirname, '../..');
const KEY_1 = 'first-secret-key-first-secret-key-0001';
const KEY_2 = 'second-secret-key-second-secret-key-002';
const KEY_3 = 'third-secret-key-never-used-for-these-03';
const WHSEC_1 = 'whsec_atrest1RealLookingSigningSecret000001';
const WHSEC_2 = 'whsec_atrest2RealLookingSigningSecret000002';
const RK = 'rk_test_atRestRestrictedKey000000000001';

let fake: FakeStripeApi;
const running: { stop(): Promise<void> }[] = [];
beforeAll(async () => {
  fake = await startFakeStripeApi();
});
afterAll(async () => {
  for (const app of running) await app.stop().catch(() => {});
  await fake?.close();
});

/** The app on `databaseUrl` with these keys; `logs` collects what it logged. */
async function start(databaseUrl: string, keys: { current: string; previous?: string }, logs: string[] = []) {
  const app = createApp(
    loadConfig({
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      SECRET_KEY: keys.current,
      SECRET_KEY_PREVIOUS: keys.previous,
      JOBS: 'off',
      LOG_LEVEL: 'silent',
    }),
    { stripeEndpoint: fake.endpoint, log: (msg) => logs.push(msg) },
  );
  const r: RunningApp = await app.start();
  running.push(app);
  return { ...r, stop: app.stop };
}

function cli(databaseUrl: string, env: Record<string, string>, ...args: string[]) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl, NO_COLOR: '1', SECRET_KEY_PREVIOUS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

type App = Awaited<ReturnType<typeof start>>;

/** Every stored secret value, as the database holds it. */
async function stored(app: App) {
  const keys = await app.db.selectFrom('programs').select(['id', 'stripe_api_key']).execute();
  const secrets = await app.db.selectFrom('stripe_webhook_secrets').select(['id', 'program_id', 'secret']).execute();
  return [...keys.flatMap((k) => (k.stripe_api_key ? [k.stripe_api_key] : [])), ...secrets.map((s) => s.secret)].sort();
}

/** The whole text of both tables, to look for a plain-text secret anywhere in them. */
async function tablesText(app: App): Promise<string> {
  const { rows } = await sql<{ t: string }>`
    SELECT (SELECT coalesce(json_agg(p), '[]')::text FROM programs p)
        || (SELECT coalesce(json_agg(s), '[]')::text FROM stripe_webhook_secrets s) AS t`.execute(app.db);
  return rows[0]!.t;
}

/** A program with both webhook secrets and the Stripe key, made through the public surfaces. */
async function seed(app: App) {
  const created = await app.services.programs.create({
    name: 'Acme',
    website: 'https://acme.test',
    stripeWebhookSecret: WHSEC_1,
  });
  await app.services.programs.addWebhookSecret(created.id, WHSEC_2);
  await app.services.programs.addWebhookSecret(created.id, WHSEC_1); // already active: stored once
  const admin = (method: string, body?: unknown) =>
    fetch(`${app.url}/api/v1/program`, {
      method,
      headers: { authorization: `Bearer ${created.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  expect((await admin('PATCH', { stripeApiKey: RK })).status).toBe(200);
  return { programId: created.id, admin };
}

/** A checkout without a referral: processing reads the customer from Stripe with the program's key. */
async function saleReadingStripe(app: App, programId: string, secret: string) {
  const customer = freshId('cus');
  fake.customers.set(customer, { id: customer, object: 'customer', metadata: {} });
  const from = fake.requests.length;
  const res = await deliver(app.url, programId, checkoutSession({ customer, referral: null }), secret);
  await app.services.stripeWebhooks.idle();
  return { status: res.status, body: res.body, stripeCalls: fake.requests.slice(from) };
}

describe('stored secrets', () => {
  it('are encrypted in the database, never returned by the admin API, and still verify webhooks and reach Stripe', async () => {
    const app = await start(await freshDatabaseUrl(), { current: KEY_1 });
    const { programId, admin } = await seed(app);

    const values = await stored(app);
    expect(values).toHaveLength(3);
    for (const v of values) {
      expect(v).toMatch(/^v1:[A-Za-z0-9_-]{40,}$/);
      // Not an encoding of the plain text either.
      const bytes = Buffer.from(v.slice(3), 'base64url').toString('latin1');
      for (const plain of [WHSEC_1, WHSEC_2, RK]) expect(bytes).not.toContain(plain.slice(6, 20));
    }
    const text = await tablesText(app);
    for (const plain of [WHSEC_1, WHSEC_2, RK, 'atrest', 'atRest']) expect(text).not.toContain(plain);

    const settings = await admin('GET');
    expect(settings.status).toBe(200);
    const shown = await settings.text();
    expect(JSON.parse(shown).program.stripeApiKeySet).toBe(true);
    for (const plain of [WHSEC_1, WHSEC_2, RK, 'v1:']) expect(shown).not.toContain(plain);

    for (const secret of [WHSEC_1, WHSEC_2]) {
      const sale = await saleReadingStripe(app, programId, secret);
      expect(sale.status).toBe(200);
      expect(sale.stripeCalls.map((c) => c.authorization)).toEqual([`Bearer ${RK}`]);
    }
    const forged = await deliver(app.url, programId, checkoutSession({}), 'whsec_notOneOfTheProgramsSecrets');
    expect(forged).toMatchObject({ status: 400, body: { error: { code: 'invalid_signature' } } });
    await app.stop();
  });

  it('are encrypted at start-up when an older version left them in plain text', async () => {
    const databaseUrl = await freshDatabaseUrl();
    let app = await start(databaseUrl, { current: KEY_1 });
    const created = await app.services.programs.create({ name: 'Old', website: 'https://old.test' });
    // The database as the version before migration 0011 left it: no constraint, plain-text values.
    await unmigrate0011(app.db as unknown as Kysely<unknown>);
    await sql`DELETE FROM kysely_migration WHERE name = '0011_secrets_encrypted_at_rest'`.execute(app.db);
    await app.db.updateTable('programs').set({ stripe_api_key: RK }).where('id', '=', created.id).execute();
    await app.db
      .insertInto('stripe_webhook_secrets')
      .values({ id: 'whs_legacy', program_id: created.id, secret: WHSEC_1 })
      .execute();
    await app.stop();

    const logs: string[] = [];
    app = await start(databaseUrl, { current: KEY_1 }, logs);
    expect(logs).toContain('secrets: encrypted 2 stored secret(s) that were in plain text');
    expect(await tablesText(app)).not.toContain('atrest');
    for (const v of await stored(app)) expect(v).toMatch(/^v1:/);
    const sale = await saleReadingStripe(app, created.id, WHSEC_1);
    expect(sale.status).toBe(200);
    expect(sale.stripeCalls.map((c) => c.authorization)).toEqual([`Bearer ${RK}`]);
    // The constraint is back: nothing writes plain text any more.
    await expect(
      app.db.updateTable('programs').set({ stripe_api_key: RK }).where('id', '=', created.id).execute(),
    ).rejects.toThrow(/programs_stripe_api_key_sealed/);
    await app.stop();
  });
});

describe('rotating SECRET_KEY', { timeout: 90_000 }, () => {
  it('opens with SECRET_KEY_PREVIOUS, re-encrypts with `secrets rotate`, and refuses a wrong key clearly', async () => {
    const databaseUrl = await freshDatabaseUrl();
    let app = await start(databaseUrl, { current: KEY_1 });
    const { programId } = await seed(app);
    const before = await stored(app);
    await app.stop();

    // A new key alone: the start stops with an error that says what to do.
    const refused = start(databaseUrl, { current: KEY_2 });
    await expect(refused).rejects.toBeInstanceOf(SecretDecryptionError);
    await expect(refused).rejects.toThrow(/3 stored secret\(s\) of 1 program\(s\) .*SECRET_KEY_PREVIOUS/);

    // New key + the old one as previous: everything works, nothing is rewritten behind the operator's back.
    const logs: string[] = [];
    app = await start(databaseUrl, { current: KEY_2, previous: KEY_1 }, logs);
    expect(logs.join('\n')).toContain('3 stored secret(s) open only with SECRET_KEY_PREVIOUS');
    expect((await saleReadingStripe(app, programId, WHSEC_2)).stripeCalls).toHaveLength(1);
    expect(await stored(app)).toEqual(before);

    // Rotation with the wrong previous key fails loudly and changes nothing.
    const wrong = await cli(databaseUrl, { SECRET_KEY: KEY_2, SECRET_KEY_PREVIOUS: KEY_3 }, 'secrets', 'rotate');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('open with neither SECRET_KEY nor SECRET_KEY_PREVIOUS');
    expect(await stored(app)).toEqual(before);

    // The real rotation, while the server runs.
    const rotate = await cli(
      databaseUrl,
      { SECRET_KEY: KEY_2, SECRET_KEY_PREVIOUS: KEY_1 },
      'secrets',
      'rotate',
      '--json',
    );
    expect(rotate.stderr).toBe('');
    expect(rotate.status).toBe(0);
    expect(JSON.parse(rotate.stdout)).toEqual({
      sealed: 0,
      reencrypted: 3,
      current: 0,
      changed: 0,
      failed: 0,
      taxIds: { reencrypted: 0, current: 0, changed: 0, failed: 0 },
    });
    const after = await stored(app);
    for (const v of after) expect(before).not.toContain(v);
    const again = await cli(databaseUrl, { SECRET_KEY: KEY_2 }, 'secrets', 'rotate', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ reencrypted: 0, current: 3 });
    await app.stop();

    // The previous key can go: the new one alone opens everything.
    app = await start(databaseUrl, { current: KEY_2 });
    for (const secret of [WHSEC_1, WHSEC_2]) {
      const sale = await saleReadingStripe(app, programId, secret);
      expect(sale.status).toBe(200);
      expect(sale.stripeCalls.map((c) => c.authorization)).toEqual([`Bearer ${RK}`]);
    }
    await app.stop();
  });

  it('answers a webhook 503 secrets_unreadable (never a pass; Stripe retries) when a stored secret no longer opens, and stores nothing', async () => {
    const app = await start(await freshDatabaseUrl(), { current: KEY_1 });
    const a = await seed(app);
    const b = await app.services.programs.create({ name: 'Other', website: 'https://other.test' });
    // Program A's sealed secret copied onto program B: bound to A, it does not open for B.
    const [copied] = await app.db
      .selectFrom('stripe_webhook_secrets')
      .select('secret')
      .where('program_id', '=', a.programId)
      .execute();
    await app.db
      .insertInto('stripe_webhook_secrets')
      .values({ id: 'whs_copied', program_id: b.id, secret: copied!.secret })
      .execute();
    const event = checkoutSession({});
    for (const secret of [WHSEC_1, WHSEC_2]) {
      const res = await deliver(app.url, b.id, event, secret);
      expect(res).toMatchObject({ status: 503, body: { error: { code: 'secrets_unreadable' } } });
    }
    const inbox = await app.db.selectFrom('stripe_events').select('id').where('program_id', '=', b.id).execute();
    expect(inbox).toEqual([]);
    await app.stop();
  });
});

describe('the secret box', () => {
  const box = createSecretBox({ secretKey: KEY_1, secretKeyPrevious: null });

  it('seals each value with a fresh nonce and opens it only for its purpose and program, unaltered', () => {
    const a = box.seal('stripe_webhook_secret', WHSEC_1, 'prg_a');
    const b = box.seal('stripe_webhook_secret', WHSEC_1, 'prg_a');
    expect(a).not.toBe(b);
    expect(box.open('stripe_webhook_secret', a, 'prg_a')).toBe(WHSEC_1);
    expect(() => box.open('stripe_webhook_secret', a, 'prg_b')).toThrow(SecretDecryptionError);
    expect(() => box.open('stripe_api_key', a, 'prg_a')).toThrow(SecretDecryptionError);
    const bytes = Buffer.from(a.slice(3), 'base64url');
    for (const at of [0, 12, 28, bytes.length - 1]) {
      const altered = Buffer.from(bytes);
      altered[at]! ^= 1;
      expect(() => box.open('stripe_webhook_secret', `v1:${altered.toString('base64url')}`, 'prg_a')).toThrow(
        /Cannot decrypt the stripe_webhook_secret of prg_a with SECRET_KEY: .*SECRET_KEY_PREVIOUS/,
      );
    }
    expect(() => box.open('stripe_webhook_secret', 'v1:', 'prg_a')).toThrow(SecretDecryptionError);
    expect(() => box.open('stripe_webhook_secret', WHSEC_1, 'prg_a')).toThrow(/plain text/);
  });

  it('opens values of the previous key, and seals with the current one only', () => {
    const old = box.seal('stripe_api_key', RK, 'prg_a');
    const rotated = createSecretBox({ secretKey: KEY_2, secretKeyPrevious: KEY_1 });
    expect(rotated.unseal('stripe_api_key', old, 'prg_a')).toEqual({ plaintext: RK, key: 'previous' });
    const fresh = rotated.seal('stripe_api_key', RK, 'prg_a');
    expect(rotated.unseal('stripe_api_key', fresh, 'prg_a')).toEqual({ plaintext: RK, key: 'current' });
    expect(() => box.open('stripe_api_key', fresh, 'prg_a')).toThrow(SecretDecryptionError);
  });
});
