// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decorate, onAdded } from '../../snippet/src/decorate.ts';
import { openPage, settle, visitor } from './page.ts';

const browser = visitor();
afterEach(() => vi.unstubAllGlobals());

const hrefs = () => [...document.querySelectorAll('a')].map((a) => a.getAttribute('href'));

describe('decorate: the referral reaches Stripe and the merchant’s other domains', () => {
  it('appends client_reference_id to Payment Links, replacing an existing value, and leaves other links alone', () => {
    openPage(
      browser,
      'https://www.shop.test/pricing',
      `<a href="https://buy.stripe.com/test_abc">Buy</a>
       <a href="https://buy.stripe.com/test_def?prefilled_email=a%40b.test&client_reference_id=old">Buy</a>
       <a href="/about?x=1">About</a>
       <a href="https://stripe.com/docs">Docs</a>
       <a href="https://example.test/">Elsewhere</a>`,
    );
    decorate(document, 'ref_1', 'alice', [], 'ref');
    expect(hrefs()).toEqual([
      'https://buy.stripe.com/test_abc?client_reference_id=ref_1',
      'https://buy.stripe.com/test_def?prefilled_email=a%40b.test&client_reference_id=ref_1',
      '/about?x=1',
      'https://stripe.com/docs',
      'https://example.test/',
    ]);
  });

  it('sets client-reference-id on pricing tables and buy buttons', () => {
    openPage(
      browser,
      'https://www.shop.test/',
      `<stripe-pricing-table pricing-table-id="prctbl_1"></stripe-pricing-table>
       <stripe-buy-button buy-button-id="buy_btn_1" client-reference-id="stale"></stripe-buy-button>`,
    );
    decorate(document, 'ref_1', 'alice', [], 'ref');
    expect(document.querySelector('stripe-pricing-table')!.getAttribute('client-reference-id')).toBe('ref_1');
    expect(document.querySelector('stripe-buy-button')!.getAttribute('client-reference-id')).toBe('ref_1');
  });

  it('gives a <form data-partnerkit> one hidden partnerkit_referral input, updated, never duplicated', () => {
    openPage(
      browser,
      'https://www.shop.test/',
      `<form data-partnerkit action="/checkout"><input name="plan" value="pro"></form><form id="other"></form>`,
    );
    decorate(document, 'ref_1', 'alice', [], 'ref');
    decorate(document, 'ref_2', 'bob', [], 'ref');
    const form = document.querySelector<HTMLFormElement>('form[data-partnerkit]')!;
    expect([...new FormData(form)]).toEqual([
      ['plan', 'pro'],
      ['partnerkit_referral', 'ref_2'],
    ]);
    expect(form.querySelector<HTMLInputElement>('[name=partnerkit_referral]')!.type).toBe('hidden');
    expect(document.querySelector('#other')!.children).toHaveLength(0);
  });

  it('carries ref and pk_ref to the other domains and their subdomains, not to this host or strangers', () => {
    openPage(
      browser,
      'https://www.shop.test/',
      `<a href="https://shop-app.test/signup?plan=pro">App</a>
       <a href="https://eu.shop-app.test/">EU app</a>
       <a href="https://notshop-app.test/">Look-alike</a>
       <a href="https://www.shop.test/blog">Own page</a>`,
    );
    decorate(document, 'ref_1', 'alice', ['shop-app.test', 'shop.test'], 'via');
    expect(hrefs()).toEqual([
      'https://shop-app.test/signup?plan=pro&via=alice&pk_ref=ref_1',
      'https://eu.shop-app.test/?via=alice&pk_ref=ref_1',
      'https://notshop-app.test/',
      'https://www.shop.test/blog',
    ]);
  });

  it('decorates the root it is given as well as its descendants', () => {
    openPage(browser, 'https://www.shop.test/');
    const link = Object.assign(document.createElement('a'), { href: 'https://buy.stripe.com/test_x' });
    decorate(link, 'ref_1', 'alice', [], 'ref');
    expect(link.href).toBe('https://buy.stripe.com/test_x?client_reference_id=ref_1');
  });
});

