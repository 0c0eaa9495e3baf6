/**
 * Issue 20, the console's Settings → Branding and API keys pages end to end in real Chromium against the real app
 * and PostgreSQL: the owner sets a logo and an accent colour (the live preview follows the typing), and the partner
 * login page (`/partner/login?program=…`, under the app's real CSP) shows that logo with the program's name as alt
 * text and buttons in that accent; the owner creates an API key, sees its secret once, calls the API with it (200),
 * revokes it after confirming, and the same call is refused (401). axe-core: no serious or critical violation on each
 * page; nothing scrolls sideways at 375 px; screenshots at 1280 and 375 px in `test-results/`.
 *
 * The logo is served by Playwright's request routing for `https://cdn.brand.test/…` (a stand-in for the merchant's
 * CDN: no network leaves the machine); the app itself is never faked.
 *
 * Needs the built dashboard and console (`npm run build`, which `npm test` runs first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { accessibilityProblems, launchChromium } from './browser.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { setupTokenFrom } from '../helpers/console.ts';
import { freePort } from '../../server/db/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const LOGO = 'https://cdn.brand.test/logo.svg';
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40"><rect width="160" height="40" rx="6" fill="#0a66c2"/><text x="12" y="27" font-family="sans-serif" font-size="20" fill="#fff">Brandco</text></svg>';

let app: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const logs: string[] = [];

/** Serve the merchant's logo for every page of `ctx` (the stand-in CDN). */
async function serveLogo(ctx: BrowserContext) {
  await ctx.route(LOGO, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG }));
}

