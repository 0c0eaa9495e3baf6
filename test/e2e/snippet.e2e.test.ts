/**
 * The tracking snippet end to end in real Chromium (Debian's `chromium` through playwright-core): the BUILT
 * `snippet/dist/pk.js`, served by the real app at `GET /pk.js`, on fixture merchant pages
 * (`test/e2e/fixtures/*.html`), talking to the real click/lead endpoints and real PostgreSQL.
 *
 * How the pages are served, and why:
 * - The real app runs on `127.0.0.1:<appPort>` with `PUBLIC_URL` = that address, so the snippet tag that
 *   `programs.create` prints (`<script async src="<PUBLIC_URL>/pk.js" data-key=...>`) is used as is.
 * - Merchant pages need hostnames of their own: cookie `Domain`, "same-site" and the server's `Origin`
 *   check all work on registrable domains, and 127.0.0.1 has none. Chromium's `--host-resolver-rules` maps
 *   `*.shop.test` and `(*.)shop-eu.test` to 127.0.0.1, where a tiny `node:http` server of the test
 *   (`fixtures/merchant-site.ts`) answers with the fixture HTML. Pages live at `http://www.shop.test:<sitePort>/`
 *   and `http://app.shop.test:<sitePort>/`; ports play no part in cookies or in "site".
 * - Each program's `website` is `http://www.shop.test:<sitePort>` because the click endpoint refuses an
 *   `Origin` outside the program's registrable domain (and `allowed_domains`, for `shop-eu.test`).
 * - The tag's `src` on 127.0.0.1 is a cross-site API (a hosted partnerkit: only the script writes cookies);
 *   `src` on `api.shop.test:<appPort>` is a same-site API (the merchant serves partnerkit on a subdomain of
 *   their own: the API's `Set-Cookie` lands as well). Both are tested.
 * - Stripe's own `<stripe-pricing-table>` / `<stripe-buy-button>` cannot load Stripe's JS here (no network):
 *   the `client-reference-id` attribute on the element is the contract we check.
 *
 * Every visitor is a fresh browser context with a normal desktop Chrome user agent: headless Chromium's own
 * (`HeadlessChrome/...`) is a bot for `isbot`, whose clicks the server drops (one test shows what that looks
 * like). Each test uses a program of its own, so the server's memory of cookieless repeat visitors
 * (IP + user agent per affiliate, 30 minutes) and its caches never tie two tests together. All traffic comes
 * from 127.0.0.1: the ~20 clicks of this file stay far below the 60 clicks/minute per-IP limit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { builtSnippet } from '../snippet/build.ts';
import { DESKTOP_UA, launchChromium, newVisitor, type RawCookie, type Visitor } from './browser.ts';
import { startMerchantSite, type MerchantSite } from './fixtures/merchant-site.ts';
import { freePort } from '../../server/db/postgres.ts';

const DAY_S = 86_400;
/** Not the default 30: cookie lifetimes must come from the program, not from a fallback. */
const COOKIE_DAYS = 45;

let app: TestApp;
let appPort: number;
let site: MerchantSite;
let browser: Browser;
let tests = 0;

