/**
 * The console's Stripe page end to end in real Chromium against the real app, real PostgreSQL and a real signed
 * Stripe fixture event delivered to the webhook route: the merchant logs in, sees the event in the inbox, filters
 * by status, opens its payload, replays it (still one conversion and one commission), adds a webhook signing secret
 * and retires the old one (after a confirmation; an event signed with the retired one is then refused), sets a
 * restricted key and tests the connection against the loopback fake of Stripe's API; a viewer sees no write control
 * and the server refuses their replay (403 `read_only`). axe-core: no serious or
 * critical violation; at 375 px nothing scrolls sideways. Screenshots at 1280 and 375 px in `test-results/`.
 *
 * Needs the built console (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { accessibilityProblems, launchChromium, logInToConsole } from './browser.ts';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, clickReferral, type Shop } from '../helpers/fixtures.ts';
import { consoleClient, setupTokenFrom } from '../helpers/console.ts';
import { checkoutCompleted, deliver } from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { freePort } from '../../server/db/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const SECRET = 'whsec_e2e_stripe_page_0123456789';
const NEW_SECRET = 'whsec_e2e_stripe_rolled_9876543210';
const KEY = 'rk_test_e2eStripePage0001';
const EMAIL = 'owner@shop.test';
const PASSWORD = 'a long owner password';

let app: TestApp;
let fake: FakeStripeApi;
let browser: Browser;
let page: Page;
let programId = '';
let apiKey = '';
const logs: string[] = [];

/** axe on the page as it is now, and a desktop screenshot `console-stripe-<name>-1280.png`. */
async function checkPage(name: string) {
  await page.waitForSelector('h1');
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: path.join(RESULTS, `console-stripe-${name}-1280.png`), fullPage: true });
}

const events = () => page.getByRole('region', { name: 'Stripe events' }).locator('tbody tr');
const count = async (table: 'conversions' | 'commissions') =>
  (await app.db.selectFrom(table).select('id').where('program_id', '=', programId).execute()).length;

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/console/index.html')), 'run `npm run build` first').toBe(true);
  mkdirSync(RESULTS, { recursive: true });
  fake = await startFakeStripeApi();
  const port = await freePort();
  app = await startTestApp(
    { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, TRUST_PROXY: 'on' },
    { log: (msg) => logs.push(msg), stripeEndpoint: fake.endpoint },
  );
  // First run through the console's setup API (the browser walk of setup is console.e2e.test.ts's).
  const setup = await consoleClient(app).call('POST', '/api/v1/console/setup', {
    token: setupTokenFrom(logs),
    email: EMAIL,
    password: PASSWORD,
    program: { name: 'Shop', website: 'https://www.shop.test', currency: 'usd', stripeWebhookSecret: SECRET },
  });
  expect(setup.status, JSON.stringify(setup.body)).toBe(201);
  programId = setup.body.program.id;
  apiKey = setup.body.program.apiKey;
  browser = await launchChromium();
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await fake?.close();
});