/** Accessible, no sideways scrolling at 375 px, and screenshots at 1280 and 375 px. */
async function checkPage(p: Page, name: string) {
  await p.waitForSelector('h1');
  await p.waitForLoadState('networkidle');
  expect(await accessibilityProblems(p), `axe on ${name}`).toEqual([]);
  await p.screenshot({ path: path.join(RESULTS, `console-settings-${name}-1280.png`), fullPage: true });
  const size = p.viewportSize()!;
  await p.setViewportSize({ width: 375, height: 800 });
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `${name} at 375 px`).toBeLessThanOrEqual(375);
  await p.screenshot({ path: path.join(RESULTS, `console-settings-${name}-375.png`), fullPage: true });
  await p.setViewportSize(size);
}

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/console/index.html')), 'run `npm run build` first').toBe(true);
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  app = await startTestApp(
    { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    { log: (msg) => logs.push(msg) },
  );
  browser = await launchChromium();
  // bypassCSP: only so the test can inject axe-core; the partner page below is also opened without it.
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    bypassCSP: true,
  });
  await serveLogo(context);
  page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('console Settings → Branding and API keys in Chromium', () => {
  let programId = '';

  it('first run: the owner and the program', async () => {
    await page.goto(`${app.url}/app/setup?token=${setupTokenFrom(logs)}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Set up partnerkit');
    await page.getByLabel('Email').fill('owner@brand.test');
    await page.getByLabel('Password', { exact: true }).fill('a long owner password');
    await page.getByLabel('Program name').fill('Brandco');
    await page.getByLabel('Website').fill('https://brand.test');
    await page.getByLabel('Currency').fill('usd');
    await page.getByLabel('Stripe webhook signing secret').fill('whsec_e2e_brand_0123456789');
    await page.getByRole('button', { name: 'Create program' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Your program is ready');
    programId = (await app.db.selectFrom('programs').select('id').executeTakeFirstOrThrow()).id;
  });

  it('sets the logo and accent colour with a live preview, saved through PATCH /api/v1/program', async () => {
    await page.goto(`${app.url}/app/settings`);
    await expect.poll(() => page.getByRole('heading', { name: 'Branding' }).count()).toBe(1);
    await page.getByLabel('Logo URL').fill(LOGO);
    await page.getByLabel('Accent colour').fill('#0A66C2');
    const preview = page.getByRole('group', { name: 'Preview' });
    // The preview follows the typing: the logo with the program's name as alt text, the button in the accent.
    await expect.poll(() => preview.getByRole('img', { name: 'Brandco' }).getAttribute('src')).toBe(LOGO);
    const previewButton = preview.locator('.brand-preview-button');
    await expect
      .poll(() => previewButton.evaluate((el) => getComputedStyle(el).backgroundColor))
      .toBe('rgb(10, 102, 194)');
    expect(await previewButton.evaluate((el) => getComputedStyle(el).color)).toBe('rgb(255, 255, 255)');
    expect(await preview.textContent()).toContain('white, contrast 5.7:1');
    // A light accent turns the text black.
    await page.getByLabel('Accent colour').fill('#ffcc00');
    await expect.poll(() => previewButton.evaluate((el) => getComputedStyle(el).color)).toBe('rgb(0, 0, 0)');
    await page.getByLabel('Accent colour').fill('#0a66c2');
    await checkPage(page, 'settings');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Branding saved');
    const row = await app.db.selectFrom('programs').select(['logo_url', 'accent_color']).executeTakeFirstOrThrow();
    expect(row).toEqual({ logo_url: LOGO, accent_color: '#0a66c2' });
  });

  it('an http: logo is refused by the server, and the page says why', async () => {
    await page.getByLabel('Logo URL').fill('http://cdn.brand.test/logo.svg');
    await page.getByRole('button', { name: 'Save branding' }).click();
    await expect.poll(() => page.locator('form[aria-labelledby="branding-h"]').textContent()).toContain('https');
    await page.getByLabel('Logo URL').fill(LOGO);
    expect((await app.db.selectFrom('programs').select('logo_url').executeTakeFirstOrThrow()).logo_url).toBe(LOGO);
  });

  it('the partner login page shows the logo and the accent colour, under the app’s real CSP', async () => {
    const strict = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      await serveLogo(strict);
      const p = await strict.newPage();
      const blocked: string[] = [];
      p.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
      });
      await p.goto(`${app.url}/partner/login?program=${programId}`);
      await expect.poll(() => p.locator('h1').textContent()).toBe('Log in to the Brandco partner dashboard');
      const logo = p.getByRole('img', { name: 'Brandco' });
      await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(160);
      expect(await logo.getAttribute('src')).toBe(LOGO);
      const button = p.getByRole('button', { name: 'Log in' });
      expect(await button.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(10, 102, 194)');
      expect(await button.evaluate((el) => getComputedStyle(el).color)).toBe('rgb(255, 255, 255)');
      expect(
        await p.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--brand-accent').trim()),
      ).toBe('#0a66c2');
      expect(blocked).toEqual([]);
    } finally {
      await strict.close();
    }
    // The same page checked by axe (which needs the CSP bypassed to be injected).
    await page.goto(`${app.url}/partner/login?program=${programId}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to the Brandco partner dashboard');
    await checkPage(page, 'partner-login');
    // The apply page wears it too, and its "Log in" link keeps the program.
    await page.goto(`${app.url}/partner/${programId}/apply`);
    await expect.poll(() => page.getByRole('img', { name: 'Brandco' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Log in' }).getAttribute('href')).toBe(
      `/partner/login?program=${programId}`,
    );
  });

  it('creates an API key shown once, which opens the API until it is rotated (the new one works) and revoked', async () => {
    await page.goto(`${app.url}/app/api-keys`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('API keys');
    await page.getByLabel('Key name').fill('Zapier');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByLabel('New API key Zapier');
    await expect.poll(() => shown.count()).toBe(1);
    const key = await shown.inputValue();
    expect(key).toMatch(/^sk_pk_/);
    await expect.poll(() => page.getByRole('region', { name: 'API keys' }).locator('tbody tr').count()).toBe(2);
    await checkPage(page, 'api-keys');

    const call = () => fetch(`${app.url}/api/v1/program`, { headers: { authorization: `Bearer ${key}` } });
    expect((await call()).status).toBe(200);

    // Shown once: after a reload the secret is nowhere on the page, and the list shows the key's last use.
    await page.reload();
    await expect.poll(() => page.getByRole('region', { name: 'API keys' }).locator('tbody tr').count()).toBe(2);
    expect(await page.content()).not.toContain(key);
    const zapierRow = page.getByRole('region', { name: 'API keys' }).locator('tbody tr', { hasText: 'Zapier' });
    expect(await zapierRow.textContent()).not.toContain('Never');

    // Rotate: the new key (shown once) works at once, the old one is refused at once.
    await page.getByRole('button', { name: 'Rotate key Zapier' }).click();
    const rotatedField = page.getByLabel('New API key Zapier');
    await expect.poll(() => rotatedField.count()).toBe(1);
    const rotated = await rotatedField.inputValue();
    expect(rotated).toMatch(/^sk_pk_/);
    expect(rotated).not.toBe(key);
    expect((await call()).status).toBe(401);
    const callRotated = () => fetch(`${app.url}/api/v1/program`, { headers: { authorization: `Bearer ${rotated}` } });
    expect((await callRotated()).status).toBe(200);

    await page.getByRole('button', { name: 'Revoke key Zapier' }).click();
    await page.getByRole('button', { name: 'Yes, revoke Zapier' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Key “Zapier” revoked');
    const refused = await callRotated();
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('invalid_api_key');
    await page.getByLabel('Show').selectOption('revoked');
    await expect.poll(() => page.getByRole('region', { name: 'API keys' }).locator('tbody tr').count()).toBe(2);
    expect(await page.getByRole('region', { name: 'API keys' }).textContent()).toContain('Revoked');
  });
});