beforeAll(async () => {
  // The built file is what merchants get: rebuild it when a lone `vitest run` finds it stale.
  builtSnippet();
  appPort = await freePort();
  app = await startTestApp({ PORT: String(appPort), PUBLIC_URL: `http://127.0.0.1:${appPort}` });
  site = await startMerchantSite();
  browser = await launchChromium([
    'MAP *.shop.test 127.0.0.1',
    'MAP *.shop-eu.test 127.0.0.1',
    'MAP shop-eu.test 127.0.0.1',
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await app?.stop();
});

const www = () => `http://www.shop.test:${site.port}`;
const appHost = () => `http://app.shop.test:${site.port}`;
const eu = () => `http://www.shop-eu.test:${site.port}`;

/**
 * A program of its own for one test (website `www.shop.test`, 45-day window), with approved affiliates
 * `alice` and `bob`, and a path prefix for its pages. `tag(attrs, host)` is the snippet tag exactly as
 * `programs.create` prints it, with extra `data-*` attributes, optionally served from another host.
 */
async function setup(opts: { attribution?: 'first_click' | 'last_click'; allowedDomains?: string[] } = {}) {
  const t = `/t${++tests}`;
  const program = await app.services.programs.create({ name: 'Shop', website: www() });
  await app.db
    .updateTable('programs')
    .set({ cookie_days: COOKIE_DAYS, attribution_model: opts.attribution ?? 'last_click' })
    .where('id', '=', program.id)
    .execute();
  const admin = adminClient(app, program.apiKey);
  // The merchant's other root domains, set as a merchant does: through the admin API.
  if (opts.allowedDomains) {
    const patched = await admin.patch('/api/v1/program', { allowedDomains: opts.allowedDomains });
    expect(patched.body.program.allowedDomains).toEqual(opts.allowedDomains);
  }
  const make = async (code: string) => {
    const res = await admin.post('/api/v1/affiliates', {
      email: `${code}${t.slice(1)}@partners.test`,
      name: code,
      code,
      status: 'approved',
    });
    expect(res.status).toBe(201);
    return res.body.affiliate as { id: string; code: string };
  };
  const alice = await make('alice');
  const bob = await make('bob');
  const tag = (attrs = '', host = `127.0.0.1:${appPort}`) =>
    program.snippet
      .replace(`127.0.0.1:${appPort}`, host)
      .replace(' data-key=', `${attrs ? ` ${attrs}` : ''} data-key=`);
  /** Publishes the pricing page (`landing.html`) at `<t><path>` with `tag`. */
  const landing = (path: string, snippetTag: string) =>
    site.publish(t + path, 'landing.html', { SNIPPET: snippetTag, PORT: String(site.port), EU_PATH: `${t}/eu` });
  return { t, program, alice, bob, tag, landing };
}

/** Waits until pk.js has replaced the merchant's stub (the real `partnerkit` carries `referral`). */
const installed = (v: Visitor) => v.page.waitForFunction(() => 'referral' in ((window as any).partnerkit ?? {}));

/** `partnerkit('ready', cb)` in the page: the referral once the snippet knows it. */
async function ready(v: Visitor): Promise<string | null> {
  await installed(v);
  return v.page.evaluate(() => new Promise<string | null>((resolve) => (window as any).partnerkit('ready', resolve)));
}

/** The calls the page made to the tracking API: endpoint and parsed JSON body. */
const trackCalls = (v: Visitor) =>
  v.requests
    .filter((r) => r.url.includes('/api/v1/track/'))
    .map((r) => ({
      endpoint: r.url.replace(/^.*\/api\/v1\/track\//, ''),
      type: r.type,
      body: JSON.parse(r.body ?? 'null'),
    }));

const href = (v: Visitor, selector: string) => v.page.locator(selector).getAttribute('href');
const attr = (v: Visitor, selector: string, name: string) => v.page.locator(selector).getAttribute(name);

/** The pk_* cookies Chromium would send to any page of both merchant domains, sorted by name then domain. */
async function pkCookies(v: Visitor): Promise<RawCookie[]> {
  const all = await v.cookies([`${www()}/`, `${appHost()}/`, `${eu()}/`]);
  return all
    .filter((c) => c.name.startsWith('pk_'))
    .sort((a, b) => a.name.localeCompare(b.name) || a.domain.localeCompare(b.domain));
}

/** Seconds until `expires`, in whole days. */
const daysLeft = (cookie: RawCookie) => Math.round((cookie.expires - Date.now() / 1000) / DAY_S);

const clicksOf = (affiliateId: string) =>
  app.db
    .selectFrom('clicks')
    .select(['referral_id', 'link_id', 'url', 'user_agent'])
    .where('affiliate_id', '=', affiliateId)
    .orderBy('id')
    .execute();
const referralsOf = (affiliateId: string) =>
  app.db
    .selectFrom('referrals')
    .select(['id', 'status', 'email', 'expires_at'])
    .where('affiliate_id', '=', affiliateId)
    .orderBy('created_at')
    .execute();

/** Nothing in DevTools' console and no uncaught error: what a merchant checks after pasting the tag. */
function expectQuietConsole(v: Visitor) {
  expect(v.errors).toEqual([]);
  expect(v.console).toEqual([]);
}

let visitor: Visitor | undefined;
/** A fresh visitor (closed after the test). */
async function visit(opts?: Parameters<typeof newVisitor>[1]) {
  visitor = await newVisitor(browser, opts);
  return visitor;
}
afterEach(async () => {
  await visitor?.close();
  visitor = undefined;
});

describe('a visitor sent by an affiliate', () => {
  it('gets first-party cookies on the registrable domain with the referral the server recorded, shared by app.shop.test', async () => {
    const { t, program, alice, tag, landing } = await setup();
    landing('/pricing', tag());
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const referral = await ready(v);

    // The server recorded one click for alice, with this referral, this page and this browser.
    const [referralRow, ...otherReferrals] = await referralsOf(alice.id);
    expect(otherReferrals).toEqual([]);
    expect(referral).toBe(referralRow!.id);
    expect(await clicksOf(alice.id)).toEqual([
      { referral_id: referral, link_id: null, url: `${www()}${t}/pricing?ref=alice`, user_agent: DESKTOP_UA },
    ]);
    expect(Math.round((referralRow!.expires_at.getTime() - Date.now()) / 86_400_000)).toBe(COOKIE_DAYS);

    // Exactly the contract's request, once.
    expect(trackCalls(v)).toEqual([
      {
        endpoint: 'click',
        type: 'fetch',
        body: { key: program.publicKey, code: 'alice', url: `${www()}${t}/pricing?ref=alice`, referrer: '' },
      },
    ]);

    // Two cookies, Domain=shop.test (not www.), SameSite=Lax, Max-Age = the program's window, readable by the page.
    const cookies = await pkCookies(v);
    expect(
      cookies.map(({ name, value, domain, path, httpOnly, secure, session, sameSite }) => ({
        name,
        value,
        domain,
        path,
        httpOnly,
        secure,
        session,
        sameSite,
      })),
    ).toEqual([
      {
        name: 'pk_aff',
        value: 'alice',
        domain: '.shop.test',
        path: '/',
        httpOnly: false,
        secure: false,
        session: false,
        sameSite: 'Lax',
      },
      {
        name: 'pk_ref',
        value: referral,
        domain: '.shop.test',
        path: '/',
        httpOnly: false,
        secure: false,
        session: false,
        sameSite: 'Lax',
      },
    ]);
    expect(cookies.map(daysLeft)).toEqual([COOKIE_DAYS, COOKIE_DAYS]);

    // The call the merchant queued before pk.js loaded ran with the referral.
    expect(await v.page.locator('html').getAttribute('data-referral')).toBe(referral);
    expect(
      await v.page.evaluate(() => [(window as any).partnerkit.referral, (window as any).partnerkit.affiliate]),
    ).toEqual([referral, 'alice']);
    expectQuietConsole(v);

    // Later, on the app's subdomain without a code: the same referral, no new request, links decorated.
    landing('/app', tag());
    await v.page.goto(`${appHost()}${t}/app`);
    expect(await ready(v)).toBe(referral);
    expect(trackCalls(v)).toHaveLength(1);
    expect(await href(v, '#pay-monthly')).toBe(
      `https://buy.stripe.com/test_monthly?prefilled_email=ada%40example.com&client_reference_id=${referral}`,
    );
    expect(await clicksOf(alice.id)).toHaveLength(1);
    expectQuietConsole(v);
  });

  it('hands the referral to Payment Links, pricing tables, buy buttons and forms, also when rendered after load, and to nothing else', async () => {
    const { t, alice, tag, landing } = await setup();
    landing('/pricing', tag());
    site.publish(`${t}/quote`, 'welcome.html');
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const referral = await ready(v);
    expect(referral).toMatch(/^ref_/);

    expect(await href(v, '#pay-monthly')).toBe(
      `https://buy.stripe.com/test_monthly?prefilled_email=ada%40example.com&client_reference_id=${referral}`,
    );
    // Someone else's client_reference_id is replaced, not duplicated.
    expect(await href(v, '#pay-yearly')).toBe(`https://buy.stripe.com/test_yearly?client_reference_id=${referral}`);
    expect(await attr(v, '#table', 'client-reference-id')).toBe(referral);
    expect(await attr(v, '#buy-button', 'client-reference-id')).toBe(referral);
    // Not Stripe checkouts, and no data-domains on this tag: untouched.
    expect(await href(v, '#docs')).toBe('/docs?page=1');
    expect(await href(v, '#stripe-site')).toBe('https://stripe.com/pricing');
    expect(await href(v, '#eu-shop')).toBe(`${eu()}${t}/eu?lang=de`);
    expect(await href(v, '#app')).toBe(`${appHost()}/`);

    // The visitor opens the plans modal: rendered 50 ms later, decorated as it appears.
    await v.page.click('#open-plans');
    await v.page.waitForSelector('#pay-team');
    await expect
      .poll(() => href(v, '#pay-team'))
      .toBe(`https://buy.stripe.com/test_team?client_reference_id=${referral}`);
    await expect.poll(() => attr(v, '#late-table', 'client-reference-id')).toBe(referral);

    // The monthly/yearly toggle swaps the Payment Link's href: the new one carries the referral too.
    expect(await href(v, '#pay-plan')).toBe(`https://buy.stripe.com/test_plan_monthly?client_reference_id=${referral}`);
    await v.page.click('#yearly');
    await expect
      .poll(() => href(v, '#pay-plan'))
      .toBe(`https://buy.stripe.com/test_plan_yearly?client_reference_id=${referral}`);
    // Written once by the toggle and once by the snippet, then left alone (no observer loop).
    expect(
      await v.page.evaluate(async () => {
        const link = document.getElementById('pay-plan')!;
        let writes = 0;
        new MutationObserver((records) => (writes += records.length)).observe(link, { attributes: true });
        link.setAttribute('href', 'https://buy.stripe.com/test_plan_monthly');
        await new Promise((resolve) => setTimeout(resolve, 100));
        return [writes, link.getAttribute('href')];
      }),
    ).toEqual([2, `https://buy.stripe.com/test_plan_monthly?client_reference_id=${referral}`]);

    // The quote form reaches the merchant's backend with the referral.
    await v.page.click('#send-quote');
    await v.page.waitForURL(`**${t}/quote`);
    expect(site.forms.filter((f) => f.path === `${t}/quote`)).toEqual([
      { host: 'www.shop.test', path: `${t}/quote`, fields: { company: 'Initech', partnerkit_referral: referral } },
    ]);
    expect(await clicksOf(alice.id)).toHaveLength(1);
    expectQuietConsole(v);
  });
});

describe('attribution', () => {
  it('last click: a second affiliate’s link takes the visitor over; the same link again sends nothing', async () => {
    const { t, alice, bob, tag, landing } = await setup({ attribution: 'last_click' });
    landing('/pricing', tag());
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const first = await ready(v);
    await v.page.goto(`${www()}${t}/pricing?ref=bob`);
    const second = await ready(v);

    expect(second).not.toBe(first);
    expect(trackCalls(v).map((c) => [c.body.code, c.body.referral])).toEqual([
      ['alice', undefined],
      ['bob', first],
    ]);
    expect((await referralsOf(bob.id)).map((r) => r.id)).toEqual([second]);
    expect((await clicksOf(bob.id)).map((c) => c.referral_id)).toEqual([second]);
    expect((await clicksOf(alice.id)).map((c) => c.referral_id)).toEqual([first]);
    expect((await pkCookies(v)).map((c) => [c.name, c.value, c.domain])).toEqual([
      ['pk_aff', 'bob', '.shop.test'],
      ['pk_ref', second, '.shop.test'],
    ]);
    expect(await href(v, '#pay-monthly')).toContain(`client_reference_id=${second}`);

    await v.page.goto(`${www()}${t}/pricing?ref=bob`);
    expect(await ready(v)).toBe(second);
    expect(trackCalls(v)).toHaveLength(2);
    expectQuietConsole(v);
  });

  it('first click (program setting): the first affiliate keeps the visitor; the second one’s click is counted without a referral', async () => {
    const { t, alice, bob, tag, landing } = await setup({ attribution: 'first_click' });
    landing('/pricing', tag());
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const first = await ready(v);
    await v.page.goto(`${www()}${t}/pricing?ref=bob`);
    expect(await ready(v)).toBe(first);

    // The snippet does not know the model: it asks, carrying the referral, and the server keeps alice.
    expect(trackCalls(v).map((c) => [c.body.code, c.body.referral])).toEqual([
      ['alice', undefined],
      ['bob', first],
    ]);
    expect((await referralsOf(alice.id)).map((r) => r.id)).toEqual([first]);
    expect(await referralsOf(bob.id)).toEqual([]);
    expect(await clicksOf(bob.id)).toEqual([expect.objectContaining({ referral_id: null })]);
    const cookies = await pkCookies(v);
    expect(cookies.map((c) => [c.name, c.value])).toEqual([
      ['pk_aff', 'alice'],
      ['pk_ref', first],
    ]);
    expect(cookies.map(daysLeft)).toEqual([COOKIE_DAYS, COOKIE_DAYS]);
    expect(await href(v, '#pay-monthly')).toContain(`client_reference_id=${first}`);
    expectQuietConsole(v);
  });

  it('first click (data-attribution on the tag): a second code is not even sent', async () => {
    const { t, alice, bob, tag, landing } = await setup({ attribution: 'last_click' });
    landing('/pricing', tag('data-attribution="first_click"'));
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const first = await ready(v);
    await v.page.goto(`${www()}${t}/pricing?ref=bob`);
    expect(await ready(v)).toBe(first);
    await v.page.waitForLoadState('networkidle');

    expect(trackCalls(v).map((c) => c.body.code)).toEqual(['alice']);
    expect(await clicksOf(bob.id)).toEqual([]);
    expect(await clicksOf(alice.id)).toHaveLength(1);
    expect((await pkCookies(v)).map((c) => [c.name, c.value])).toEqual([
      ['pk_aff', 'alice'],
      ['pk_ref', first],
    ]);
    expectQuietConsole(v);
  });
});

describe('consent', () => {
  it('writes no cookie and sends nothing before consent; Accept records the click; Decline deletes the cookies', async () => {
    const { t, alice, tag } = await setup();
    site.publish(`${t}/welcome`, 'consent.html', { SNIPPET: tag('data-consent="required"') });
    const v = await visit();
    await v.page.goto(`${www()}${t}/welcome?ref=alice`);
    await installed(v);
    // A lead reported while the banner is still up waits for the answer, like every call made meanwhile.
    await v.page.evaluate(() => (window as any).partnerkit('lead', { email: 'early@example.com' }));
    await v.page.waitForLoadState('networkidle');

    expect(trackCalls(v)).toEqual([]);
    expect(await v.cookies([`${www()}/`, `${appHost()}/`])).toEqual([]);
    expect(await v.page.evaluate(() => (window as any).partnerkit.referral)).toBeNull();
    expect(await href(v, '#pay')).toBe('https://buy.stripe.com/test_consent');
    expect(await clicksOf(alice.id)).toEqual([]);

    await v.page.click('#accept');
    const referral = await ready(v);
    expect(referral).toMatch(/^ref_/);
    expect((await clicksOf(alice.id)).map((c) => c.referral_id)).toEqual([referral]);
    expect((await pkCookies(v)).map((c) => [c.name, c.value, c.domain])).toEqual([
      ['pk_aff', 'alice', '.shop.test'],
      ['pk_ref', referral, '.shop.test'],
    ]);
    expect(await href(v, '#pay')).toBe(`https://buy.stripe.com/test_consent?client_reference_id=${referral}`);
    // The waiting lead went out after the click, with its referral.
    await expect
      .poll(() => referralsOf(alice.id))
      .toEqual([expect.objectContaining({ id: referral, status: 'lead', email: 'early@example.com' })]);
    expect(trackCalls(v).map((c) => [c.endpoint, c.body.referral])).toEqual([
      ['click', undefined],
      ['lead', referral],
    ]);

    expect(await attr(v, '#buy-button', 'client-reference-id')).toBe(referral);

    await v.page.click('#decline');
    expect(await pkCookies(v)).toEqual([]);
    expect(await v.page.evaluate(() => (window as any).partnerkit.referral)).toBeNull();
    // Withdrawn consent takes the referral back off the page: nothing left would hand it to Stripe.
    expect(await href(v, '#pay')).toBe('https://buy.stripe.com/test_consent');
    expect(await attr(v, '#buy-button', 'client-reference-id')).toBeNull();
    expect(
      await v.page.locator('#signup input').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).name)),
    ).toEqual(['email']);
    expect(await v.page.content()).not.toContain(referral!);
    await v.page.evaluate(() => (window as any).partnerkit('lead', { email: 'later@example.com' }));
    await v.page.waitForLoadState('networkidle');
    expect(trackCalls(v)).toHaveLength(2);
    expectQuietConsole(v);
  });

  it('Decline first: nothing is ever sent or written, and a waiting lead is dropped', async () => {
    const { t, alice, tag } = await setup();
    site.publish(`${t}/welcome`, 'consent.html', { SNIPPET: tag('data-consent="required"') });
    const v = await visit();
    await v.page.goto(`${www()}${t}/welcome?ref=alice`);
    await installed(v);
    await v.page.evaluate(() => (window as any).partnerkit('lead', { email: 'early@example.com' }));
    await v.page.click('#decline');
    expect(await ready(v)).toBeNull();
    // And on the next page, still behind the banner.
    await v.page.goto(`${appHost()}${t}/welcome?ref=alice`);
    await installed(v);
    await v.page.waitForLoadState('networkidle');

    expect(trackCalls(v)).toEqual([]);
    expect(await v.cookies([`${www()}/`, `${appHost()}/`])).toEqual([]);
    expect(await clicksOf(alice.id)).toEqual([]);
    expectQuietConsole(v);
  });

  it('Decline also deletes the cookies a same-site API set, even with data-cookie-domain="none"', async () => {
    const { t, tag } = await setup();
    // The merchant serves partnerkit on api.shop.test: its answer sets Domain=shop.test cookies itself.
    site.publish(`${t}/welcome`, 'consent.html', {
      SNIPPET: tag('data-consent="required" data-cookie-domain="none"', `api.shop.test:${appPort}`),
    });
    const v = await visit();
    await v.page.goto(`${www()}${t}/welcome?ref=alice`);
    await installed(v);
    await v.page.click('#accept');
    const referral = await ready(v);
    // Host-only from the script (as asked), Domain=shop.test from the API's Set-Cookie.
    expect((await pkCookies(v)).map((c) => [c.name, c.value, c.domain])).toEqual([
      ['pk_aff', 'alice', '.shop.test'],
      ['pk_aff', 'alice', 'www.shop.test'],
      ['pk_ref', referral, '.shop.test'],
      ['pk_ref', referral, 'www.shop.test'],
    ]);

    await v.page.click('#decline');
    expect(await pkCookies(v)).toEqual([]);
    expect(await v.page.evaluate(() => document.cookie)).toBe('');
    expectQuietConsole(v);
  });
});

