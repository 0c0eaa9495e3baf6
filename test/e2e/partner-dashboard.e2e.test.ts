/**
 * The partner dashboard end to end in real Chromium (found by `chromium.ts`, driven by playwright-core) against the
 * real app, real PostgreSQL and signed Stripe webhooks: apply → approve via the admin API → set a password →
 * log in → see the numbers of a referred sale → create a link → payouts → log out.
 * Screenshots of the overview and payouts pages (desktop and phone) are saved to `test-results/`.
 *
 * Needs the built dashboard (`npm run build`, which `npm test` runs first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { accessibilityProblems, launchChromium } from './browser.ts';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutSale, clickReferral, type Shop } from '../helpers/fixtures.ts';
import type { CreatedProgram } from '../../server/programs/programs.service.ts';
import { freePort } from '../../server/db/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const SECRET = 'whsec_e2e_partner_dashboard';
const DAY = 86_400_000;

let app: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let program: CreatedProgram;
let admin: ReturnType<typeof adminClient>;

/** The shared fixtures over this file's shop: a click from a new visitor, a referred Checkout sale. */
const shop = (): Shop => ({ app, program, admin, website: 'https://acme.test', secret: SECRET });
const click = (code: string) => clickReferral(shop(), code);
const sale = (referral: string, amountTotal: number, created?: number) =>
  checkoutSale(shop(), referral, amountTotal, { created });

