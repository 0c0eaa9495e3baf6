/**
 * The console's commission rules page in real Chromium against the real app and PostgreSQL: the owner logs in,
 * creates a rule (a server validation error shown on its field first), edits it, previews a sale by an affiliate
 * and reads the amount the rules engine gives (the cap applied), deletes the rule; a viewer sees the page with every
 * button disabled and the server refuses their writes (403 `read_only`), but they may preview a sale. axe-core must report no
 * serious or critical violation; nothing scrolls sideways at 375 px. Screenshots: `test-results/console-rules-*.png`.
 *
 * Needs the built console (`npm run build`, which `npm test` runs first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { accessibilityProblems, launchChromium, logInToConsole } from './browser.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { consoleClient, setupTokenFrom } from '../helpers/console.ts';
import { freePort } from '../../server/db/postgres.ts';
import type { ProgramRow } from '../../server/db/schema.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const OWNER = { email: 'owner@rules.test', password: 'a long owner password' };
const VIEWER = { email: 'viewer@rules.test', password: 'a long viewer password' };

let app: TestApp;
let browser: Browser;
let program: ProgramRow;
const logs: string[] = [];

/** axe, no sideways scroll at 375 px, and screenshots at 1280 and 375 px. */
async function checkPage(page: Page, name: string) {
  await page.waitForSelector('h1');
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(RESULTS, `console-rules-${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  try {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${name} at 375 px`).toBeLessThanOrEqual(375);
    expect(await accessibilityProblems(page), `axe on ${name} at 375 px`).toEqual([]);
    await page.screenshot({ path: path.join(RESULTS, `console-rules-${name}-375.png`), fullPage: true });
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
}

async function logIn(who: { email: string; password: string }): Promise<Page> {
  // bypassCSP: only so the test can inject axe-core; the app's own pages run under its strict CSP otherwise.
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    bypassCSP: true,
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await logInToConsole(page, app.url, who);
  return page;
}

