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
