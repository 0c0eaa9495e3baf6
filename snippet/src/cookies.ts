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
 * Returns the registrable domain of `hostname` (`shop.co.uk` for `www.shop.co.uk`), or '' when
 * none accepts a cookie (localhost, an IP address, a bare public suffix): the caller then writes
 * host-only cookies.
 */
export const registrableDomain = (hostname: string): string => {
  const labels = hostname.split('.');
  // Why probing: browsers refuse a Domain= cookie on a public suffix (co.uk, github.io), so the
  // shortest suffix that keeps a test cookie is the registrable domain, without shipping the PSL.
  for (let i = labels.length - 1; i-- > 0; ) {
    const domain = labels.slice(i).join('.');
    // Max-Age=1: the probe cookie expires by itself a second later, no clean-up write needed.
    writeCookie('pk_t', '1', 1, domain);
    if (readCookie('pk_t')) return domain;
  }
  return '';
};
