/**
 * The console's Commissions section end to end in real Chromium against the real app and PostgreSQL: real signed
 * Stripe sales (test mode) make commissions, one of them held by the fraud check; the merchant logs in, sees them
 * by status with the hold reason, opens one (its rule, its history, its payment linked to the Stripe test
 * Dashboard), selects all on the page and approves them in one go, and downloads the CSV. axe-core must report no
 * serious or critical violation on any page; nothing scrolls sideways at 375 px. Screenshots at 1280 and 375 px go
 * to `test-results/console-commissions-*.png`.
 *
 * Needs the built console (`npm run build`, which `npm test` runs first).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, desktopPage, launchChromium, logInToConsole } from './browser.ts';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { consoleClient, setupTokenFrom } from '../helpers/console.ts';
import { approvedAffiliate, checkoutSale, clickReferral, type Shop } from '../helpers/fixtures.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const SECRET = 'whsec_e2e_commissions_0123456789';
const OWNER = { email: 'owner@desk.test', password: 'a long owner password' };

let app: TestApp;
let browser: Browser;
let page: Page;
let shop: Shop;
const logs: string[] = [];
const pagesSeen: [string, string][] = [];

/** axe on the page as it is, a desktop screenshot, and the page remembered for the 375 px pass. */
async function checkPage(name: string) {
  await page.waitForSelector('h1');
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(RESULTS, `console-commissions-${name}-1280.png`), fullPage: true });
  const url = new URL(page.url());
  pagesSeen.push([name, url.pathname + url.search]);
}

/** A test-mode (`livemode: false`) signed Checkout sale referred by `code`; `email` is the customer's. */
async function sale(code: string, amount: number, email?: string) {
  const referral = await clickReferral(shop, code);
  await checkoutSale(shop, referral, amount, {
    edit: (event) => {
      event.livemode = false;
      event.data.object.livemode = false;
      if (email) event.data.object.customer_details = { ...event.data.object.customer_details, email };
    },
  });
}

