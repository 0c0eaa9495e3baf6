/**
 * The merchant console end to end in real Chromium against the real app, real PostgreSQL and signed Stripe
 * webhooks: first start (the setup link in the log) → setup → the onboarding checklist turns green by itself after
 * a real snippet click on the merchant's site (the tag copied from the checklist) and a signed Stripe sale →
 * approve the commission → pay all due. On every page axe-core must report no serious or critical violation, and
 * at 375 px nothing may scroll sideways. Screenshots at 1280 and 375 px go to `test-results/console-*.png`.
 *
 * Needs the built console and snippet (`npm run build`, which `npm test` runs first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { accessibilityProblems, launchChromium, newVisitor } from './browser.ts';
import { startMerchantSite, type MerchantSite } from './fixtures/merchant-site.ts';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, checkoutSale, type Shop } from '../helpers/fixtures.ts';
import { savePayoutMethod } from '../helpers/commissions.ts';
import { setupTokenFrom } from '../helpers/console.ts';
import { builtSnippet } from '../snippet/build.ts';
import { freePort } from '../../server/db/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const SECRET = 'whsec_e2e_console_0123456789';

let app: TestApp;
let site: MerchantSite;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const logs: string[] = [];
const pagesSeen: string[] = [];

/** Checks the page a person now looks at: accessible (axe), and a desktop screenshot. */
async function checkPage(name: string) {
  await page.waitForSelector('h1');
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(RESULTS, `console-${name}-1280.png`), fullPage: true });
  pagesSeen.push(new URL(page.url()).pathname + new URL(page.url()).search);
}

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/console/index.html')), 'run `npm run build` first').toBe(true);
  builtSnippet();
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  app = await startTestApp(
    { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, TRUST_PROXY: 'on' },
    { log: (msg) => logs.push(msg) },
  );
  site = await startMerchantSite();
  browser = await launchChromium(['MAP *.shop.test 127.0.0.1']);
  // bypassCSP: only so the test can inject axe-core; the app's own pages run under its strict CSP otherwise.
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    bypassCSP: true,
  });
  page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await app?.stop();
});

