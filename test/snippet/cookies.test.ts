// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readCookie, registrableDomain, writeCookie } from '../../snippet/src/cookies.ts';
import { cookiesFor, openPage, visitor } from './page.ts';

const browser = visitor();
afterEach(() => {
  vi.unstubAllGlobals();
  browser.defaultContext.cookieContainer.clearCookies();
});

describe('registrableDomain: the cookie domain shared by www. and app.', () => {
  it.each([
    ['www.shop.test', 'shop.test'],
    ['app.eu.shop.test', 'shop.test'],
    ['shop.test', 'shop.test'],
    ['www.shop.co.uk', 'shop.co.uk'], // co.uk is a public suffix: the browser refuses it
    ['myshop.github.io', 'myshop.github.io'], // so is github.io
    ['localhost', ''],
    // A Domain equal to an IP address is the only one browsers accept there, and it matches that IP only.
    ['127.0.0.1', '127.0.0.1'],
  ])('%s -> %s', (host, domain) => {
    openPage(browser, `https://${host}/`);
    expect(registrableDomain(host)).toBe(domain);
  });

  it('leaves no probe cookie behind once it has expired', async () => {
    openPage(browser, 'https://www.shop.test/');
    registrableDomain('www.shop.test');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 1100);
    expect(Object.keys(cookiesFor(browser, 'https://www.shop.test/'))).toEqual([]);
    vi.useRealTimers();
  });
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
    expect(cookiesFor(browser, 'http://www.shop.test/').pk_aff).toMatchObject({ value: 'alice', secure: false, domain: '' });
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
