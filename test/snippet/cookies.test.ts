// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cookieDomains, readCookie, writeCookie } from '../../snippet/src/cookies.ts';
import { cookiesFor, openPage, visitor } from './page.ts';

const browser = visitor();
afterEach(() => {
  vi.unstubAllGlobals();
  browser.defaultContext.cookieContainer.clearCookies();
});

describe('cookieDomains: where a cookie may go, shortest first, then host-only', () => {
  it.each([
    ['www.shop.test', ['shop.test', 'www.shop.test', '']],
    ['shop.test', ['shop.test', '']],
    ['www.shop.co.uk', ['co.uk', 'shop.co.uk', 'www.shop.co.uk', '']],
    ['localhost', ['']],
  ])('%s -> %j', (host, domains) => expect(cookieDomains(host)).toEqual(domains));
});

describe('writeCookie / readCookie', () => {
  it('a domain cookie written on www. is sent to app. with Path=/, SameSite=Lax, Secure on https', () => {
    openPage(browser, 'https://www.shop.test/pricing');
    writeCookie('pk_ref', 'ref_1', 30 * 86400, 'shop.test');
    const cookie = cookiesFor(browser, 'https://app.shop.test/account').pk_ref;
    expect(cookie).toMatchObject({ value: 'ref_1', domain: 'shop.test', path: '/', sameSite: 'Lax', secure: true });
    expect(cookie.expires!.getTime() - Date.now()).toBeGreaterThan(30 * 86400_000 - 5000);
  });

  it('is not Secure on http, host-only without a domain', () => {
    openPage(browser, 'http://www.shop.test/');
    writeCookie('pk_aff', 'alice', 60, '');
    expect(cookiesFor(browser, 'http://www.shop.test/').pk_aff).toMatchObject({
      value: 'alice',
      secure: false,
      domain: '',
    });
    expect(cookiesFor(browser, 'http://app.shop.test/').pk_aff).toBeUndefined();
  });

  it('a negative Max-Age deletes', () => {
    openPage(browser, 'http://www.shop.test/');
    writeCookie('pk_ref', 'ref_1', 60, 'shop.test');
    writeCookie('pk_ref', '', -1, 'shop.test');
    expect(cookiesFor(browser, 'http://www.shop.test/')).toEqual({});
  });

  it('reads a valid value among other cookies, and refuses a tampered one', () => {
    openPage(browser, 'http://www.shop.test/');
    document.cookie = 'theme=dark';
    document.cookie = 'pk_ref=ref_9';
    document.cookie = 'pk_aff=<script>';
    expect(readCookie('pk_ref')).toBe('ref_9');
    expect(readCookie('pk_aff')).toBeNull();
    expect(readCookie('missing')).toBeNull();
  });
});