const commissions = () =>
  app.db
    .selectFrom('commissions')
    .innerJoin('conversions', 'conversions.id', 'commissions.conversion_id')
    .select(['commissions.id', 'commissions.status', 'commissions.amount', 'conversions.stripe_payment_intent_id'])
    .orderBy('commissions.amount')
    .execute();

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/console/index.html')), 'run `npm run build` first').toBe(true);
  mkdirSync(RESULTS, { recursive: true });
  app = await startTestApp({ TRUST_PROXY: 'on' }, { log: (msg) => logs.push(msg) });
  // First run through the console API (the setup page itself is console.e2e.test.ts's walk).
  const owner = consoleClient(app);
  const setup = await owner.call('POST', '/api/v1/console/setup', {
    token: setupTokenFrom(logs),
    ...OWNER,
    program: { name: 'Desk', website: 'https://desk.test', currency: 'usd', stripeWebhookSecret: SECRET },
  });
  expect(setup.status, JSON.stringify(setup.body)).toBe(201);
  const { id, apiKey } = setup.body.program;
  shop = {
    app,
    program: { id, apiKey, publicKey: setup.body.program.publicKey },
    admin: adminClient(app, apiKey),
    website: 'https://desk.test',
    secret: SECRET,
  } as unknown as Shop;
  const rule = await shop.admin.post('/api/v1/commission-rules', {
    name: 'Spring 20%',
    type: 'percentage',
    rateBps: 2000,
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  const alice = await approvedAffiliate(shop, { code: 'alice', name: 'Alice Archer' });
  const bob = await approvedAffiliate(shop, { code: 'bob', name: 'Bob Baker' });
  await sale('alice', 10_000);
  await sale('bob', 20_000);
  await sale('alice', 30_000);
  // Paid with the affiliate's own e-mail: held by the fraud check.
  await sale('bob', 40_000, bob.email);
  expect(alice.id).toBeTruthy();

  browser = await launchChromium();
  page = await desktopPage(browser, { downloads: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('console commissions in Chromium', () => {
  it('the merchant logs in and sees the pending commissions of the Stripe sales', async () => {
    await logInToConsole(page, app.url, OWNER);
    await page.getByRole('link', { name: 'Commissions' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    // 20 % of each sale, named by affiliate.
    const text = await page.locator('tbody').textContent();
    expect(text).toContain('$20.00');
    expect(text).toContain('$60.00');
    expect(text).toContain('Alice Archer');
    await checkPage('list');

    await page.getByLabel('Affiliate (name, e-mail or code)').fill('baker');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url()).toContain('search=baker');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Affiliate (name, e-mail or code)').fill('nobody');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('.empty-title').textContent()).toBe('No commissions');
    await checkPage('empty');
  });

  it('shows the held one with its fraud reason', async () => {
    await page.goto(`${app.url}/app/commissions?status=on_hold`);
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody').textContent()).toContain('the customer’s e-mail is the affiliate’s own');
    await checkPage('on-hold');
  });

  it('opens a commission: its rule, its history and its payment in the Stripe test Dashboard', async () => {
    await page.goto(`${app.url}/app/commissions?status=pending&sort=amount`);
    await page.getByRole('link', { name: /^Commission of \$20\.00 for Alice Archer/ }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Commission of $20.00');
    const first = (await commissions())[0]!;
    expect(page.url()).toBe(`${app.url}/app/commissions/${first.id}`);
    expect(await page.locator('main').textContent()).toContain('Spring 20%: 20%');
    const history = page.getByRole('region', { name: 'History' });
    expect(await history.locator('tbody tr').count()).toBe(1);
    expect(await history.locator('tbody').textContent()).toContain('stripe');
    expect(await page.getByRole('heading', { name: 'Stripe (test mode)' }).count()).toBe(1);
    const payment = page.getByRole('link', { name: new RegExp(`^Payment ${first.stripe_payment_intent_id}`) });
    expect(await payment.getAttribute('href')).toBe(
      `https://dashboard.stripe.com/test/payments/${first.stripe_payment_intent_id}`,
    );
    await checkPage('detail');
  });

  it('selects all on the page and approves them in one go', async () => {
    await page.getByRole('link', { name: '← All commissions' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Select all on this page').check();
    await expect.poll(() => page.getByText('3 selected').count()).toBe(1);
    await page.getByRole('button', { name: 'Approve selected' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('3 approved');
    expect((await commissions()).map((c) => c.status)).toEqual(['approved', 'approved', 'approved', 'on_hold']);
    const merchant = await app.db
      .selectFrom('commission_events')
      .select(['commission_id'])
      .where('actor', '=', 'merchant')
      .execute();
    expect(merchant).toHaveLength(3);
    await expect.poll(() => page.locator('.empty-title').textContent()).toBe('No commissions');

    await page.getByLabel('Status').selectOption('approved');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    await checkPage('approved');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^commissions-\d{4}-\d{2}-\d{2}\.csv$/);
    const [header, ...rows] = parse(readFileSync(await download.path(), 'utf8')) as string[][];
    expect(rows.map((r) => r[header!.indexOf('amount')]).sort()).toEqual(['20.00', '40.00', '60.00']);
  });

  it('a commission’s page after approval shows the merchant’s step; nothing scrolls sideways at 375 px', async () => {
    const first = (await commissions())[0]!;
    await page.goto(`${app.url}/app/commissions/${first.id}`);
    const history = page.getByRole('region', { name: 'History' });
    await expect.poll(() => history.locator('tbody tr').count()).toBe(2);
    expect(await history.locator('tbody').textContent()).toContain('merchant');
    await page.setViewportSize({ width: 375, height: 800 });
    for (const [name, p] of [...pagesSeen, ['detail-approved', `/app/commissions/${first.id}`] as [string, string]]) {
      await page.goto(`${app.url}${p}`);
      await page.waitForSelector('h1');
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${p} at 375 px`).toBeLessThanOrEqual(375);
      await page.screenshot({ path: path.join(RESULTS, `console-commissions-${name}-375.png`), fullPage: true });
    }
    expect(await accessibilityProblems(page)).toEqual([]);
  });
});
