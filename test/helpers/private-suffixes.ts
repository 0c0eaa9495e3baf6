/**
 * Shared-hosting suffixes from the Public Suffix List's private section (https://publicsuffix.org/list/), each a
 * site boundary: `a.<suffix>` and `b.<suffix>` belong to different customers. Chosen without deeper rules under
 * them (unlike `appspot.com`'s `*.r.appspot.com`), so any `x.a.<suffix>` is a subdomain of `a.<suffix>`.
 */
import fc from 'fast-check';

export const PRIVATE_SUFFIXES = [
  'myshopify.com',
  'github.io',
  'gitlab.io',
  'vercel.app',
  'netlify.app',
  'herokuapp.com',
  'pages.dev',
  'workers.dev',
  'web.app',
  'firebaseapp.com',
  'blogspot.com',
  'onrender.com',
  'fly.dev',
  'deno.dev',
  'up.railway.app',
  'cloudfront.net',
  's3.amazonaws.com',
  'wixsite.com',
  'webflow.io',
  'framer.app',
  'surge.sh',
  'readthedocs.io',
] as const;

/**
 * A DNS label: 1-16 of a-z 0-9 and inner hyphens, not `xn--…` (an A-label must be valid punycode; `xn--a` is not, and
 * the URL parser refuses it).
 */
export const dnsLabel = fc
  .stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$/)
  .filter((label) => !label.startsWith('xn--'));

/** A merchant label and a different sibling label, under one of the suffixes. */
export const merchantAndSibling = fc
  .record({ suffix: fc.constantFrom(...PRIVATE_SUFFIXES), merchant: dnsLabel, sibling: dnsLabel, sub: dnsLabel })
  .filter((r) => r.merchant !== r.sibling);
