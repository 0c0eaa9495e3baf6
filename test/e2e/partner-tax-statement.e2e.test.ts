/**
 * Tax details and payout statements in real Chromium against the real app and PostgreSQL: the partner fills in the
 * tax form on the Account page (with the password) and sees the tax id only masked, also after a reload; on the
 * Payouts page the statement links of a completed payout open the printable page (escaped names, masked tax id,
 * the commission's amount) and download the CSV.
 *
 * Needs the built dashboard (`npm run build`, which `npm test` runs first).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/db/postgres.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { savePayoutMethod } from '../helpers/commissions.ts';
import { approvedAffiliate, checkoutSale, clickReferral, openShop, type Shop } from '../helpers/fixtures.ts';
import { launchChromium } from './browser.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSWORD = 'green teapot by the sea';
const TAX_ID = '12-3456789';

let app: TestApp;
let browser: Browser;
let page: Page;
let shop: Shop;
let partner: { id: string; code: string; setPasswordUrl: string };
let payoutId = '';

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/index.html')), 'run `npm run build` first').toBe(true);
  const port = await freePort();
  app = await startTestApp({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, TRUST_PROXY: 'on' });
  shop = await openShop(app, { name: 'Acme <Tools> & Co' });
  partner = await approvedAffiliate(shop, { name: 'Robin Writer' });
  // One referred sale, approved and paid out (PayPal, marked paid by the merchant).
  await checkoutSale(shop, await clickReferral(shop, partner.code), 42_000);
  await app.services.commissions.approveDue({ programId: shop.program.id, skipHold: true });
  await savePayoutMethod(app, partner.id, 'paypal', { email: 'robin@paypal.test' });
  const created = await shop.admin.post('/api/v1/payouts', { affiliateId: partner.id });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  payoutId = created.body.payout.id;
  expect((await shop.admin.post(`/api/v1/payouts/${payoutId}/complete`, { reference: 'PP-778' })).status).toBe(200);

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('tax details and statements in Chromium', () => {
  it('saves the tax details with the password and shows the tax id masked only', async () => {
    await page.goto(partner.setPasswordUrl);
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password and continue' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Welcome, Robin Writer');

    await page.getByRole('link', { name: 'Account' }).first().click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Account');
    await expect.poll(() => page.getByText('No tax details on file yet.').count()).toBe(1);
    await page.getByLabel('Legal name').fill('Robin Writer LLC');
    await page.getByLabel('Country').fill('us');
    await page.getByLabel('Tax ID').fill(TAX_ID);
    // A wrong password is refused, and nothing is saved.
    await page.getByLabel('Your password', { exact: true }).fill('not my password');
    await page.getByRole('button', { name: 'Save tax details' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('password');
    await page.getByLabel('Your password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Save tax details' }).click();
    await expect.poll(() => page.getByText('Saved. Tax ID on file: •••• 6789.').count()).toBe(1);
    expect(await page.getByLabel('Tax ID').inputValue()).toBe('');

    await page.reload();
    await expect
      .poll(() => page.locator('.tax-on-file').textContent())
      .toBe('On file: Robin Writer LLC (US), tax ID •••• 6789.');
    expect(await page.getByLabel('Legal name').inputValue()).toBe('Robin Writer LLC');
    expect(await page.content()).not.toContain(TAX_ID);
  });

  it('links each payout to its printable statement and its CSV', async () => {
    await page.getByRole('link', { name: 'Payouts' }).first().click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Payouts');
    const print = page.getByRole('link', { name: `Printable statement ${payoutId}` });
    await expect.poll(() => print.count()).toBe(1);
    await expect.poll(() => page.getByRole('heading', { name: 'Yearly earnings' }).count()).toBe(1);

    const [statement] = await Promise.all([page.context().waitForEvent('page'), print.click()]);
    await statement.waitForLoadState();
    expect(await statement.locator('h1').textContent()).toBe('Payout statement');
    const body = (await statement.locator('body').textContent()) ?? '';
    expect(body).toContain('Acme <Tools> & Co');
    expect(body).toContain('•••• 6789');
    expect(body).toContain('42.00 USD');
    expect(body).toContain('PP-778');
    expect(body).not.toContain(TAX_ID);
    // The name was text, not markup: no <tools> element on the page.
    expect(await statement.locator('tools').count()).toBe(0);
    await statement.close();

    const href = await page.getByRole('link', { name: `Statement ${payoutId} as CSV` }).getAttribute('href');
    const csv = await page.evaluate(async (url) => {
      const r = await fetch(url!);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    expect(csv.text).toContain(payoutId);
    expect(csv.text).toContain('42.00,USD,4200');
  });
});