describe('single-page apps', () => {
  it('records a new code reached by pushState and decorates the view rendered after it', async () => {
    const { t, alice, bob, tag } = await setup();
    for (const path of ['/app/', '/app/pricing'])
      site.publish(t + path, 'spa.html', { SNIPPET: tag(), BASE: `${t}/app`, CODE: 'bob' });
    const v = await visit();
    await v.page.goto(`${www()}${t}/app/?ref=alice`);
    const first = await ready(v);

    // An in-app link to the partner offer: no page load, only history.pushState and a re-render.
    await v.page.click('#nav-pricing');
    await v.page.waitForSelector('#pay');
    await expect.poll(() => v.page.evaluate(() => (window as any).partnerkit.affiliate)).toBe('bob');
    const second = await ready(v);
    expect(second).not.toBe(first);
    expect(v.requests.filter((r) => r.type === 'document')).toHaveLength(1);
    expect(trackCalls(v).map((c) => [c.body.code, c.body.referral, c.body.url])).toEqual([
      ['alice', undefined, `${www()}${t}/app/?ref=alice`],
      ['bob', first, `${www()}${t}/app/pricing?via=bob`],
    ]);
    expect((await clicksOf(bob.id)).map((c) => [c.referral_id, c.url])).toEqual([
      [second, `${www()}${t}/app/pricing?via=bob`],
    ]);
    expect((await clicksOf(alice.id)).map((c) => c.referral_id)).toEqual([first]);
    await expect.poll(() => href(v, '#pay')).toBe(`https://buy.stripe.com/test_spa?client_reference_id=${second}`);
    expect((await pkCookies(v)).map((c) => [c.name, c.value])).toEqual([
      ['pk_aff', 'bob'],
      ['pk_ref', second],
    ]);

    // Back and forth through the app (and the back button): the same code is not sent again.
    await v.page.click('#nav-home');
    await v.page.click('#nav-pricing');
    await v.page.goBack();
    await v.page.waitForSelector('#pay', { state: 'detached' });
    await v.page.goForward();
    await expect.poll(() => href(v, '#pay')).toBe(`https://buy.stripe.com/test_spa?client_reference_id=${second}`);
    expect(trackCalls(v)).toHaveLength(2);
    expectQuietConsole(v);
  });
});

