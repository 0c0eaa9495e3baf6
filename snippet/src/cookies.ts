import { isCode } from './code.js';

/**
 * Returns the value of cookie `name` when it is a valid code/referral id, else null: a tampered or
 * truncated cookie must never reach Stripe as a `client_reference_id`.
 */
export const readCookie = (name: string): string | null => {
  // document.cookie is `a=1; b=2`: read as a query string, the same parser as the URL's.
  const value = new URLSearchParams(document.cookie.replace(/; /g, '&')).get(name);
  return isCode(value) ? value : null;
};

/**
 * Writes cookie `name` with `Path=/; SameSite=Lax; Max-Age=<seconds>` (+ `Secure` on https,
 * + `Domain=<domain>` when `domain` is not empty). A negative `maxAge` deletes the cookie
 * (browsers also delete on 0; -1 leaves no doubt about a cookie that would expire "now").
 */
export const writeCookie = (name: string, value: string, maxAge: number, domain: string): void => {
  document.cookie =
    name +
    '=' +
    value +
    '; Path=/; SameSite=Lax; Max-Age=' +
    maxAge +
    (domain && '; Domain=' + domain) +
    (location.protocol == 'https:' ? '; Secure' : '');
};

/**
 * The suffixes of `hostname` a cookie Domain may name, shortest first, then '' (host-only):
 * `www.shop.test` -> `shop.test`, `www.shop.test`, ''. The first that the browser accepts is the
 * registrable domain: browsers refuse a Domain= cookie on a public suffix (co.uk, github.io), so
 * trying them in this order finds it without shipping the Public Suffix List.
 */
export const cookieDomains = (hostname: string): string[] =>
  hostname
    .split('.')
    .map((_, i, labels) => labels.slice(i).join('.'))
    .reverse()
    .slice(1)
    .concat('');