describe('onAdded: elements rendered after load', () => {
  it('reports added elements (and only elements), so later Payment Links and forms are decorated', async () => {
    openPage(browser, 'https://www.shop.test/', '<main></main>');
    onAdded((element) => decorate(element, 'ref_1', 'alice', [], 'ref'));
    const main = document.querySelector('main')!;
    main.innerHTML = '<section><a href="https://buy.stripe.com/test_late">Buy</a></section>';
    main.append('some text');
    const form = document.createElement('form');
    form.setAttribute('data-partnerkit', '');
    document.body.append(form);
    await settle();
    expect(main.querySelector('a')!.href).toBe('https://buy.stripe.com/test_late?client_reference_id=ref_1');
    expect(form.querySelectorAll('input[name=partnerkit_referral]')).toHaveLength(1);
  });
});

describe('decorate with referral "" (consent withdrawn): takes the referral back', () => {
  it('removes what it set, leaves the merchant’s own parameters and other links as they were', () => {
    openPage(
      browser,
      'https://www.shop.test/pricing',
      `<a href="https://buy.stripe.com/test_abc?prefilled_email=a%40b.test">Buy</a>
       <a href="https://buy.stripe.com/test_def">Buy</a>
       <a href="https://shop-app.test/signup?plan=pro">App</a>
       <a href="/about?x=1">About</a>
       <stripe-pricing-table pricing-table-id="prctbl_1"></stripe-pricing-table>
       <form data-partnerkit><input name="plan" value="pro"></form>`,
    );
    const before = document.body.innerHTML;
    decorate(document, 'ref_1', 'alice', ['shop-app.test'], 'ref');
    expect(document.body.innerHTML).not.toBe(before);
    decorate(document, '', 'alice', ['shop-app.test'], 'ref');
    expect(hrefs()).toEqual([
      'https://buy.stripe.com/test_abc?prefilled_email=a%40b.test',
      'https://buy.stripe.com/test_def',
      'https://shop-app.test/signup?plan=pro',
      '/about?x=1',
    ]);
    expect(document.querySelector('stripe-pricing-table')!.hasAttribute('client-reference-id')).toBe(false);
    expect([...new FormData(document.querySelector('form')!)]).toEqual([['plan', 'pro']]);
    expect(document.body.innerHTML).not.toContain('ref_1');
  });
});

describe('onAdded: an href changed after load (a monthly/yearly toggle)', () => {
  it('decorates the new Payment Link once, and writes the link no more than needed (no observer loop)', async () => {
    openPage(
      browser,
      'https://www.shop.test/',
      '<main><a id="pay" href="https://buy.stripe.com/test_monthly">Buy</a></main>',
    );
    const link = document.querySelector<HTMLAnchorElement>('#pay')!;
    decorate(document, 'ref_1', 'alice', [], 'ref');
    let calls = 0;
    onAdded((element) => {
      // Capped so that a loop fails this test instead of hanging it.
      if (++calls < 10) decorate(element, 'ref_1', 'alice', [], 'ref');
    });
    // Every write of the link's href, by the value it replaced.
    const replaced: string[] = [];
    new MutationObserver((records) => replaced.push(...records.map((r) => r.oldValue!))).observe(link, {
      attributeFilter: ['href'],
      attributeOldValue: true,
    });
    link.setAttribute('href', 'https://buy.stripe.com/test_yearly');
    for (let i = 0; i < 5; i++) await settle();
    expect(link.getAttribute('href')).toBe('https://buy.stripe.com/test_yearly?client_reference_id=ref_1');
    // The toggle's write, then the snippet's one write; its second look at the link changes nothing.
    expect(replaced).toEqual([
      'https://buy.stripe.com/test_monthly?client_reference_id=ref_1',
      'https://buy.stripe.com/test_yearly',
    ]);
    expect(calls).toBe(2);
  });
});