describe('the merchant’s other domains (data-domains)', () => {
  it('decorates links to them and the snippet there continues the same referral', async () => {
    const { t, alice, tag, landing } = await setup({ allowedDomains: ['shop-eu.test'] });
    landing('/pricing', tag('data-domains="shop-eu.test"'));
    landing('/eu', tag('data-domains="shop.test"'));
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const referral = await ready(v);

    expect(await href(v, '#eu-shop')).toBe(`${eu()}${t}/eu?lang=de&ref=alice&pk_ref=${referral}`);
    expect(await href(v, '#eu-root')).toBe(`http://shop-eu.test:${site.port}/?ref=alice&pk_ref=${referral}`);
    // notshop-eu.test only ends with the same letters; app.shop.test shares the cookie already.
    expect(await href(v, '#lookalike')).toBe(`http://notshop-eu.test:${site.port}/`);
    expect(await href(v, '#app')).toBe(`${appHost()}/`);
    expect(await href(v, '#docs')).toBe('/docs?page=1');

    await v.page.click('#eu-shop');
    await v.page.waitForURL(`${eu()}${t}/eu?**`);
    expect(await ready(v)).toBe(referral);
    expect(trackCalls(v).map((c) => [c.body.code, c.body.referral])).toEqual([
      ['alice', undefined],
      ['alice', referral],
    ]);
    // The other domain keeps its own first-party cookies, with the same referral.
    const euCookies = (await pkCookies(v)).filter((c) => c.domain === '.shop-eu.test');
    expect(euCookies.map((c) => [c.name, c.value, c.sameSite])).toEqual([
      ['pk_aff', 'alice', 'Lax'],
      ['pk_ref', referral, 'Lax'],
    ]);
    // One visitor, one referral, one click: crossing domains is not a second visit.
    expect((await referralsOf(alice.id)).map((r) => r.id)).toEqual([referral]);
    expect(await clicksOf(alice.id)).toHaveLength(1);
    expect(await href(v, '#pay-monthly')).toContain(`client_reference_id=${referral}`);
    expectQuietConsole(v);
  });

  it('a second root domain the program does not allow: its page is refused (origin_not_allowed), nothing kept there', async () => {
    const { t, alice, tag, landing } = await setup();
    landing('/pricing', tag('data-domains="shop-eu.test"'));
    landing('/eu', tag('data-domains="shop.test"'));
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const referral = await ready(v);
    // The tag may name any domain: the link is decorated, but the server decides.
    expect(await href(v, '#eu-shop')).toBe(`${eu()}${t}/eu?lang=de&ref=alice&pk_ref=${referral}`);

    const refused = v.page.waitForResponse((r) => r.url().endsWith('/api/v1/track/click'));
    await v.page.click('#eu-shop');
    await v.page.waitForURL(`${eu()}${t}/eu?**`);
    const res = await refused;
    expect([res.status(), (await res.json()).error.code]).toEqual([403, 'origin_not_allowed']);
    expect(await ready(v)).toBeNull();
    expect((await pkCookies(v)).filter((c) => c.domain === '.shop-eu.test')).toEqual([]);
    expect(await clicksOf(alice.id)).toHaveLength(1);
  });
});