const activeRules = () =>
  app.db.selectFrom('commission_rules').selectAll().where('archived_at', 'is', null).orderBy('created_at').execute();

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dashboard/dist/console/index.html')), 'run `npm run build` first').toBe(true);
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  app = await startTestApp(
    { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    { log: (msg) => logs.push(msg) },
  );
  // First run through the console API (the setup page itself is console.e2e's), then an affiliate and a viewer.
  const owner = consoleClient(app);
  const setup = await owner.call('POST', '/api/v1/console/setup', {
    token: setupTokenFrom(logs),
    ...OWNER,
    program: { name: 'Acme', website: 'https://rules.test', currency: 'usd' },
  });
  expect(setup.status, JSON.stringify(setup.body)).toBe(201);
  program = (await app.db.selectFrom('programs').selectAll().executeTakeFirstOrThrow()) as ProgramRow;
  await app.services.affiliates.create(program, { email: 'alice@partners.test', name: 'Alice', status: 'approved' });
  const { inviteUrl } = await app.services.console.addMember(program.id, { email: VIEWER.email, role: 'viewer' });
  const accepted = await consoleClient(app).call('POST', '/api/v1/console/invite/accept', {
    token: /#invite=(.+)$/.exec(inviteUrl!)![1],
    password: VIEWER.password,
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBeLessThan(300);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('console: commission rules', () => {
  let page: Page;

  it('shows the empty list', async () => {
    page = await logIn(OWNER);
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Commission rules');
    await expect.poll(() => page.locator('.empty-title').textContent()).toBe('No rules');
    await checkPage(page, 'empty');
  });

  it('creates a rule, after the server’s validation error is shown on its field', async () => {
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Name').fill('Partners');
    await form.getByLabel('Priority').fill('10');
    await form.getByLabel('Pays').selectOption('flat');
    await form.getByRole('button', { name: 'Create rule' }).click();
    // No flat amount: the server's message, with the field's label, and the field marked invalid.
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/^Flat amount: is required for a flat rule/);
    expect(await form.getByLabel('Flat amount').getAttribute('aria-invalid')).toBe('true');
    expect(await activeRules()).toEqual([]);

    await form.getByLabel('Pays').selectOption('percentage');
    await form.getByLabel('Rate (%)').fill('25');
    await form.getByLabel('Maximum').fill('USD 200.00');
    await checkPage(page, 'editor');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Rule "Partners" created');
    expect(await activeRules()).toMatchObject([
      { name: 'Partners', priority: 10, type: 'percentage', rate_bps: 2_500, max_amounts: { usd: 20_000 } },
    ]);
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').textContent()).toContain('25% (max $200.00)');
  });

  it('edits it', async () => {
    await page.getByRole('button', { name: 'Edit Partners' }).click();
    const form = page.getByRole('form', { name: 'Edit rule "Partners"' });
    await form.getByLabel('Rate (%)').fill('30');
    await form.getByLabel('Recurring payments').selectOption('months');
    await form.getByLabel('Months paid').fill('12');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Rule "Partners" saved');
    expect(await activeRules()).toMatchObject([
      { name: 'Partners', rate_bps: 3_000, recurring: 'months', recurring_months: 12, max_amounts: { usd: 20_000 } },
    ]);
    expect(await page.locator('tbody tr').textContent()).toContain('Months 1–12, then nothing');
  });

  it('previews a sale: 30 % of $1,000.00 by Alice is capped at $200.00', async () => {
    const form = page.getByRole('form', { name: 'Preview a sale' });
    await form.getByLabel('Sale amount').fill('1000.00');
    await form.getByLabel('Affiliate').selectOption({ label: 'Alice (alice@partners.test)' });
    await form.getByRole('button', { name: 'Preview' }).click();
    const result = page.locator('[data-preview]');
    await expect
      .poll(() => result.textContent())
      .toContain('A sale of $1,000.00 by Alice earns $200.00 by rule "Partners".');
    expect(await result.textContent()).toContain('capped at its maximum');
    // Past the rule's 12 months the same sale earns nothing.
    await form.getByLabel('Payment month').fill('13');
    await form.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => result.textContent()).toContain('earns $0.00 by rule "Partners"');
    await checkPage(page, 'preview');
  });

  it('deletes it (archived: past commissions keep it)', async () => {
    await page.getByRole('button', { name: 'Delete Partners' }).click();
    await page.getByRole('button', { name: 'Delete "Partners"' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContain('Rule "Partners" deleted');
    expect(await activeRules()).toEqual([]);
    const all = await app.db.selectFrom('commission_rules').select('archived_at').execute();
    expect(all).toHaveLength(1);
    expect(all[0]!.archived_at).not.toBeNull();
    await expect.poll(() => page.locator('.empty-title').textContent()).toBe('No rules');
    // Still listed with the deleted ones, without actions.
    await page.getByLabel('Show').selectOption('true');
    await expect.poll(() => page.url()).toContain('archived=true');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').textContent()).toContain('Deleted');
    expect(await page.getByRole('button', { name: 'Edit Partners' }).count()).toBe(0);
    await checkPage(page, 'deleted');
  });

  it('a viewer sees the rules read-only, the server refuses their changes, and they may preview a sale', async () => {
    await app.services.commissionRules.create(program, { name: 'Launch', type: 'percentage', rateBps: 2_000 });
    const vp = await logIn(VIEWER);
    try {
      await vp.getByRole('link', { name: 'Rules', exact: true }).click();
      await expect.poll(() => vp.locator('tbody tr').count()).toBe(1);
      expect(await vp.getByRole('button', { name: 'New rule' }).isDisabled()).toBe(true);
      expect(await vp.getByRole('button', { name: 'Edit Launch' }).isDisabled()).toBe(true);
      expect(await vp.getByRole('button', { name: 'Delete Launch' }).isDisabled()).toBe(true);
      const preview = vp.getByRole('form', { name: 'Preview a sale' });
      await preview.getByLabel('Sale amount').fill('50.00');
      await preview.getByRole('button', { name: 'Preview' }).click();
      // 20% of $50.00 by the Launch rule, computed by the server for the viewer (it writes nothing).
      await expect.poll(() => preview.textContent()).toContain('$10.00');
      await checkPage(vp, 'viewer');
      const refused = await vp.evaluate(async () => {
        const me = await (await fetch('/api/v1/console/me')).json();
        const send = async (method: string, url: string, body?: unknown) => {
          const r = await fetch(url, {
            method,
            headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: r.status, code: (await r.json()).error?.code };
        };
        const { data } = await (await fetch('/api/v1/commission-rules')).json();
        return [
          await send('POST', '/api/v1/commission-rules', { name: 'x', type: 'percentage', rateBps: 100 }),
          await send('PATCH', `/api/v1/commission-rules/${data[0].id}`, { rateBps: 100 }),
          await send('DELETE', `/api/v1/commission-rules/${data[0].id}`),
        ];
      });
      expect(refused).toEqual(Array(3).fill({ status: 403, code: 'read_only' }));
      expect(await activeRules()).toMatchObject([{ name: 'Launch', rate_bps: 2_000 }]);
    } finally {
      await vp.context().close();
    }
  });
});
