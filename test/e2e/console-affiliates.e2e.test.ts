/**
 * The console's Affiliates section end to end in real Chromium against the real app and PostgreSQL: the owner logs
 * in, imports a CSV of affiliates moving from another tool (one duplicate, one bad row), sees them in the list,
 * opens one's page (its numbers from a real click and a signed Stripe sale), rejects an applicant with a reason
 * (stored, shown), and downloads the CSV export. axe-core must report no serious or critical violation on every
 * page; at 375 px nothing scrolls sideways. Screenshots at 1280 and 375 px go to `test-results/affiliates-*.png`.
 *
 * Needs the built console (`npm run build`).
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
import { checkoutSale, clickReferral, type Shop } from '../helpers/fixtures.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const SECRET = 'whsec_e2e_console_affiliates_0123';
const OWNER = { email: 'owner@shop.test', password: 'a long owner password' };

let app: TestApp;
let browser: Browser;
let page: Page;
const logs: string[] = [];
const pagesSeen: string[] = [];
let programId = '';
let apiKey = '';

/** The page as a person sees it now: accessible (axe), and a desktop screenshot. */
async function checkPage(name: string) {
  await page.waitForSelector('h1');
  await page.waitForLoadState('networkidle');
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: path.join(RESULTS, `affiliates-${name}-1280.png`), fullPage: true });
  pagesSeen.push(`${name}|${new URL(page.url()).pathname}${new URL(page.url()).search}`);
}