describe('leads', () => {
  it('a sign-up form calling partnerkit("lead") turns the referral into a lead, though the page is left at once', async () => {
    const { t, program, tag, landing, alice } = await setup();
    landing('/pricing', tag());
    site.publish(`${t}/signup`, 'signup.html', { SNIPPET: tag() });
    site.publish(`${t}/welcome`, 'welcome.html');
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const referral = await ready(v);

    await v.page.goto(`${appHost()}${t}/signup`);
    await v.page.fill('#email', 'Ada.Lovelace@Example.com');
    await v.page.click('#start');
    await v.page.waitForURL(`**${t}/welcome`);

    await expect
      .poll(() => referralsOf(alice.id))
      .toEqual([expect.objectContaining({ id: referral, status: 'lead', email: 'ada.lovelace@example.com' })]);
    expect(trackCalls(v).filter((c) => c.endpoint === 'lead')).toEqual([
      { endpoint: 'lead', type: 'ping', body: { key: program.publicKey, referral, email: 'Ada.Lovelace@Example.com' } },
    ]);
    expect(site.forms.filter((f) => f.path === `${t}/welcome`)).toEqual([
      { host: 'app.shop.test', path: `${t}/welcome`, fields: { email: 'Ada.Lovelace@Example.com' } },
    ]);
    expectQuietConsole(v);
  });

  it('a lead without a referral sends nothing', async () => {
    const { t, tag } = await setup();
    site.publish(`${t}/signup`, 'signup.html', { SNIPPET: tag() });
    site.publish(`${t}/welcome`, 'welcome.html');
    const v = await visit();
    await v.page.goto(`${appHost()}${t}/signup`);
    await installed(v);
    await v.page.fill('#email', 'nobody@example.com');
    await v.page.click('#start');
    await v.page.waitForURL(`**${t}/welcome`);
    await v.page.waitForLoadState('networkidle');
    expect(trackCalls(v)).toEqual([]);
    expectQuietConsole(v);
  });
});

