// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Browser } from 'happy-dom';
import { install } from '../../snippet/src/tracker.ts';
import { cookiesFor, network, openPage, ready, settle, visitor, type Answer, type PageWindow } from './page.ts';

const API = 'https://partners.example';
const SHOP = 'https://www.shop.test';
let browser: Browser;

afterEach(async () => {
  vi.unstubAllGlobals();
  await browser?.close();
});

/** A merchant page with the snippet tag (`attributes` are extra data-*), and a Payment Link. */
function tag(attributes = '') {
  return `<script async src="${API}/pk.js" data-key="pk_test_1" ${attributes}></script>
    <a id="buy" href="https://buy.stripe.com/test_123">Buy</a>`;
}

/** Opens `url` in the visitor's browser with the snippet installed, as a page load would. */
function load(url: string, options: { attributes?: string; answer?: Answer; before?: (w: PageWindow) => void } = {}) {
  const net = network(options.answer);
  const window = openPage(browser, url, tag(options.attributes), net);
  options.before?.(window);
  install(window.document.querySelector('script'));
  return { window, requests: net.requests, partnerkit: (window as any).partnerkit };
}

const buyHref = (window: PageWindow) => window.document.querySelector<HTMLAnchorElement>('#buy')!.href;

describe('a visitor arriving with ?ref=', () => {
  it('sends one click, keeps the referral in first-party cookies and hands it to the Payment Link', async () => {
    browser = visitor();
    const { window, requests, partnerkit } = load(`${SHOP}/pricing?ref=alice&utm_source=news`, {
      before: (w) => Object.defineProperty(w.document, 'referrer', { value: 'https://blog.test/post' }),
    });
    expect(await ready(window)).toBe('ref_alice');

    expect(requests).toEqual([
      {
        url: `${API}/api/v1/track/click`,
        method: 'POST',
        contentType: 'text/plain;charset=UTF-8',
        credentials: 'include',
        keepalive: true,
        via: 'fetch',
        body: {
          key: 'pk_test_1',
          code: 'alice',
          url: `${SHOP}/pricing?ref=alice&utm_source=news`,
          referrer: 'https://blog.test/post',
        },
      },
    ]);
    const cookies = cookiesFor(browser, 'https://app.shop.test/');
    expect(cookies.pk_ref).toMatchObject({
      value: 'ref_alice',
      domain: 'shop.test',
      path: '/',
      sameSite: 'Lax',
      secure: true,
    });
    expect(cookies.pk_aff).toMatchObject({ value: 'alice', domain: 'shop.test' });
    const days = (cookies.pk_ref.expires!.getTime() - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(29.99);
    expect(days).toBeLessThanOrEqual(30);
    expect([partnerkit.referral, partnerkit.affiliate]).toEqual(['ref_alice', 'alice']);
    expect(buyHref(window)).toBe('https://buy.stripe.com/test_123?client_reference_id=ref_alice');
  });

  it('uses the program’s cookieDays from the answer, or data-cookie-days when set', async () => {
    browser = visitor();
    const answer: Answer = (body) => [
      200,
      { referral: 'ref_1', affiliate: body.code, cookieDays: 90, attribution: 'last_click' },
    ];
    const first = load(`${SHOP}/?ref=alice`, { answer });
    await ready(first.window);
    const days = () => (cookiesFor(browser, `${SHOP}/`).pk_ref.expires!.getTime() - Date.now()) / 86400_000;
    expect(Math.round(days())).toBe(90);

    browser.defaultContext.cookieContainer.clearCookies();
    const second = load(`${SHOP}/?ref=alice`, { answer, attributes: 'data-cookie-days="7"' });
    await ready(second.window);
    expect(Math.round(days())).toBe(7);
  });

  it.each([
    ['www.shop.test', 'shop.test'],
    ['app.eu.shop.test', 'shop.test'],
    ['www.shop.co.uk', 'shop.co.uk'], // co.uk is a public suffix: the browser refuses it
    ['myshop.github.io', 'myshop.github.io'], // so is github.io
    ['localhost', ''],
  ])(
    'on %s keeps the cookies on the registrable domain (%s) with data-cookie-domain="auto" (the default)',
    async (host, domain) => {
      browser = visitor();
      const { window } = load(`https://${host}/?ref=alice`);
      await ready(window);
      const cookies = cookiesFor(browser, `https://${host}/`);
      expect(Object.keys(cookies).sort()).toEqual(['pk_aff', 'pk_ref']);
      expect([cookies.pk_ref.domain, cookies.pk_aff.domain]).toEqual([domain, domain]);
    },
  );

  it('keeps a host-only cookie with data-cookie-domain="none"', async () => {
    browser = visitor();
    const { window } = load(`${SHOP}/?ref=alice`, { attributes: 'data-cookie-domain="none"' });
    await ready(window);
    expect(cookiesFor(browser, `${SHOP}/`).pk_ref).toMatchObject({ value: 'ref_alice', domain: '' });
    expect(cookiesFor(browser, 'https://app.shop.test/').pk_ref).toBeUndefined();
  });

  it('reads the code from data-params only, and posts to data-api', async () => {
    browser = visitor();
    const { window, requests } = load(`${SHOP}/?ref=alice&aff=carol`, {
      attributes: 'data-params="aff" data-api="https://t.shop.test/"',
    });
    expect(await ready(window)).toBe('ref_carol');
    expect(requests.map((r) => [r.url, r.body.code])).toEqual([['https://t.shop.test/api/v1/track/click', 'carol']]);
  });

  it('ignores an invalid code: no request, no cookie', async () => {
    browser = visitor();
    const { window, requests, partnerkit } = load(`${SHOP}/?ref=%3Cimg%20src%3Dx%3E`);
    expect(await ready(window)).toBeNull();
    expect(requests).toEqual([]);
    expect(cookiesFor(browser, `${SHOP}/`)).toEqual({});
    expect(partnerkit.referral).toBeNull();
  });

  it('keeps no cookie for an unknown code ({ referral: null }), an error answer (4xx) or an unusable referral', async () => {
    browser = visitor();
    const unknown = load(`${SHOP}/?ref=ghost`, { answer: () => [200, { referral: null }] });
    expect(await ready(unknown.window)).toBeNull();
    expect(unknown.requests).toHaveLength(1);
    expect(buyHref(unknown.window)).toBe('https://buy.stripe.com/test_123');
    const refused = load(`${SHOP}/?ref=ghost`, {
      answer: () => [429, { error: { code: 'rate_limited', message: 'Too many clicks from this address' } }],
    });
    expect(await ready(refused.window)).toBeNull();
    expect(refused.requests).toHaveLength(1);

    for (const referral of ['', 'ref 1', 'ref_1;Domain=evil.test', 'x'.repeat(201), null]) {
      const odd = load(`${SHOP}/?ref=alice`, { answer: () => [200, { referral, affiliate: 'alice', cookieDays: 30 }] });
      expect(await ready(odd.window)).toBeNull();
      expect(buyHref(odd.window)).toBe('https://buy.stripe.com/test_123');
    }
    expect(cookiesFor(browser, `${SHOP}/`)).toEqual({});
  });

  it('survives a network failure quietly', async () => {
    browser = visitor();
    const net = network();
    const window = openPage(browser, `${SHOP}/?ref=alice`, tag(), net);
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    install(window.document.querySelector('script'));
    expect(await ready(window)).toBeNull();
  });

  it('continues the referral a pk_ref in the URL carries (from /r/:slug or another domain of the merchant)', async () => {
    browser = visitor();
    const { window, requests } = load(`${SHOP}/?ref=alice&pk_ref=ref_from_link`, {
      answer: (body) => [
        200,
        { referral: body.referral, affiliate: body.code, cookieDays: 30, attribution: 'last_click' },
      ],
    });
    expect(await ready(window)).toBe('ref_from_link');
    expect(requests[0].body.referral).toBe('ref_from_link');
  });
});

describe('repeat visits and attribution', () => {
  it('the same code on a later page view is not a new click', async () => {
    browser = visitor();
    await ready(load(`${SHOP}/?ref=alice`).window);
    const again = load(`${SHOP}/pricing?ref=alice`);
    expect(await ready(again.window)).toBe('ref_alice');
    expect(again.requests).toEqual([]);
    expect(buyHref(again.window)).toBe('https://buy.stripe.com/test_123?client_reference_id=ref_alice');
  });

  it('a page without a code keeps the referral from the cookie', async () => {
    browser = visitor();
    await ready(load(`${SHOP}/?ref=alice`).window);
    const later = load('https://app.shop.test/checkout');
    expect(await ready(later.window)).toBe('ref_alice');
    expect(later.partnerkit.affiliate).toBe('alice');
    expect(later.requests).toEqual([]);
  });

  it('last_click (default): another affiliate’s code is a new click that carries the current referral and replaces the cookie', async () => {
    browser = visitor();
    await ready(load(`${SHOP}/?ref=alice`).window);
    const next = load(`${SHOP}/?via=bob`);
    expect(await ready(next.window)).toBe('ref_bob');
    expect(next.requests.map((r) => r.body)).toEqual([
      { key: 'pk_test_1', code: 'bob', referral: 'ref_alice', url: `${SHOP}/?via=bob`, referrer: '' },
    ]);
    expect(cookiesFor(browser, `${SHOP}/`).pk_ref.value).toBe('ref_bob');
    expect(cookiesFor(browser, `${SHOP}/`).pk_aff.value).toBe('bob');
  });

  it('first_click: an existing referral wins, the new code sends nothing', async () => {
    browser = visitor();
    await ready(load(`${SHOP}/?ref=alice`, { attributes: 'data-attribution="first_click"' }).window);
    const next = load(`${SHOP}/?ref=bob`, { attributes: 'data-attribution="first_click"' });
    expect(await ready(next.window)).toBe('ref_alice');
    expect(next.requests).toEqual([]);
    expect(cookiesFor(browser, `${SHOP}/`).pk_aff.value).toBe('alice');
  });

  it('a program whose model is first_click keeps the referral through the server’s answer', async () => {
    browser = visitor();
    const firstClick: Answer = (body) => [
      200,
      body.referral
        ? { referral: body.referral, affiliate: 'alice', cookieDays: 12, attribution: 'first_click' }
        : { referral: 'ref_alice', affiliate: body.code, cookieDays: 30, attribution: 'first_click' },
    ];
    await ready(load(`${SHOP}/?ref=alice`, { answer: firstClick }).window);
    const next = load(`${SHOP}/?ref=bob`, { answer: firstClick });
    expect(await ready(next.window)).toBe('ref_alice');
    expect(next.partnerkit.affiliate).toBe('alice');
    expect(cookiesFor(browser, `${SHOP}/`).pk_aff.value).toBe('alice');
  });

  it('sees a code that arrives by SPA navigation (pushState) and sends it once', async () => {
    browser = visitor();
    const { window, requests } = load(`${SHOP}/`);
    expect(await ready(window)).toBeNull();
    window.history.pushState({}, '', '/landing?ref=alice');
    window.history.replaceState({}, '', '/landing?ref=alice&tab=2'); // a router re-writing the URL
    await settle();
    expect(requests.map((r) => r.body.code)).toEqual(['alice']);
    expect(await ready(window)).toBe('ref_alice');
    expect(buyHref(window)).toBe('https://buy.stripe.com/test_123?client_reference_id=ref_alice');
  });
});

describe('the command queue and partnerkit()', () => {
  it('replays calls made before the script loaded, in order', async () => {
    browser = visitor();
    const seen: unknown[] = [];
    const { window, requests } = load(`${SHOP}/?ref=alice`, {
      before: (w: any) => {
        w.partnerkit = function () {
          // The merchant's stub, verbatim from the docs.
          (w.partnerkit.q = w.partnerkit.q || []).push(arguments);
        };
        w.partnerkit('ready', (referral: string) => seen.push(['first', referral]));
        w.partnerkit('ready', () => {
          throw new Error('merchant bug');
        });
        w.partnerkit('lead', { email: 'ada@example.test' });
        w.partnerkit('ready', (referral: string) => seen.push(['third', referral]));
      },
    });
    await ready(window);
    await settle();
    expect(seen).toEqual([
      ['first', 'ref_alice'],
      ['third', 'ref_alice'],
    ]);
    expect(requests.map((r) => [r.via, r.url, r.body])).toEqual([
      ['fetch', `${API}/api/v1/track/click`, expect.objectContaining({ code: 'alice' })],
      ['beacon', `${API}/api/v1/track/lead`, { key: 'pk_test_1', referral: 'ref_alice', email: 'ada@example.test' }],
    ]);
  });

  it('sends no lead without a referral', async () => {
    browser = visitor();
    const { window, requests, partnerkit } = load(`${SHOP}/`);
    partnerkit('lead', { email: 'ada@example.test' });
    await ready(window);
    await settle();
    expect(requests).toEqual([]);
  });

  it('never throws into the page', () => {
    browser = visitor();
    const { partnerkit } = load(`${SHOP}/`);
    expect(() => partnerkit('nonsense', 1)).not.toThrow();
    expect(() => partnerkit('lead')).not.toThrow();
    expect(() => install(null)).not.toThrow();
  });

  it('does nothing without data-key', async () => {
    browser = visitor();
    const net = network();
    const window = openPage(browser, `${SHOP}/?ref=alice`, `<script src="${API}/pk.js"></script>`, net);
    install(window.document.querySelector('script'));
    await settle();
    expect((window as any).partnerkit).toBeUndefined();
    expect(net.requests).toEqual([]);
    expect(cookiesFor(browser, `${SHOP}/`)).toEqual({});
  });
});

describe('data-consent="required"', () => {
  it('writes and sends nothing before consent, then processes the code seen at load', async () => {
    browser = visitor();
    const { window, requests, partnerkit } = load(`${SHOP}/?ref=alice`, { attributes: 'data-consent="required"' });
    let known: string | null | undefined;
    partnerkit('ready', (referral: string | null) => (known = referral));
    window.history.replaceState({}, '', '/'); // the router strips the params before consent
    await settle();
    expect(requests).toEqual([]);
    expect(cookiesFor(browser, `${SHOP}/`)).toEqual({});
    expect(partnerkit.referral).toBeNull();
    expect(known).toBeUndefined(); // not known yet

    partnerkit('consent', true);
    expect(await ready(window)).toBe('ref_alice');
    expect(known).toBe('ref_alice');
    expect(requests.map((r) => r.body.code)).toEqual(['alice']);
    expect(cookiesFor(browser, `${SHOP}/`).pk_ref.value).toBe('ref_alice');
  });

  it('consent false deletes the cookies, whoever set them, and stops sending', async () => {
    browser = visitor();
    await ready(load(`${SHOP}/?ref=alice`).window);
    const { window, requests, partnerkit } = load(`${SHOP}/`, { attributes: 'data-consent="required"' });
    window.document.cookie = 'pk_ref=ref_host_only; Path=/'; // e.g. from an earlier data-cookie-domain="none"
    window.document.cookie = 'theme=dark; Path=/';
    partnerkit('consent', false);
    expect(await ready(window)).toBeNull();
    expect(Object.keys(cookiesFor(browser, `${SHOP}/`))).toEqual(['theme']);
    window.history.pushState({}, '', '/?ref=bob');
    partnerkit('lead', { email: 'ada@example.test' });
    await settle();
    expect(requests).toEqual([]);
  });

  it('consent false takes the referral back off the page: Payment Links, pricing tables, forms', async () => {
    browser = visitor();
    const { window, partnerkit } = load(`${SHOP}/?ref=alice`);
    window.document.body.insertAdjacentHTML(
      'beforeend',
      '<stripe-pricing-table></stripe-pricing-table><form data-partnerkit><input name="plan" value="pro"></form>',
    );
    expect(await ready(window)).toBe('ref_alice');
    await settle();
    const doc = window.document;
    expect(doc.body.innerHTML).toContain('ref_alice');

    partnerkit('consent', false);
    await settle();
    expect(buyHref(window)).toBe('https://buy.stripe.com/test_123');
    expect(doc.querySelector('stripe-pricing-table')!.hasAttribute('client-reference-id')).toBe(false);
    expect([...new window.FormData(doc.querySelector('form')!)]).toEqual([['plan', 'pro']]);
    expect(doc.body.innerHTML).not.toContain('ref_alice');
    // And a Payment Link rendered afterwards stays as the merchant wrote it.
    doc.body.insertAdjacentHTML('beforeend', '<a id="later" href="https://buy.stripe.com/test_later">Buy</a>');
    await settle();
    expect(doc.querySelector<HTMLAnchorElement>('#later')!.href).toBe('https://buy.stripe.com/test_later');
  });

  it('consent false for a visitor without a referral leaves the merchant’s own client_reference_id', async () => {
    browser = visitor();
    const { window, partnerkit } = load(`${SHOP}/`, {
      before: (w) =>
        w.document
          .querySelector('#buy')!
          .setAttribute('href', 'https://buy.stripe.com/test_123?client_reference_id=crm_7'),
    });
    await ready(window);
    partnerkit('consent', false);
    await settle();
    expect(buyHref(window)).toBe('https://buy.stripe.com/test_123?client_reference_id=crm_7');
  });

  it('a refusal while the click is on its way keeps the answer out of the cookies', async () => {
    browser = visitor();
    const { window, requests, partnerkit } = load(`${SHOP}/?ref=alice`);
    partnerkit('consent', false); // the click left at load; its answer arrives after this
    expect(await ready(window)).toBeNull();
    expect(requests).toHaveLength(1);
    expect(partnerkit.referral).toBeNull();
    expect(cookiesFor(browser, `${SHOP}/`)).toEqual({});
    expect(buyHref(window)).toBe('https://buy.stripe.com/test_123');
  });

  it('a consent call queued before load is honoured', async () => {
    browser = visitor();
    const { window, requests } = load(`${SHOP}/?ref=alice`, {
      attributes: 'data-consent="required"',
      before: (w: any) => {
        w.partnerkit = function () {
          (w.partnerkit.q = w.partnerkit.q || []).push(arguments);
        };
        w.partnerkit('consent', true);
      },
    });
    expect(await ready(window)).toBe('ref_alice');
    expect(requests).toHaveLength(1);
  });
});

describe('elements added after load', () => {
  it('Payment Links, buy buttons and forms rendered later get the referral', async () => {
    browser = visitor();
    const { window } = load(`${SHOP}/?ref=alice`);
    await ready(window);
    window.document.body.insertAdjacentHTML(
      'beforeend',
      `<div><a id="late" href="https://buy.stripe.com/test_late">Buy</a><stripe-buy-button></stripe-buy-button>
       <form data-partnerkit></form></div>`,
    );
    await settle();
    const doc = window.document;
    expect(doc.querySelector<HTMLAnchorElement>('#late')!.href).toBe(
      'https://buy.stripe.com/test_late?client_reference_id=ref_alice',
    );
    expect(doc.querySelector('stripe-buy-button')!.getAttribute('client-reference-id')).toBe('ref_alice');
    expect(doc.querySelector<HTMLInputElement>('form input[name=partnerkit_referral]')!.value).toBe('ref_alice');
  });

  it('a Payment Link whose href is swapped after load (monthly/yearly toggle) gets the referral', async () => {
    browser = visitor();
    const { window } = load(`${SHOP}/?ref=alice`);
    await ready(window);
    const link = window.document.querySelector<HTMLAnchorElement>('#buy')!;
    link.href = 'https://buy.stripe.com/test_yearly';
    await settle();
    expect(link.href).toBe('https://buy.stripe.com/test_yearly?client_reference_id=ref_alice');
  });

  it('nothing is decorated for a visitor without a referral', async () => {
    browser = visitor();
    const { window } = load(`${SHOP}/`);
    await ready(window);
    window.document.body.insertAdjacentHTML(
      'beforeend',
      '<stripe-pricing-table></stripe-pricing-table><form data-partnerkit></form>',
    );
    await settle();
    expect(window.document.querySelector('stripe-pricing-table')!.hasAttribute('client-reference-id')).toBe(false);
    expect(window.document.querySelector('form')!.children).toHaveLength(0);
    expect(buyHref(window)).toBe('https://buy.stripe.com/test_123');
  });
});
