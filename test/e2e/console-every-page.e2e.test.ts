/**
 * Every section of the merchant console, used with the keyboard alone, in real Chromium against the real app and
 * PostgreSQL: the first-run setup is filled in and sent with Tab, typing and Enter; then every link of the console's
 * navigation (read from the page, so a section added later is walked too) is reached with Shift+Tab from the page's
 * heading and opened with Enter. On each section: focus lands on its heading (a screen reader announces the new
 * page), axe-core reports no serious or critical violation, and after the same window is narrowed to 375 px (no
 * reload) nothing scrolls sideways. Screenshots at 1280 and 375 px: `test-results/console-section-*.png`.
 *
 * Needs the built console (`npm run build`, which `npm test` runs first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { accessibilityProblems, desktopPage, launchChromium } from './browser.ts';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, checkoutSale, clickReferral, type Shop } from '../helpers/fixtures.ts';
import { setupTokenFrom } from '../helpers/console.ts';
import { freePort } from '../../server/db/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const SECRET = 'whsec_e2e_keyboard_0123456789';

let app: TestApp;
let browser: Browser;
let page: Page;
const logs: string[] = [];

/** What a screen reader would call the focused element: its label (inputs), aria-label, or its text. */
function focusedName(): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return '';
    const labelled = (el as HTMLInputElement).labels?.[0];
    const text = labelled ? labelled.textContent : (el.getAttribute('aria-label') ?? el.textContent);
    return (text ?? '').replace(/\s+/g, ' ').trim();
  });
}

/** Presses Tab (or Shift+Tab) until the focused element is called `name`; fails after 80 presses. */
async function tabTo(name: string | RegExp, key: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  const matches = (n: string) => (typeof name === 'string' ? n === name || n.startsWith(`${name} `) : name.test(n));
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press(key);
    if (matches(await focusedName())) return;
  }
  throw new Error(`${key} never reached “${name}” (last focus: “${await focusedName()}”)`);
}

const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
const focusedTag = () => page.evaluate(() => document.activeElement?.tagName ?? '');

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  app = await startTestApp(
    { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    { log: (msg) => logs.push(msg) },
  );
  browser = await launchChromium();
  page = await desktopPage(browser);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('the merchant console with the keyboard alone', () => {
  let apiKey = '';

  it('first run: the setup form is filled in and sent without a mouse', async () => {
    await page.goto(`${app.url}/app/setup?token=${setupTokenFrom(logs)}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Set up partnerkit');
    const fill = async (label: string, value: string) => {
      await tabTo(label);
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.type(value);
    };
    await fill('Email', 'owner@keys.test');
    await fill('Password', 'a long keyboard password');
    await fill('Program name', 'Keys');
    await fill('Website', 'https://keys.test');
    await fill('Currency', 'usd');
    await fill('Stripe webhook signing secret', SECRET);
    await tabTo('Create program');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Your program is ready');
    apiKey = await page.getByLabel('API key').inputValue();
    expect(apiKey).toMatch(/^sk_pk_/);
    const owner = await app.db.selectFrom('console_users').select('email').executeTakeFirstOrThrow();
    expect(owner.email).toBe('owner@keys.test');
  });

  it('every section is reached with Shift+Tab and Enter, focus on its heading, accessible, no sideways scroll', async () => {
    // Something to show: an approved affiliate and a signed Stripe sale, so lists and the chart are not empty.
    const row = await app.db.selectFrom('programs').select(['id', 'public_key']).executeTakeFirstOrThrow();
    const program = { id: row.id, publicKey: row.public_key };
    const affiliate = await approvedAffiliate({ admin: adminClient(app, apiKey) }, { code: 'kim' });
    const shop = { app, program, secret: SECRET, website: 'https://keys.test' } as unknown as Shop;
    const referral = await clickReferral(shop, affiliate.code);
    await checkoutSale(shop, referral, 25_000);

    await page.goto(`${app.url}/app/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
    const sections = await page.locator('nav[aria-label="Console"] a').allTextContents();
    expect(sections.length).toBeGreaterThanOrEqual(7);
    for (const section of sections) {
      await expect.poll(focusedTag, { message: `focus on the heading before going to ${section}` }).toBe('H1');
      await tabTo(section, 'Shift+Tab');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('nav a[aria-current="page"]').textContent()).toBe(section);
      await expect.poll(focusedTag, { message: `focus after opening ${section}` }).toBe('H1');
      await page.waitForLoadState('networkidle');
      const slug = section.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      expect(await accessibilityProblems(page), `axe on ${section}`).toEqual([]);
      await page.screenshot({ path: path.join(RESULTS, `console-section-${slug}-1280.png`), fullPage: true });
      await page.setViewportSize({ width: 375, height: 800 });
      await expect.poll(sideways, { message: `${section} at 375 px after the window shrank` }).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(RESULTS, `console-section-${slug}-375.png`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.locator('h1').focus();
    }
  });

  it('“Skip to content” is reached from the heading with Shift+Tab, and Enter moves focus past the navigation', async () => {
    await page.goto(`${app.url}/app/payouts`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Payouts');
    await expect.poll(focusedTag).toBe('H1');
    await tabTo('Skip to content', 'Shift+Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
  });
});