describe('when things go wrong', () => {
  it('the API is down: the page works, nothing is decorated, no error of ours in the console', async () => {
    const { t, alice, tag, landing } = await setup();
    const deadApi = `http://127.0.0.1:${await freePort()}`;
    landing('/pricing', tag(`data-api="${deadApi}"`));
    const v = await visit();
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    expect(await ready(v)).toBeNull();
    await v.page.evaluate(() => (window as any).partnerkit('lead', { email: 'ada@example.com' }));

    // The merchant's own scripts still run (the queued `ready` call and the modal).
    expect(await v.page.locator('html').getAttribute('data-referral')).toBe('none');
    await v.page.click('#open-plans');
    await v.page.waitForSelector('#pay-team');
    expect(await href(v, '#pay-team')).toBe('https://buy.stripe.com/test_team');
    expect(await href(v, '#pay-monthly')).toBe('https://buy.stripe.com/test_monthly?prefilled_email=ada%40example.com');
    expect(await v.cookies([`${www()}/`])).toEqual([]);
    expect(await clicksOf(alice.id)).toEqual([]);
    expect(trackCalls(v).map((c) => c.endpoint)).toEqual(['click']);

    // No exception, no unhandled rejection, no console call: the one line is Chromium's own network log of
    // the refused connection, which no script can suppress (it appears for any failed request).
    expect(v.errors).toEqual([]);
    expect(v.console).toEqual([
      {
        type: 'error',
        text: 'Failed to load resource: net::ERR_CONNECTION_REFUSED',
        url: `${deadApi}/api/v1/track/click`,
      },
    ]);
  });

  it('an unknown code: nothing kept, and nothing at all in the console', async () => {
    const { t, tag, landing } = await setup();
    landing('/pricing', tag());
    const v = await visit();
    const answer = v.page.waitForResponse((r) => r.url().endsWith('/api/v1/track/click'));
    await v.page.goto(`${www()}${t}/pricing?ref=nobody`);
    const res = await answer;
    expect([res.status(), await res.json()]).toEqual([200, { referral: null }]);
    expect(await ready(v)).toBeNull();
    expect(await v.cookies([`${www()}/`])).toEqual([]);
    expect(await href(v, '#pay-monthly')).toBe('https://buy.stripe.com/test_monthly?prefilled_email=ada%40example.com');
    // The server answered 200 { referral: null }: Chromium logs any 4xx as a failed resource, this it does not.
    expect(trackCalls(v).map((c) => [c.endpoint, c.body.code])).toEqual([['click', 'nobody']]);
    expectQuietConsole(v);
  });

  it('headless Chromium’s own user agent is a bot: the page works but no click, no cookie, no referral', async () => {
    const { t, alice, tag, landing } = await setup();
    landing('/pricing', tag());
    const v = await visit({ headlessUserAgent: true });
    expect(await v.page.evaluate(() => navigator.userAgent)).toContain('HeadlessChrome');
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);

    // What the merchant sees: the page works as usual, DevTools shows the click answered
    // 202 { ignored: 'bot' }, and the dashboards show nothing (no click, no referral, no cookie):
    // their own uptime checks and crawlers never count as a partner's visitors.
    expect(await ready(v)).toBeNull();
    expect(trackCalls(v).map((c) => [c.endpoint, c.body.code])).toEqual([['click', 'alice']]);
    expect(await v.cookies([`${www()}/`])).toEqual([]);
    expect(await href(v, '#pay-monthly')).toBe('https://buy.stripe.com/test_monthly?prefilled_email=ada%40example.com');
    expect(await clicksOf(alice.id)).toEqual([]);
    expect(await referralsOf(alice.id)).toEqual([]);
    expectQuietConsole(v);
  });
});