const statusTexts = () => page.getByRole('status').allTextContents();

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/console/index.html')), 'run `npm run build` first').toBe(true);
  mkdirSync(RESULTS, { recursive: true });
  app = await startTestApp({ TRUST_PROXY: 'on' }, { log: (msg) => logs.push(msg) });
  const owner = consoleClient(app);
  const setup = await owner.call('POST', '/api/v1/console/setup', {
    token: setupTokenFrom(logs),
    ...OWNER,
    program: { name: 'Shop', website: 'https://shop.test', currency: 'usd', stripeWebhookSecret: SECRET },
  });
  expect(setup.status, JSON.stringify(setup.body)).toBe(201);
  programId = setup.body.program.id;
  apiKey = setup.body.program.apiKey;
  browser = await launchChromium();
  page = await desktopPage(browser, { downloads: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('console affiliates in Chromium', () => {
  it('logs in and sees the empty state', async () => {
    await logInToConsole(page, app.url, OWNER);
    await page.getByRole('link', { name: 'Affiliates' }).click();
    await expect.poll(() => page.locator('.empty-title').textContent()).toBe('No affiliates');
    await checkPage('empty');
  });

  it('imports a CSV: quoted names, a duplicate and a bad row reported per row', async () => {
    const csv = [
      'email,name,code',
      'ada@partners.test,"Lovelace, Ada",ada',
      'bob@partners.test,"Bob ""B"" Builder",',
      'ada@partners.test,Ada again,',
      'not-an-email,Nobody,',
    ].join('\n');
    await page.getByRole('button', { name: 'Import CSV' }).click();
    await page
      .getByLabel('CSV file')
      .setInputFiles({ name: 'old-tool.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(statusTexts).toContain('Imported: 2 created, 1 skipped, 1 with errors.');
    const problems = page.getByRole('region', { name: 'Rows not imported' });
    await expect.poll(() => problems.locator('tbody tr').count()).toBe(2);
    expect(await problems.locator('tbody').textContent()).toContain('duplicate in file');
    const list = page.getByRole('region', { name: 'Affiliates' });
    await expect.poll(() => list.locator('tbody tr').count()).toBe(2);
    expect(await list.locator('tbody').textContent()).toContain('Lovelace, Ada');
    expect(await list.locator('tbody').textContent()).toContain('Bob "B" Builder');
    await checkPage('imported');
  });

  it('opens an affiliate’s page with its click, sale and commission', async () => {
    const ada = await app.db.selectFrom('affiliates').selectAll().where('code', '=', 'ada').executeTakeFirstOrThrow();
    const shop = { app, program: { id: programId, publicKey: '' }, website: 'https://shop.test', secret: SECRET };
    const program = await app.db.selectFrom('programs').select('public_key').executeTakeFirstOrThrow();
    shop.program.publicKey = program.public_key;
    await checkoutSale(shop as unknown as Shop, await clickReferral(shop as unknown as Shop, 'ada'), 20_000);

    await page.getByRole('link', { name: 'Lovelace, Ada' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Lovelace, Ada');
    expect(new URL(page.url()).pathname).toBe(`/app/affiliates/${ada.id}`);
    expect(await page.locator('nav [aria-current="page"]').textContent()).toBe('Affiliates');
    const numbers = page.getByRole('region', { name: 'Numbers' });
    await expect.poll(() => numbers.textContent()).toContain('Clicks1');
    expect(await numbers.textContent()).toContain('$200.00');
    await expect.poll(() => page.getByRole('region', { name: 'Sales' }).locator('tbody tr').count()).toBe(1);
    expect(await page.getByRole('region', { name: 'Commissions' }).locator('tbody tr').count()).toBe(1);
    expect(await page.getByRole('region', { name: 'About' }).textContent()).toContain(
      'Not set yet (the affiliate chooses it)',
    );
    await checkPage('detail');
    // A rate override: a percentage rule for this affiliate alone, tried before the program's.
    await page.getByLabel('Rate override (%)').fill('25');
    await page.getByRole('button', { name: 'Add override' }).click();
    await expect.poll(statusTexts).toContain('Lovelace, Ada now earns 25 % on sales');
    const rule = await app.db
      .selectFrom('commission_rules')
      .select(['affiliate_id', 'type', 'rate_bps'])
      .where('affiliate_id', '=', ada.id)
      .executeTakeFirstOrThrow();
    expect(rule).toEqual({ affiliate_id: ada.id, type: 'percentage', rate_bps: 2500 });
    expect(await page.getByRole('region', { name: 'Commission rate' }).textContent()).toContain(
      'Rate for Lovelace, Ada',
    );
    // An unknown id is a page that says so.
    await page.goto(`${app.url}/app/affiliates/aff_nope`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Affiliate not found');
  });

  it('rejects an applicant with a reason, which is kept and shown', async () => {
    const admin = adminClient(app, apiKey);
    const applied = await admin.post('/api/v1/affiliates', { email: 'cal@partners.test', name: 'Cal Coupon' });
    expect(applied.status).toBe(201);
    await page.goto(`${app.url}/app/affiliates?status=pending`);
    await expect.poll(() => page.getByRole('region', { name: 'Affiliates' }).locator('tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Reject Cal Coupon' }).click();
    await page.getByLabel('Reason').fill('Coupon sites are not allowed, see our terms');
    await checkPage('reject');
    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    await expect.poll(statusTexts).toContain('Cal Coupon rejected');
    const row = await app.db
      .selectFrom('affiliates')
      .select(['status', 'rejection_reason'])
      .where('id', '=', applied.body.affiliate.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'rejected', rejection_reason: 'Coupon sites are not allowed, see our terms' });
    await page.getByLabel('Status').selectOption('rejected');
    await expect.poll(() => page.url()).toContain('status=rejected');
    await expect
      .poll(() => page.getByRole('region', { name: 'Affiliates' }).textContent())
      .toContain('Reason: Coupon sites are not allowed, see our terms');
  });

  it('sorts by name and downloads the CSV export of what it shows', async () => {
    await page.goto(`${app.url}/app/affiliates`);
    await page.getByLabel('Sort').selectOption('name:asc');
    await expect.poll(() => page.url()).toContain('sort=name');
    const names = () =>
      page.getByRole('region', { name: 'Affiliates' }).locator('tbody tr td:first-child').allTextContents();
    await expect.poll(names).toEqual(['Bob "B" Builder', 'Cal Coupon', 'Lovelace, Ada']);
    await checkPage('sorted');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^affiliates-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = parse(readFileSync(await download.path(), 'utf8')) as string[][];
    expect(rows[0]!.slice(0, 5)).toEqual(['id', 'email', 'name', 'code', 'status']);
    expect(rows.slice(1).map((r) => r[2])).toEqual(['Bob "B" Builder', 'Cal Coupon', 'Lovelace, Ada']);
    expect(rows.find((r) => r[2] === 'Lovelace, Ada')!.slice(7, 9)).toEqual(['2000', 'usd']);
    await expect.poll(statusTexts).toContain('Affiliates CSV downloaded');
  });

  it('no page scrolls sideways at 375 px', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const seen of pagesSeen) {
      const [name, p] = seen.split('|') as [string, string];
      await page.goto(`${app.url}${p}`);
      await page.waitForSelector('h1');
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${p} at 375 px`).toBeLessThanOrEqual(375);
      expect(await accessibilityProblems(page), `axe on ${name} at 375 px`).toEqual([]);
      await page.screenshot({ path: path.join(RESULTS, `affiliates-${name}-375.png`), fullPage: true });
    }
  });
});