describe('the console’s Stripe page in Chromium', () => {
  let saleEventId = '';

  it('logs in and sees a real signed event delivered to the webhook route', async () => {
    const shop = { app, program: { id: programId, publicKey: '' }, admin: adminClient(app, apiKey) } as unknown as Shop;
    const program = await app.db.selectFrom('programs').select('public_key').executeTakeFirstOrThrow();
    shop.program.publicKey = program.public_key;
    (shop as { website: string }).website = 'https://www.shop.test';
    const affiliate = await approvedAffiliate(shop, { code: 'alice' });
    const referral = await clickReferral(shop, affiliate.code);
    const sale = checkoutCompleted({ referral, amountTotal: 50_000, currency: 'usd' });
    saleEventId = sale.id;
    expect((await deliver(app.url, programId, sale, SECRET)).status).toBe(200);
    const expired = checkoutCompleted({ referral });
    expired.type = 'checkout.session.expired';
    expect((await deliver(app.url, programId, expired, SECRET)).status).toBe(200);
    await app.services.stripeWebhooks.idle();
    expect([await count('conversions'), await count('commissions')]).toEqual([1, 1]);

    await logInToConsole(page, app.url, { email: EMAIL, password: PASSWORD });
    await page.getByRole('link', { name: 'Stripe' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Stripe');
    await expect.poll(() => events().count()).toBe(2);
    expect(await page.getByLabel('Webhook endpoint URL').inputValue()).toBe(
      `${app.url}/api/v1/webhooks/stripe/${programId}`,
    );
    expect(await events().allTextContents()).toEqual([
      expect.stringContaining('checkout.session.expiredIgnored unhandled_type'),
      expect.stringContaining('checkout.session.completedProcessed'),
    ]);
    await checkPage('inbox');
  });

  it('filters by status and opens the payload', async () => {
    await page.getByLabel('Status').selectOption('processed');
    await expect.poll(() => page.url()).toContain('status=processed');
    await expect.poll(() => events().count()).toBe(1);
    await page.getByRole('button', { name: `View payload of event ${saleEventId}` }).click();
    const payload = page.getByLabel('Payload', { exact: true });
    await expect.poll(() => payload.count()).toBe(1);
    const shown = JSON.parse((await payload.textContent())!);
    expect(shown).toMatchObject({ id: saleEventId, type: 'checkout.session.completed' });
    expect(shown.data.object.amount_total).toBe(50_000);
    await checkPage('payload');
  });

  it('replays the event: still one conversion and one commission', async () => {
    await page
      .getByRole('region', { name: `Event ${saleEventId}` })
      .getByRole('button', { name: `Replay event ${saleEventId}` })
      .click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain(`Event ${saleEventId} replayed`);
    const row = await app.db
      .selectFrom('stripe_events')
      .select(['status', 'attempts'])
      .where('id', '=', saleEventId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'processed', attempts: 2 });
    expect([await count('conversions'), await count('commissions')]).toEqual([1, 1]);
    await expect.poll(() => events().first().textContent()).toContain('Processed');
  });

  it('adds a webhook signing secret and retires the old one after a confirmation', async () => {
    const secrets = page.getByRole('region', { name: 'Webhook signing secrets' }).locator('tbody tr');
    await expect.poll(() => secrets.count()).toBe(1);
    await page.getByLabel('New signing secret').fill(NEW_SECRET);
    await page.getByRole('button', { name: 'Add secret' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Secret added');
    await expect.poll(() => secrets.count()).toBe(2);
    await page.getByRole('button', { name: 'Retire secret whsec_…6789' }).click();
    // Nothing is retired before the confirmation.
    expect(
      await app.db
        .selectFrom('stripe_webhook_secrets')
        .select('revoked_at')
        .where('revoked_at', 'is not', null)
        .execute(),
    ).toEqual([]);
    await checkPage('retire-confirm');
    await page.getByRole('button', { name: 'Yes, retire it' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Secret whsec_…6789 retired');
    await expect.poll(() => secrets.allTextContents()).toContainEqual(expect.stringContaining('Retired'));
    // The retired secret no longer opens the webhook route; the new one does.
    const refused = await deliver(app.url, programId, checkoutCompleted({}), SECRET);
    expect(refused.status).toBe(400);
    expect((await deliver(app.url, programId, checkoutCompleted({}), NEW_SECRET)).status).toBe(200);
  });

  it('shows the permissions, sets a restricted key and tests the connection against Stripe', async () => {
    const permissions = page.getByRole('list', { name: 'Permissions the key needs' });
    expect(await permissions.textContent()).toContain('Checkout Sessions: Read');
    await page.getByLabel('Restricted key').fill(KEY);
    await page.getByRole('button', { name: 'Save key' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Key saved');
    await expect.poll(() => page.getByText('A test mode key is set.').count()).toBe(1);
    const from = fake.requests.length;
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect
      .poll(() => page.getByRole('status').allTextContents())
      .toContain('Connected to Stripe (test mode): every read the webhooks need is allowed');
    expect(fake.requests.slice(from).every((r) => r.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(fake.requests.length - from).toBe(5);
    // A key without Checkout Sessions read: the test names what is missing.
    fake.denied.add('checkout');
    try {
      await page.getByRole('button', { name: 'Test connection' }).click();
      await expect
        .poll(() => page.getByRole('alert').allTextContents())
        .toContain('The key works but lacks: Checkout Sessions: Read');
    } finally {
      fake.denied.clear();
    }
    await checkPage('key');
  });

  it('the onboarding checklist has the same key step: set, green by itself, and its Test connection works', async () => {
    await page.getByRole('link', { name: 'Get started' }).click();
    const step = page.locator('[data-step="stripe-key"]');
    await expect.poll(() => step.locator('[data-state]').getAttribute('data-state')).toBe('done');
    expect(await step.getByRole('list', { name: 'Permissions the key needs' }).textContent()).toContain(
      'Invoices: Read',
    );
    const from = fake.requests.length;
    await step.getByRole('button', { name: 'Test connection' }).click();
    await expect
      .poll(() => step.getByRole('status').allTextContents())
      .toContain('Connected to Stripe (test mode): every read the webhooks need is allowed');
    expect(fake.requests.length - from).toBe(5);
    await checkPage('onboarding-key');
  });

  it('a viewer sees the page without write controls, and the server refuses their replay', async () => {
    const { inviteUrl } = await app.services.console.addMember(programId, {
      email: 'viewer@shop.test',
      role: 'viewer',
    });
    const accepted = await consoleClient(app).call('POST', '/api/v1/console/invite/accept', {
      token: new URL(inviteUrl!).hash.replace('#invite=', ''),
      password: 'viewer password 123',
    });
    expect(accepted.status).toBe(200);
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      const vp = await viewer.newPage();
      await logInToConsole(vp, app.url, { email: 'viewer@shop.test', password: 'viewer password 123' });
      await vp.getByRole('link', { name: 'Stripe' }).click();
      await expect.poll(() => vp.getByRole('region', { name: 'Stripe events' }).locator('tbody tr').count()).toBe(3);
      expect(await vp.getByRole('button', { name: /^Replay event/ }).count()).toBe(0);
      expect(await vp.getByRole('button', { name: /^Retire secret/ }).count()).toBe(0);
      expect(await vp.getByRole('button', { name: 'Test connection' }).count()).toBe(0);
      await expect.poll(() => vp.getByText('Viewers cannot change the key.').count()).toBe(1);
      const refused = await vp.evaluate(async (id) => {
        const me = await (await fetch('/api/v1/console/me')).json();
        const r = await fetch(`/api/v1/stripe-events/${id}/replay`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
          body: '{}',
        });
        return { status: r.status, body: await r.json() };
      }, saleEventId);
      expect(refused).toEqual({ status: 403, body: { error: { code: 'read_only', message: expect.any(String) } } });
    } finally {
      await viewer.close();
    }
  });

  it('no sideways scroll at 375 px', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const [name, q] of [
      ['inbox', ''],
      ['payload', `?event=${saleEventId}`],
    ] as const) {
      await page.goto(`${app.url}/app/stripe${q}`);
      await page.waitForSelector('h1');
      await page.waitForLoadState('networkidle');
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(375);
      expect(await accessibilityProblems(page), `axe at 375 px on ${name}`).toEqual([]);
      await page.screenshot({ path: path.join(RESULTS, `console-stripe-${name}-375.png`), fullPage: true });
    }
  });
});