describe('same-site API and server-side links', () => {
  it('a same-site API sets the cookie itself: the referral survives a browser that ignores script cookies', async () => {
    const { t, alice, tag, landing } = await setup();
    landing('/pricing', tag('', `api.shop.test:${appPort}`));
    const v = await visit();
    // Stands for a browser that drops (or, like Safari, cuts short) cookies written by scripts:
    // document.cookie reads as usual, writes are ignored.
    await v.context.addInitScript(() => {
      const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')!;
      Object.defineProperty(Document.prototype, 'cookie', { configurable: true, get: cookie.get, set() {} });
    });
    await v.page.goto(`${www()}${t}/pricing?ref=alice`);
    const referral = await ready(v);
    expect((await clicksOf(alice.id)).map((c) => c.referral_id)).toEqual([referral]);

    const cookies = await pkCookies(v);
    expect(
      cookies.map(({ name, value, domain, path, httpOnly, sameSite }) => ({
        name,
        value,
        domain,
        path,
        httpOnly,
        sameSite,
      })),
    ).toEqual([
      { name: 'pk_aff', value: 'alice', domain: '.shop.test', path: '/', httpOnly: false, sameSite: 'Lax' },
      { name: 'pk_ref', value: referral, domain: '.shop.test', path: '/', httpOnly: false, sameSite: 'Lax' },
    ]);
    expect(cookies.map(daysLeft)).toEqual([COOKIE_DAYS, COOKIE_DAYS]);

    // The next page reads it back: same referral, nothing sent.
    await v.page.goto(`${appHost()}${t}/pricing`);
    expect(await ready(v)).toBe(referral);
    expect(trackCalls(v)).toHaveLength(1);
    expectQuietConsole(v);
  });

  it('GET /r/:slug lands with ?ref=&pk_ref=: the snippet keeps that referral and the visit counts once', async () => {
    const { t, program, alice, tag, landing } = await setup();
    landing('/pricing', tag());
    const link = await adminClient(app, program.apiKey).post('/api/v1/links', {
      affiliateId: alice.id,
      slug: `deal${t.slice(2)}`,
      destinationUrl: `${www()}${t}/pricing?plan=pro`,
    });
    expect(link.status).toBe(201);
    const v = await visit();
    await v.page.goto(`${app.url}/r/${link.body.link.slug}`);
    await v.page.waitForURL(`${www()}${t}/pricing?**`);
    const referral = await ready(v);

    const landed = new URL(v.page.url());
    expect([
      landed.searchParams.get('plan'),
      landed.searchParams.get('ref'),
      landed.searchParams.get('pk_ref'),
    ]).toEqual(['pro', 'alice', referral]);
    expect(trackCalls(v).map((c) => [c.body.code, c.body.referral])).toEqual([['alice', referral]]);
    expect(await clicksOf(alice.id)).toEqual([
      expect.objectContaining({ referral_id: referral, link_id: link.body.link.id }),
    ]);
    expect((await pkCookies(v)).map((c) => [c.name, c.value, c.domain])).toEqual([
      ['pk_aff', 'alice', '.shop.test'],
      ['pk_ref', referral, '.shop.test'],
    ]);
    expectQuietConsole(v);
  });
});
