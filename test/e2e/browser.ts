/**
 * A small shared launcher for the end-to-end tests: a real Chromium through playwright-core, and a visitor
 * (a fresh browser context + page) that records what a merchant would look at in DevTools: the requests the
 * page sent, the console, uncaught errors, and the cookies with their raw attributes.
 *
 * Which Chromium: `findChromium()` in `chromium.ts` (`CHROMIUM`, a system Chrome/Chromium, playwright's cache,
 * the one inside the `@sparticuz/chromium` devDependency, then `playwright install chromium`), so the tests run
 * on a machine with Node alone, including where no browser download works.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { findChromium } from './chromium.ts';

/**
 * A normal desktop Chrome user agent. Why not the default: headless Chromium announces itself as
 * `HeadlessChrome/...`, which `isbot` (and so the click endpoint) treats as a bot.
 */
export const DESKTOP_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

/**
 * Starts headless Chromium (the one `findChromium()` picks, with the environment it needs). `hostRules` become
 * `--host-resolver-rules` (e.g. `MAP *.shop.test 127.0.0.1`), so fixture sites get real, distinct hostnames (cookie
 * domains, same-site vs cross-site) while every connection stays on the loopback interface. `--disable-quic`: no
 * HTTP/3 attempt may leave the machine either.
 */
export async function launchChromium(hostRules: string[] = []): Promise<Browser> {
  const { executablePath, env } = await findChromium();
  return chromium.launch({
    executablePath,
    ...(env ? { env } : {}),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      ...(hostRules.length ? [`--host-resolver-rules=${hostRules.join(', ')}`] : []),
    ],
  });
}

/** One request the page (or a frame/beacon of it) sent. */
export interface SeenRequest {
  method: string;
  url: string;
  /** playwright's resource type: `document`, `script`, `fetch`, `ping` (sendBeacon)... */
  type: string;
  body: string | null;
}

/** One console line as Chromium shows it in DevTools. */
export interface ConsoleLine {
  /** `error`, `warning`, `log`... */
  type: string;
  text: string;
  /** Where it comes from: the script's URL for a console call, the failed resource for a network entry. */
  url: string;
}

/** A cookie as Chromium stores it (CDP `Network.getCookies`): attributes exactly as written. */
export interface RawCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  /** Seconds since the epoch; -1 for a session cookie. */
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  session: boolean;
  /** Absent when the cookie was written without a SameSite attribute. */
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface Visitor {
  context: BrowserContext;
  page: Page;
  requests: SeenRequest[];
  console: ConsoleLine[];
  /** Uncaught exceptions and unhandled rejections in the page. */
  errors: Error[];
  /**
   * The cookies Chromium would send to any of `urls`, with their raw attributes. Why CDP and not
   * `context.cookies()`: playwright reports a cookie without SameSite as `Lax`, so a check on `Lax`
   * through it could never fail.
   */
  cookies(urls: string[]): Promise<RawCookie[]>;
  close(): Promise<void>;
}

/**
 * A new visitor: a fresh context (no cookies) with a desktop Chrome user agent, or with headless Chromium's
 * own (`HeadlessChrome/...`) when `headlessUserAgent` is set.
 */
export async function newVisitor(browser: Browser, opts: { headlessUserAgent?: boolean } = {}): Promise<Visitor> {
  const context = await browser.newContext({
    ...(opts.headlessUserAgent ? {} : { userAgent: DESKTOP_UA }),
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const requests: SeenRequest[] = [];
  const consoleLines: ConsoleLine[] = [];
  const errors: Error[] = [];
  page.on('request', (request) => {
    requests.push({
      method: request.method(),
      url: request.url(),
      type: request.resourceType(),
      body: request.postData(),
    });
  });
  page.on('console', (message) => {
    consoleLines.push({ type: message.type(), text: message.text(), url: message.location().url });
  });
  page.on('pageerror', (error) => void errors.push(error));
  const cdp = await context.newCDPSession(page);
  return {
    context,
    page,
    requests,
    console: consoleLines,
    errors,
    cookies: async (urls) => ((await cdp.send('Network.getCookies', { urls })) as { cookies: RawCookie[] }).cookies,
    close: () => context.close(),
  };
}

/**
 * The page as axe-core (the accessibility engine behind Lighthouse and Deque's tools) judges it against WCAG 2.x
 * A/AA and its best practices: the violations of impact `serious` or `critical`, each as `rule: the first offending selectors`. An empty
 * list is what a page must show (`expect(await accessibilityProblems(page)).toEqual([])`).
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const { AxeBuilder } = await import('@axe-core/playwright');
  // Every rule axe-core runs by default (WCAG 2.x A/AA and its best practices), as `axe.run(document)` would.
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id}: ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(', ')}`,
    );
}

/**
 * A page of a desktop browser as the console and dashboard tests use it: 1280×900, en-US, UTC, and a page error
 * fails the test. `bypassCSP` only matters to tests that inject scripts; the app's pages otherwise run under their
 * own CSP. `downloads`: the page may save files (CSV exports).
 */
export async function desktopPage(browser: Browser, opts: { downloads?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    bypassCSP: true,
    ...(opts.downloads ? { acceptDownloads: true } : {}),
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

/** Logs `who` in on the console's login page of the app at `appUrl`; resolves once the overview shows. */
export async function logInToConsole(
  page: Page,
  appUrl: string,
  who: { email: string; password: string },
): Promise<void> {
  await page.goto(`${appUrl}/app/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
}
