/**
 * The one definition of "the same site as the merchant": a host's **registrable domain** (eTLD+1) under the
 * whole Public Suffix List, ICANN and private sections alike (`tldts` with `allowPrivateDomains: true`).
 *
 * The private section is what makes shared hosting safe: `myshopify.com`, `github.io`, `vercel.app`,
 * `netlify.app`, `herokuapp.com`, … are public suffixes there, so `acme-shop.myshopify.com` is a site of its
 * own and `evil-shop.myshopify.com` is another site, not a subdomain of the merchant. Browsers draw the same
 * line (cookies, `SameSite`, storage partitioning). With the ICANN section alone both would be `myshopify.com`.
 *
 * Used for: tracking `Origin` checks and link destinations (`links/links.service.ts` `isMerchantUrl`), the
 * `/r/:slug` redirect, and the API's own `Set-Cookie` domain (`tracking/tracking.routes.ts`).
 * Source: https://publicsuffix.org/list/ (tldts ships a copy of the list, updated with each release).
 */
import { getDomain } from 'tldts';

const PSL = { allowPrivateDomains: true } as const;

/**
 * The registrable domain of `hostname` (`www.acme.co.uk` → `acme.co.uk`, `shop.acme-shop.myshopify.com` →
 * `acme-shop.myshopify.com`), lower-cased, or null when it has none: IP addresses, `localhost`, and public
 * suffixes themselves (`co.uk`, `github.io`). Hosts under a TLD the list does not know (`acme.test`) count one
 * label below it (`www.acme.test` → `acme.test`), the list's default rule `*`.
 */
export function registrableDomain(hostname: string): string | null {
  return getDomain(hostname, PSL);
}

/**
 * The site `hostname` belongs to: its registrable domain, or, when it has none (IP address, `localhost`, a
 * public suffix itself), the host alone (lower-cased, without a trailing dot), which then matches only itself.
 */
export function siteOf(hostname: string): string {
  return registrableDomain(hostname) ?? hostname.toLowerCase().replace(/\.$/, '');
}

/**
 * True when `url` is an http(s) URL whose host is on the same site as one of `hosts` (host names, e.g. the
 * program's website host and its allowed domains): `www.`, `app.` and `shop.` of a merchant count, a sibling
 * on shared hosting (`evil.myshopify.com` for `acme.myshopify.com`) does not. Never throws (a malformed URL is
 * false).
 */
export function isUrlOnSites(url: string, hosts: readonly string[]): boolean {
  let host: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return false;
    host = u.hostname;
  } catch {
    return false;
  }
  const site = siteOf(host);
  return hosts.some((h) => siteOf(h) === site);
}