/** Every page the tests look at: accessible (axe-core, no serious or critical WCAG A/AA problem), and a screenshot. */
async function shot(name: string) {
  expect(await accessibilityProblems(page), `${name}: accessibility`).toEqual([]);
  // From the top, so the sticky header is where a person sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(RESULTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/index.html')), 'run `npm run build` first').toBe(true);
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  app = await startTestApp({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, TRUST_PROXY: 'on' });
  program = await app.services.programs.create({
    name: 'Acme Analytics',
    website: 'https://acme.test',
    stripeWebhookSecret: SECRET,
  });
  admin = adminClient(app, program.apiKey);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('partner dashboard in Chromium', () => {
  const email = 'jamie@creator.test';
  const password = 'blue kettle on a hill';
  let setPasswordUrl = '';
  let code = '';

  it('applies through the public page and is approved through the admin API', async () => {
    await page.goto(`${app.url}/partner/${program.id}/apply`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Join the Acme Analytics partner program');
    await page.getByLabel('Your name').fill('Jamie Creator');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Website').fill('https://creator.test');
    await page.getByLabel('How will you promote us?').fill('Weekly newsletter (12k readers) and YouTube reviews.');
    await shot('partner-apply');
    await page.getByRole('button', { name: 'Send application' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Thanks, your application is in');

    const pending = await admin.get('/api/v1/affiliates?status=pending');
    const applicant = pending.body.data.find((a: { email: string }) => a.email === email);
    expect(applicant).toMatchObject({
      name: 'Jamie Creator',
      status: 'pending',
      application: {
        website: 'https://creator.test',
        promotionMethod: 'Weekly newsletter (12k readers) and YouTube reviews.',
      },
    });
    const approved = await admin.post(`/api/v1/affiliates/${applicant.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.setPasswordUrl).toMatch(new RegExp(`^${app.url}/partner/#set-password=pt_`));
    setPasswordUrl = approved.body.setPasswordUrl;
    code = approved.body.affiliate.code;
  });

  it('sets a password from the one-time link and lands on the overview', async () => {
    await page.goto(setPasswordUrl);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome! Set your password');
    // The token leaves the address bar at once.
    expect(page.url()).not.toContain('set-password');
    await page.getByLabel('New password').fill(password);
    await page.getByLabel('Repeat the password').fill(password);
    await page.getByRole('button', { name: 'Set password and continue' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome, Jamie Creator');
    await expect.poll(() => page.getByText('No clicks yet').count()).toBe(1);
  });

  it('logs out and logs back in with email and password', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to your partner dashboard');
    await shot('partner-login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('wrong password here');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong email or password');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome, Jamie Creator');
    const cookie = (await context.cookies()).find((c) => c.name === 'pk_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  });

  it('works from the keyboard: skip link, navigation, focus on the new page, copy button', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
    await page.goto(`${app.url}/partner/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome, Jamie Creator');
    const focused = () =>
      page.evaluate(() => ({
        tag: document.activeElement?.tagName,
        id: document.activeElement?.id,
        text: document.activeElement?.textContent?.trim(),
      }));
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect((await focused()).id).toBe('main');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('Copy');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.copy-status').textContent()).toBe('Copied!');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(/^https:\/\/acme\.test\/\?ref=/);
    // Tab through the navigation to "Payouts" and open it with Enter: focus moves to the new page's heading.
    await page.getByRole('link', { name: 'Commissions' }).focus();
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('Payouts');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Payouts');
    await expect.poll(async () => (await focused()).tag).toBe('H1');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Payouts');
    // Back button works like a normal site.
    await page.goBack();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome, Jamie Creator');
  });

  it('shows the clicks, sale and commission of signed Stripe checkouts, matching the database to the cent', async () => {
    // Activity on earlier days (the app's clock moves back), then today: three clicks, two referred sales.
    const now = Date.now();
    app.advance(-12 * DAY);
    const early = await click(code);
    await sale(early, 12_900, Math.floor((now - 12 * DAY) / 1000));
    app.advance(7 * DAY);
    await click(code);
    app.advance(5 * DAY);
    await sale(await click(code), 4_900);

    await page.reload();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome, Jamie Creator');
    const tile = (label: string) =>
      page
        .locator('.tile', { has: page.locator('.tile-label', { hasText: new RegExp(`^${label}$`) }) })
        .locator('.tile-value');
    await expect.poll(() => tile('Clicks').textContent()).toBe('3');
    expect(await tile('Customers').textContent()).toBe('2');
    expect(await tile('Revenue referred').textContent()).toBe('$178.00');

    const sums = await app.db
      .selectFrom('commissions')
      .select((eb) => [eb.fn.sum<number>('amount').as('total')])
      .where(
        'affiliate_id',
        '=',
        (await app.db.selectFrom('affiliates').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id,
      )
      .where('status', 'in', ['pending', 'on_hold'])
      .executeTakeFirstOrThrow();
    expect(Number(sums.total)).toBe(1_780); // 10 % of 129.00 + 10 % of 49.00
    expect(await tile('Pending').textContent()).toBe('$17.80');
    expect(await tile('Conversion rate').textContent()).toBe('66.7%');

    // The chart is drawn (uPlot canvas) and its table lists the same days.
    await expect.poll(() => page.locator('.chart canvas').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: '90 days' }).click();
    await expect.poll(() => page.getByRole('button', { name: '90 days' }).getAttribute('aria-pressed')).toBe('true');
    await page.getByText('Show as a table').click();
    await expect.poll(() => page.locator('details table tbody tr').count()).toBe(90);
    const rows = await page
      .locator('details table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    // Newest first: today one click, one sale, $4.90; twelve days ago the $129.00 sale earned $12.90.
    expect(rows[0]!.slice(1)).toEqual(['1', '1', '$4.90']);
    expect(rows[12]!.slice(1)).toEqual(['1', '1', '$12.90']);
    expect(rows.reduce((sum, r) => sum + Number(r[1]), 0)).toBe(3);
    await page.getByText('Show as a table').click();
    await page.getByRole('button', { name: '30 days' }).click();
    await expect.poll(() => page.getByRole('button', { name: '30 days' }).getAttribute('aria-pressed')).toBe('true');
    await shot('partner-overview');

    // A window shrunk to a phone's width (no reload): the chart follows, nothing scrolls sideways.
    const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.setViewportSize({ width: 375, height: 844 });
    await expect.poll(sideways).toBeLessThanOrEqual(0);
    await expect
      .poll(() =>
        page
          .locator('.chart canvas')
          .first()
          .evaluate((c) => c.getBoundingClientRect().right),
      )
      .toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await expect.poll(() => tile('Clicks').textContent()).toBe('3');
    await expect.poll(sideways).toBeLessThanOrEqual(0);
    await expect.poll(() => page.locator('.chart canvas').count()).toBeGreaterThan(0);
    await shot('partner-overview-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('creates a tracking link on the merchant’s site and refuses one elsewhere', async () => {
    await page.getByRole('link', { name: 'Links' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Links');
    await expect.poll(() => page.getByText('No tracking links yet').count()).toBe(1);
    await page.getByLabel('Slug').fill('spring-sale');
    await page.getByLabel('Destination').fill('https://evil.test/');
    await page.getByRole('button', { name: 'Create link' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('destinationUrl must be a page of https://acme.test');
    await page.getByLabel('Destination').fill('https://acme.test/pricing');
    await page.getByLabel('Campaign / sub-ID').fill('newsletter-may');
    await page.getByRole('button', { name: 'Create link' }).click();
    const row = page.locator('table tbody tr', { hasText: 'spring-sale' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('newsletter-may');
    const stored = await app.db
      .selectFrom('links')
      .selectAll()
      .where('slug', '=', 'spring-sale')
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ destination_url: 'https://acme.test/pricing', campaign: 'newsletter-may' });
    await shot('partner-links');

    // A visit through the new link counts as a click of that link.
    const visit = await app.request('/r/spring-sale', {
      redirect: 'manual',
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) e2e-2' },
    });
    expect(visit.status).toBe(302);
    await page.reload();
    await expect
      .poll(async () =>
        (await page.locator('table tbody tr', { hasText: 'spring-sale' }).locator('td').nth(3).textContent())?.trim(),
      )
      .toBe('1');
  });

  it('lists commissions with rule and payable date, exports CSV, and shows payouts', async () => {
    await page.getByRole('link', { name: 'Commissions' }).click();
    await expect.poll(() => page.locator('table tbody tr').count()).toBe(2);
    expect(await page.locator('table tbody tr').first().textContent()).toContain('10% of 49.00 USD');
    await shot('partner-commissions');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const csv = await (await download).path();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(csv!, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'id,created_at,status,kind,rule,sale_amount,amount,currency,amount_minor,payable_at,paid_at,payout_id,customer',
    );
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.includes(',4.90,USD,490,'))).toBe(true);

    await page.getByRole('link', { name: 'Payouts' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Payouts');
    await expect.poll(() => page.getByText('No payouts yet').count()).toBe(1);
    await page.getByLabel('PayPal email').fill('jamie@paypal.test');
    await page.getByLabel('Your password').fill(password);
    await page.getByRole('button', { name: 'Save payout method' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);
    const stored = await app.db
      .selectFrom('affiliates')
      .select(['payout_method', 'payout_details'])
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ payout_method: 'paypal', payout_details: { email: 'jamie@paypal.test' } });
    expect(await page.getByRole('button', { name: 'Request payout' }).isDisabled()).toBe(true);
    await shot('partner-payouts');
    await page.setViewportSize({ width: 375, height: 844 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBe(0);
    await shot('partner-payouts-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('logs out: the dashboard asks for a login again and the old session is dead', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'pk_session')!;
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to your partner dashboard');
    await page.goto(`${app.url}/partner/payouts`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to your partner dashboard');
    const me = await app.request('/api/v1/partner/me', { headers: { cookie: `pk_session=${cookie.value}` } });
    expect(me.status).toBe(401);
  });
});
