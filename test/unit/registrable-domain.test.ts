/**
 * "Same site as the merchant" (`server/lib/registrable-domain.ts`): shared-hosting siblings are other sites,
 * a merchant's own subdomains are its site, for hosts on the Public Suffix List's private section and for
 * ordinary merchants.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUrlOnSites, registrableDomain, siteOf } from '../../server/lib/registrable-domain.ts';
import { isMerchantUrl } from '../../server/links/links.service.ts';
import { dnsLabel, merchantAndSibling } from '../helpers/private-suffixes.ts';

describe('shared hosting (private suffixes)', () => {
  it('never takes a sibling on the same host for the merchant, and always takes the merchant’s own subdomains', () => {
    fc.assert(
      fc.property(merchantAndSibling, ({ suffix, merchant, sibling, sub }) => {
        const program = { website: `https://${merchant}.${suffix}`, allowed_domains: [] };
        expect(isMerchantUrl(program, `https://${sibling}.${suffix}/phish`)).toBe(false);
        expect(isMerchantUrl(program, `https://${sub}.${sibling}.${suffix}/`)).toBe(false);
        expect(isMerchantUrl(program, `https://${suffix}/`)).toBe(false);
        expect(isMerchantUrl(program, `https://${merchant}.${suffix}/pricing?x=1`)).toBe(true);
        expect(isMerchantUrl(program, `https://${sub}.${merchant}.${suffix}/`)).toBe(true);
        expect(isMerchantUrl(program, `http://${merchant.toUpperCase()}.${suffix}./`)).toBe(true);
        expect(registrableDomain(`${sub}.${merchant}.${suffix}`)).toBe(`${merchant}.${suffix}`);
      }),
      { numRuns: 300 },
    );
  });

  it('treats a merchant whose website is a public suffix itself as that one host', () => {
    expect(registrableDomain('github.io')).toBeNull();
    expect(siteOf('GitHub.io.')).toBe('github.io');
    expect(isUrlOnSites('https://github.io/x', ['github.io'])).toBe(true);
    expect(isUrlOnSites('https://evil.github.io/x', ['github.io'])).toBe(false);
  });
});

describe('ordinary merchants', () => {
  const merchants = [
    { website: 'https://acme.test', site: 'acme.test', stranger: 'https://acme-test.test/' },
    { website: 'https://www.acme.co.uk', site: 'acme.co.uk', stranger: 'https://evil.co.uk/' },
    { website: 'https://shop.acme.com', site: 'acme.com', stranger: 'https://acme.com.evil.com/' },
  ];

  it.each(merchants)('$website keeps all of $site and nothing else', ({ website, site, stranger }) => {
    fc.assert(
      fc.property(fc.array(dnsLabel, { maxLength: 3 }), (labels) => {
        const host = [...labels, site].join('.');
        const program = { website, allowed_domains: [] };
        expect(isMerchantUrl(program, `https://${host}/page`)).toBe(true);
        expect(isMerchantUrl(program, `https://${labels.join('')}x${site}/`)).toBe(false);
      }),
    );
    expect(isMerchantUrl({ website, allowed_domains: [] }, stranger)).toBe(false);
    expect(isMerchantUrl({ website, allowed_domains: ['other-shop.test'] }, 'https://eu.other-shop.test/')).toBe(true);
  });

  it('refuses what is not an http(s) URL on the site', () => {
    const program = { website: 'https://acme.test', allowed_domains: [] };
    for (const url of ['javascript:alert(1)//acme.test', 'ftp://acme.test/', 'not a url', 'null', ''])
      expect(isMerchantUrl(program, url)).toBe(false);
  });

  it('keeps development hosts (localhost, IP addresses) to themselves', () => {
    expect(isUrlOnSites('http://localhost:3000/x', ['localhost'])).toBe(true);
    expect(isUrlOnSites('http://127.0.0.1:8080/', ['127.0.0.1'])).toBe(true);
    expect(isUrlOnSites('http://127.0.0.2/', ['127.0.0.1'])).toBe(false);
    expect(isUrlOnSites('http://[::1]/', ['[::1]'])).toBe(true);
  });
});
