/**
 * Merchants on shared hosting (`acme.myshopify.com`, `acme.github.io`, …) over real HTTP and PostgreSQL: a sibling
 * site on the same host (`evil.myshopify.com`) is another site for links (400), clicks (`Origin`, 403), the
 * `/r/:slug` redirect and the API's own cookies; the merchant's own subdomains still work, as they do for ordinary
 * merchants (`acme.test`, `www.acme.co.uk`, `shop.acme.com`).
 */
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { dnsLabel, merchantAndSibling } from '../helpers/private-suffixes.ts';

const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
let app: TestApp;
let ipCounter = 0;
const nextIp = () => `198.51.100.${++ipCounter % 250}`;
let programs = 0;

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await app?.stop();
});

/** A program on `website` with one approved affiliate. */
async function merchant(website: string) {
  const program = await app.services.programs.create({ name: `Shop ${++programs}`, website });
  const admin = adminClient(app, program.apiKey);
  const res = await admin.post('/api/v1/affiliates', {
    email: `partner${programs}@partners.test`,
    name: 'Partner',
    status: 'approved',
  });
  expect(res.status).toBe(201);
  return { program, admin, affiliate: res.body.affiliate as { id: string; code: string } };
}

/** POST a click as the snippet on a page of `origin` would, to the API at `host` (default: the test server). */
function click(key: string, code: string, origin: string, host?: string) {
  const { port } = new URL(app.url);
  const body = JSON.stringify({ key, code });
  return new Promise<{ status: number; body: any; cookies: string[] }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/track/click',
        method: 'POST',
        headers: {
          ...(host ? { host } : {}),
          origin,
          'content-type': 'text/plain',
          'user-agent': UA,
          'x-forwarded-for': nextIp(),
          'content-length': Buffer.byteLength(body),
        },
      },
      (r) => {
        let data = '';
        r.on('data', (c) => (data += c));
        r.on('end', () =>
          resolve({
            status: r.statusCode!,
            body: JSON.parse(data),
            cookies: (r.headers['set-cookie'] as string[]) ?? [],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function follow(slug: string) {
  const res = await app.request(`/r/${slug}`, {
    redirect: 'manual',
    headers: { 'user-agent': UA, 'x-forwarded-for': nextIp() },
  });
  return { status: res.status, location: new URL(res.headers.get('location')!) };
}

const clicksOf = async (affiliateId: string) =>
  Number(
    (
      await app.db
        .selectFrom('clicks')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('affiliate_id', '=', affiliateId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('a merchant on a shared-hosting suffix', () => {
  it('refuses links to, clicks from and cookies for a sibling site, and keeps its own subdomains working', async () => {
    await fc.assert(
      fc.asyncProperty(merchantAndSibling, async ({ suffix, merchant: name, sibling, sub }) => {
        const own = `${name}.${suffix}`;
        const { program, admin, affiliate } = await merchant(`https://${own}`);

        const phish = await admin.post('/api/v1/links', {
          affiliateId: affiliate.id,
          destinationUrl: `https://${sibling}.${suffix}/phish`,
        });
        expect(phish).toMatchObject({ status: 400, body: { error: { code: 'destination_not_allowed' } } });
        const link = await admin.post('/api/v1/links', {
          affiliateId: affiliate.id,
          destinationUrl: `https://${sub}.${own}/pricing`,
        });
        expect(link.status).toBe(201);
        const { status, location } = await follow(link.body.link.slug);
        expect(status).toBe(302);
        expect(`${location.origin}${location.pathname}`).toBe(`https://${sub}.${own}/pricing`);
        expect(location.searchParams.get('ref')).toBe(affiliate.code);

        const refused = await click(program.publicKey, affiliate.code, `https://${sibling}.${suffix}`);
        expect(refused).toMatchObject({ status: 403, body: { error: { code: 'origin_not_allowed' } } });
        expect(await clicksOf(affiliate.id)).toBe(1); // the /r/ click only
        const accepted = await click(program.publicKey, affiliate.code, `https://${sub}.${own}`);
        expect(accepted.status).toBe(200);
        expect(await clicksOf(affiliate.id)).toBe(2);

        // The API served on another customer's host of the suffix shares no site with the page: no cookie (a
        // `Domain=<suffix>` cookie would be refused by browsers anyway); served on the merchant's own subdomain, it does.
        const apart = await click(program.publicKey, affiliate.code, `https://${own}`, `track.${sibling}.${suffix}`);
        expect(apart.status).toBe(200);
        expect(apart.cookies).toEqual([]);
        const together = await click(program.publicKey, affiliate.code, `https://${own}`, `track.${own}`);
        expect(together.cookies.join('\n')).toContain(`Domain=${own};`);
      }),
      { numRuns: 25 },
    );
  });

  it('sends /r/ visitors of a link stored earlier with a sibling destination to the merchant’s website instead', async () => {
    const { admin, affiliate } = await merchant('https://acme-shop.myshopify.com');
    const link = await admin.post('/api/v1/links', { affiliateId: affiliate.id, slug: 'legacy-sibling' });
    expect(link.status).toBe(201);
    // As a link made before the check knew the Public Suffix List's private section could be.
    await app.db
      .updateTable('links')
      .set({ destination_url: 'https://evil-shop.myshopify.com/phish' })
      .where('id', '=', link.body.link.id)
      .execute();
    const { status, location } = await follow('legacy-sibling');
    expect(status).toBe(302);
    expect(location.origin).toBe('https://acme-shop.myshopify.com');
    expect(location.pathname).toBe('/');
    expect(location.searchParams.get('ref')).toBe(affiliate.code);
  });
});

describe('ordinary merchants', () => {
  it.each([
    ['https://acme.test', 'acme.test', 'https://acme-shop.test'],
    ['https://www.acme.co.uk', 'acme.co.uk', 'https://evil.co.uk'],
    ['https://shop.acme.com', 'acme.com', 'https://acme.com.evil.com'],
  ])('%s works on every subdomain of %s and nowhere else', async (website, site, stranger) => {
    const { program, admin, affiliate } = await merchant(website);
    await fc.assert(
      fc.asyncProperty(fc.array(dnsLabel, { maxLength: 2 }), async (labels) => {
        const host = [...labels, site].join('.');
        const link = await admin.post('/api/v1/links', {
          affiliateId: affiliate.id,
          destinationUrl: `https://${host}/p`,
        });
        expect(link.status).toBe(201);
        const { location } = await follow(link.body.link.slug);
        expect(location.host).toBe(host);
        expect((await click(program.publicKey, affiliate.code, `https://${host}`)).status).toBe(200);
      }),
      { numRuns: 10 },
    );
    const refused = await admin.post('/api/v1/links', { affiliateId: affiliate.id, destinationUrl: `${stranger}/` });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'destination_not_allowed' } } });
    expect((await click(program.publicKey, affiliate.code, stranger)).status).toBe(403);
  });
});