describe('merchant console in Chromium', () => {
  const website = () => `http://www.shop.test:${site.port}`;
  let apiKey = '';
  let programId = '';
  let affiliate: { id: string; code: string };
  let referral = '';

  it('first run: the logged setup link creates the owner and the program', async () => {
    await page.goto(`${app.url}/app/setup?token=${setupTokenFrom(logs)}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Set up partnerkit');
    await checkPage('setup');
    await page.getByLabel('Email').fill('owner@shop.test');
    await page.getByLabel('Password', { exact: true }).fill('a long owner password');
    await page.getByLabel('Program name').fill('Shop');
    await page.getByLabel('Website').fill(website());
    await page.getByLabel('Currency').fill('usd');
    await page.getByLabel('Stripe webhook signing secret').fill(SECRET);
    await page.getByRole('button', { name: 'Create program' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Your program is ready');
    apiKey = await page.getByLabel('API key').inputValue();
    expect(apiKey).toMatch(/^sk_pk_/);
    programId = (await app.db.selectFrom('programs').select('id').executeTakeFirstOrThrow()).id;
    // The same link does not work twice.
    const again = await fetch(`${app.url}/api/v1/console/setup`);
    expect(await again.json()).toEqual({ needed: false });
  });

  it('the onboarding checklist turns green after a real snippet click and a signed Stripe sale', async () => {
    await page.getByRole('link', { name: 'Continue to Get started' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Get started');
    const state = (step: string) => page.locator(`[data-step="${step}"] [data-state]`).getAttribute('data-state');
    await expect.poll(() => state('webhook')).toBe('done');
    expect(await state('click')).toBe('waiting');
    expect(await state('event')).toBe('waiting');
    await checkPage('onboarding');

    // The merchant pastes the tag exactly as the checklist shows it (and its Copy button puts on the clipboard).
    const snippet = await page.getByLabel('Snippet tag').inputValue();
    expect(snippet).toContain(`${app.url}/pk.js`);
    const admin = adminClient(app, apiKey);
    affiliate = await approvedAffiliate({ admin }, { code: 'alice' });
    site.publish('/pricing', 'landing.html', { SNIPPET: snippet, PORT: String(site.port), EU_PATH: '/eu' });
    const visitor = await newVisitor(browser);
    try {
      await visitor.page.goto(`${website()}/pricing?ref=alice`);
      await visitor.page.waitForFunction(() => {
        const r = document.documentElement.getAttribute('data-referral');
        return r && r !== 'none';
      });
      referral = (await visitor.page.evaluate(() => document.documentElement.getAttribute('data-referral')))!;
    } finally {
      await visitor.close();
    }
    await expect.poll(() => state('click'), { timeout: 10_000 }).toBe('done');

    const shop = { app, program: { id: programId }, secret: SECRET } as unknown as Shop;
    await checkoutSale(shop, referral, 100_000);
    await expect.poll(() => state('event'), { timeout: 10_000 }).toBe('done');
    await expect
      .poll(() => page.locator('[data-step="event"] p').textContent())
      .toContain('checkout.session.completed');
  });

  it('the overview shows the day’s click and sale', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect
      .poll(() => page.locator('.tile-value').allTextContents())
      .toEqual(['1', '0', '1', '$1,000.00', '$100.00']);
    await page.waitForSelector('.chart canvas');
    await checkPage('overview');
  });

  it('finds the affiliate by search', async () => {
    await page.getByRole('link', { name: 'Affiliates' }).click();
    await page.getByLabel('Search name, e-mail or code').fill('alice');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url()).toContain('search=alice');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await checkPage('affiliates');
  });

  it('approves the commission', async () => {
    await page.getByRole('link', { name: 'Commissions' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await checkPage('commissions');
    await page.getByRole('button', { name: /^Approve commission/ }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Commission approved');
    const c = await app.db.selectFrom('commissions').select(['status', 'amount']).executeTakeFirstOrThrow();
    expect(c).toEqual({ status: 'approved', amount: 10_000 });
  });

  it('pays all due', async () => {
    // The affiliate chose PayPal in the partner dashboard.
    await savePayoutMethod(app, affiliate.id, 'paypal', { email: 'alice@paypal.test' });
    await page.getByRole('link', { name: 'Payouts' }).click();
    await expect.poll(() => page.locator('#due-h + * tbody tr').count()).toBe(1);
    await checkPage('payouts');
    await page.getByRole('button', { name: 'Pay all due' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('1 payout created');
    const payouts = await app.db.selectFrom('payouts').select(['amount', 'method', 'status']).execute();
    expect(payouts).toEqual([{ amount: 10_000, method: 'paypal', status: 'processing' }]);
    await expect.poll(() => page.getByRole('region', { name: 'Payout history' }).locator('tbody tr').count()).toBe(1);
  });

  it('downloads the PayPal Payouts file of the run, then marks the payout paid with its reference', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /^Download the PayPal file \(USD\): 1 payout/ }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8');
    // One PayPal Payouts row: the affiliate's PayPal e-mail and 100.00 USD (the commission, in major units).
    expect(csv).toContain('alice@paypal.test');
    expect(csv).toMatch(/100\.00,USD/);
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Downloaded a file of 1 payout');

    await page.getByRole('button', { name: /^Mark payout .+ paid$/ }).click();
    await page.getByLabel('Payment reference').fill('PAYPAL-BATCH-42');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Payout marked paid');
    const paid = await app.db.selectFrom('payouts').select(['status', 'reference']).executeTakeFirstOrThrow();
    expect(paid).toEqual({ status: 'completed', reference: 'PAYPAL-BATCH-42' });
    const commission = await app.db.selectFrom('commissions').select('status').executeTakeFirstOrThrow();
    expect(commission.status).toBe('paid');
    await page.getByLabel('Status').selectOption('completed');
    await expect.poll(() => page.url()).toContain('status=completed');
    await expect.poll(() => page.getByRole('region', { name: 'Payout history' }).locator('tbody tr').count()).toBe(1);
    await checkPage('payouts-history');
  });

  it('settings save through PATCH /api/v1/program', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Hold period (days)').fill('14');
    await checkPage('settings');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Settings saved');
    expect((await app.db.selectFrom('programs').select('hold_days').executeTakeFirstOrThrow()).hold_days).toBe(14);
  });

  it('invites a viewer, who reads the program but whose changes the server refuses', async () => {
    await page.getByRole('link', { name: 'Team' }).click();
    await page.getByLabel('E-mail').fill('viewer@shop.test');
    await page.getByRole('button', { name: 'Invite' }).click();
    const link = page.getByLabel('One-time invitation link for viewer@shop.test');
    await expect.poll(() => link.count()).toBe(1);
    const inviteUrl = await link.inputValue();
    expect(inviteUrl).toContain('/app/#invite=');
    await checkPage('team');

    const viewer = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      const vp = await viewer.newPage();
      await vp.goto(inviteUrl);
      await vp.getByLabel('Choose a password').fill('viewer password 123');
      await vp.getByRole('button', { name: 'Join' }).click();
      await expect.poll(() => vp.locator('h1').textContent()).toBe('Overview');
      expect(await vp.locator('.topbar').textContent()).toContain('Viewer');
      await vp.getByRole('link', { name: 'Payouts' }).click();
      await expect.poll(() => vp.getByRole('button', { name: 'Pay all due' }).count()).toBe(1);
      expect(await vp.getByRole('button', { name: 'Pay all due' }).isDisabled()).toBe(true);
      // The page hides the button; the server is what refuses: the same write from the viewer's session is a 403.
      const refused = await vp.evaluate(async () => {
        const me = await (await fetch('/api/v1/console/me')).json();
        const r = await fetch('/api/v1/payouts/pay-all', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
          body: '{}',
        });
        return { status: r.status, body: await r.json() };
      });
      expect(refused).toEqual({ status: 403, body: { error: { code: 'read_only', message: expect.any(String) } } });
    } finally {
      await viewer.close();
    }
  });

  it('serves the console precompressed, with hashed assets cached immutably', async () => {
    const html = await fetch(`${app.url}/app/`, { headers: { 'accept-encoding': 'br' } });
    expect(html.headers.get('content-encoding')).toBe('br');
    expect(html.headers.get('cache-control')).toBe('no-cache');
    const script = /\/app\/assets\/app-[0-9a-f]+\.js/.exec(await html.text())![0];
    const js = await fetch(`${app.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('no page scrolls sideways at 375 px, and the login page is accessible', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const p of pagesSeen.filter((x) => !x.startsWith('/app/setup'))) {
      await page.goto(`${app.url}${p}`);
      await page.waitForSelector('h1');
      await page.waitForLoadState('networkidle');
      const name = p.replace(/^\/app\/?/, '').replace(/\?.*$/, '') || 'overview';
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${p} at 375 px`).toBeLessThanOrEqual(375);
      await page.screenshot({ path: path.join(RESULTS, `console-${name}-375.png`), fullPage: true });
    }
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to the console');
    expect(await accessibilityProblems(page)).toEqual([]);
  });
});
