/**
 * The server side of tracking over real HTTP and PostgreSQL: origins, same-site cookies, bots, rate limits,
 * repeat visits, attribution models, server-side links and the group commit under concurrency.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';

const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
let app: TestApp;
let ipCounter = 0;
const nextIp = () => `203.0.113.${++ipCounter % 250}`;

beforeAll(async () => {
  // Behind a proxy: client IPs come from X-Forwarded-For, so each test can be its own visitor.
  app = await startTestApp({ TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await app?.stop();
});

async function setup(opts: { attribution?: 'first_click' | 'last_click' } = {}) {
  const program = await app.services.programs.create({ name: 'Shop', website: 'https://www.shop.test' });
  if (opts.attribution)
    await app.db
      .updateTable('programs')
      .set({ attribution_model: opts.attribution })
      .where('id', '=', program.id)
      .execute();
  const admin = adminClient(app, program.apiKey);
  const make = async (email: string) => {
    const created = await admin.post('/api/v1/affiliates', { email, name: email.split('@')[0], status: 'approved' });
    return created.body.affiliate as { id: string; code: string };
  };
  return { program, admin, make };
}

async function click(
  key: string,
  code: string,
  opts: { ip?: string; ua?: string; origin?: string; referral?: string; host?: string } = {},
) {
  const res = await app.request('/api/v1/track/click', {
    method: 'POST',
    headers: {
      'content-type': 'text/plain',
      origin: opts.origin ?? 'https://www.shop.test',
      'user-agent': opts.ua ?? UA,
      'x-forwarded-for': opts.ip ?? nextIp(),
    },
    body: JSON.stringify({ key, code, referral: opts.referral }),
  });
  return { status: res.status, body: await res.json(), setCookie: res.headers.getSetCookie() };
}

const clickCount = async (affiliateId: string) =>
  (
    await app.db
      .selectFrom('clicks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('affiliate_id', '=', affiliateId)
      .executeTakeFirstOrThrow()
  ).n;

describe('POST /api/v1/track/click', () => {
  it('accepts the merchant’s own subdomains and refuses other origins, storing nothing', async () => {
    const { program, make } = await setup();
    const a = await make('origin@x.test');
    expect((await click(program.publicKey, a.code, { origin: 'https://app.shop.test' })).status).toBe(200);
    const evil = await click(program.publicKey, a.code, { origin: 'https://evil.test' });
    expect(evil).toMatchObject({ status: 403, body: { error: { code: 'origin_not_allowed' } } });
    expect(await clickCount(a.id)).toBe(1);
  });

  it('keeps a click whose landing URL is very long, storing the URL cut to 2048 characters', async () => {
    const { program, make } = await setup();
    const a = await make('longurl@x.test');
    const url = `https://www.shop.test/?ref=${a.code}&utm=${'x'.repeat(5000)}`;
    const res = await app.request('/api/v1/track/click', {
      method: 'POST',
      headers: { origin: 'https://www.shop.test', 'user-agent': UA, 'x-forwarded-for': nextIp() },
      body: JSON.stringify({ key: program.publicKey, code: a.code, url }),
    });
    expect(res.status).toBe(200);
    const row = await app.db
      .selectFrom('clicks')
      .select('url')
      .where('affiliate_id', '=', a.id)
      .executeTakeFirstOrThrow();
    expect(row.url).toBe(url.slice(0, 2048));
  });

  it('drops known bots without storing a click', async () => {
    const { program, make } = await setup();
    const a = await make('bot@x.test');
    const res = await click(program.publicKey, a.code, {
      ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    });
    expect(res).toMatchObject({ status: 202, body: { ignored: 'bot' } });
    expect(await clickCount(a.id)).toBe(0);
  });

  it('rate-limits one IP and stores nothing past the limit', async () => {
    const { program, make } = await setup();
    const a = await make('flood@x.test');
    const ip = '198.51.100.7';
    const statuses: number[] = [];
    for (let i = 0; i < 65; i++)
      statuses.push((await click(program.publicKey, a.code, { ip, ua: `${UA} r${i}` })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.slice(60)).toEqual([429, 429, 429, 429, 429]);
    expect(await clickCount(a.id)).toBe(60);
  });

  it('answers unknown and unapproved codes 200 { referral: null } without a cookie, inside the same bot and IP limits', async () => {
    const { program, admin, make } = await setup();
    const a = await make('guess@x.test');
    const pending = (await admin.post('/api/v1/affiliates', { email: 'pending-guess@x.test', name: 'Pending' })).body
      .affiliate as { id: string; code: string };
    const ip = '198.51.100.8';
    const unknown = await click(program.publicKey, 'no-such-code', { ip });
    expect(unknown).toEqual({ status: 200, body: { referral: null }, setCookie: [] });
    expect(await click(program.publicKey, pending.code, { ip })).toEqual({
      status: 200,
      body: { referral: null },
      setCookie: [],
    });
    // A bot is told it was ignored, whatever the code.
    const bot = await click(program.publicKey, 'no-such-code', {
      ip,
      ua: 'Googlebot/2.1 (+http://www.google.com/bot.html)',
    });
    expect(bot).toMatchObject({ status: 202, body: { ignored: 'bot' } });
    // Guessing codes spends the same per-IP budget as clicking: 58 more guesses, then even a real code is refused.
    for (let i = 0; i < 58; i++) await click(program.publicKey, `guess-${i}`, { ip, ua: `${UA} g${i}` });
    expect(await click(program.publicKey, a.code, { ip })).toMatchObject({
      status: 429,
      body: { error: { code: 'rate_limited' } },
    });
    expect(await clickCount(a.id)).toBe(0);
    expect(await clickCount(pending.id)).toBe(0);
  });

  it('limits by the address our proxy saw, not by X-Forwarded-For entries the client wrote before it', async () => {
    const { program, make } = await setup();
    const a = await make('forged@x.test');
    const statuses: number[] = [];
    // The client forges a new first entry each time; the proxy (TRUST_PROXY=on: one hop) appends the real address.
    for (let i = 0; i < 62; i++)
      statuses.push(
        (await click(program.publicKey, a.code, { ip: `10.9.${i}.1, 198.51.100.99`, ua: `${UA} f${i}` })).status,
      );
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.slice(60)).toEqual([429, 429]);
    const ips = await app.db.selectFrom('clicks').select('ip').distinct().where('affiliate_id', '=', a.id).execute();
    expect(ips.map((r) => r.ip)).toEqual(['198.51.100.99']);
  });

  it('does not count a reload of the same ?ref= page by the same visitor, cookie or not', async () => {
    const { program, make } = await setup();
    const a = await make('reload@x.test');
    const ip = nextIp();
    const first = await click(program.publicKey, a.code, { ip });
    const reloadNoCookie = await click(program.publicKey, a.code, { ip });
    const reloadWithCookie = await click(program.publicKey, a.code, { ip: nextIp(), referral: first.body.referral });
    expect(reloadNoCookie.body.referral).toBe(first.body.referral);
    expect(reloadWithCookie.body.referral).toBe(first.body.referral);
    expect(await clickCount(a.id)).toBe(1);
  });

  it('last_click: a second affiliate takes the visitor over', async () => {
    const { program, make } = await setup({ attribution: 'last_click' });
    const [a, b] = [await make('la@x.test'), await make('lb@x.test')];
    const first = await click(program.publicKey, a.code);
    const second = await click(program.publicKey, b.code, { referral: first.body.referral });
    expect(second.body.affiliate).toBe(b.code);
    expect(second.body.referral).not.toBe(first.body.referral);
  });

  it('first_click: the first affiliate keeps the visitor; the second still gets the click counted', async () => {
    const { program, make } = await setup({ attribution: 'first_click' });
    const [a, b] = [await make('fa@x.test'), await make('fb@x.test')];
    const first = await click(program.publicKey, a.code);
    const second = await click(program.publicKey, b.code, { referral: first.body.referral });
    expect(second.body).toMatchObject({ referral: first.body.referral, affiliate: a.code, attribution: 'first_click' });
    expect(await clickCount(b.id)).toBe(1);
    const bReferrals = await app.db.selectFrom('referrals').select('id').where('affiliate_id', '=', b.id).execute();
    expect(bReferrals).toHaveLength(0);
    // 10 days later the first referral has 20 days left: the snippet must not restart its cookie at 30.
    app.advance(10 * 86_400_000);
    try {
      const later = await click(program.publicKey, b.code, { referral: first.body.referral });
      expect(later.body).toMatchObject({ referral: first.body.referral, cookieDays: 20 });
    } finally {
      app.advance(-10 * 86_400_000);
    }
  });

  it('an expired referral is not reused: the visitor starts a new one', async () => {
    const { program, make } = await setup();
    const a = await make('expired@x.test');
    const first = await click(program.publicKey, a.code);
    app.advance(31 * 86_400_000);
    try {
      const later = await click(program.publicKey, a.code, { referral: first.body.referral });
      expect(later.body.referral).not.toBe(first.body.referral);
    } finally {
      app.advance(-31 * 86_400_000);
    }
  });

  it('sets the referral cookie itself when it shares the page’s registrable domain', async () => {
    const { program, make } = await setup();
    const a = await make('cookie@x.test');
    // The merchant serves partnerkit as track.shop.test: a raw request with that Host header.
    const { port } = new URL(app.url);
    const body = JSON.stringify({ key: program.publicKey, code: a.code });
    const res = await new Promise<{ status: number; cookies: string[]; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/track/click',
          method: 'POST',
          headers: {
            host: 'track.shop.test',
            origin: 'https://www.shop.test',
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
            resolve({ status: r.statusCode!, cookies: (r.headers['set-cookie'] as string[]) ?? [], body: data }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(res.status).toBe(200);
    const referral = JSON.parse(res.body).referral;
    expect(res.cookies).toContain(
      `pk_ref=${referral}; Max-Age=2592000; Domain=shop.test; Path=/; Secure; SameSite=Lax`,
    );
    expect(res.cookies).toContain(`pk_aff=${a.code}; Max-Age=2592000; Domain=shop.test; Path=/; Secure; SameSite=Lax`);
    // A different site gets no cookie from us (it would be a third-party cookie).
    const elsewhere = await click(program.publicKey, a.code);
    expect(elsewhere.setCookie).toEqual([]);
  });

  it('answers every one of 300 simultaneous clicks and stores exactly 300', async () => {
    const { program, make } = await setup();
    const a = await make('burst@x.test');
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => click(program.publicKey, a.code, { ip: `10.1.${i >> 8}.${i & 255}` })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.referral)).size).toBe(300);
    expect(await clickCount(a.id)).toBe(300);
    // The daily rollup the dashboards read agrees with the click rows.
    const rollup = await app.db
      .selectFrom('affiliate_daily_clicks')
      .select('clicks')
      .where('affiliate_id', '=', a.id)
      .execute();
    expect(rollup.reduce((n, r) => n + r.clicks, 0)).toBe(300);
  });

  it('stores hostile clicks (NUL bytes, lone surrogates, a forged X-Forwarded-For) without failing the clicks batched with them', async () => {
    const { program, make } = await setup();
    const a = await make('hostile@x.test');
    const hostile = (_i: number, fields: Record<string, string>, ip = nextIp()) =>
      app.request('/api/v1/track/click', {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          origin: 'https://www.shop.test',
          'user-agent': UA,
          'x-forwarded-for': ip,
        },
        body: JSON.stringify({ key: program.publicKey, code: a.code, ...fields }),
      });
    const answers = await Promise.all([
      hostile(0, { url: 'https://www.shop.test/?ref=x\u0000y' }),
      hostile(1, { referrer: 'https://blog.test/\ud800' }),
      hostile(2, { url: 'https://www.shop.test/' }, 'not-an-ip, also bad'),
      ...Array.from({ length: 20 }, (_, i) => hostile(3 + i, { url: `https://www.shop.test/?n=${i}` })),
    ]);
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(await clickCount(a.id)).toBe(23);
    const urls = await app.db
      .selectFrom('clicks')
      .select(['url', 'referrer'])
      .where('affiliate_id', '=', a.id)
      .execute();
    expect(urls.map((u) => u.url)).toContain('https://www.shop.test/?ref=xy');
    expect(urls.map((u) => u.referrer)).toContain('https://blog.test/\ufffd');
  });
});

describe('POST /api/v1/track/lead', () => {
  it('turns the referral into a lead with its e-mail', async () => {
    const { program, make } = await setup();
    const a = await make('lead@x.test');
    const c = await click(program.publicKey, a.code);
    const res = await app.request('/api/v1/track/lead', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://www.shop.test' },
      body: JSON.stringify({ key: program.publicKey, referral: c.body.referral, email: 'Buyer@Example.com' }),
    });
    expect(res.status).toBe(200);
    const row = await app.db
      .selectFrom('referrals')
      .select(['status', 'email'])
      .where('id', '=', c.body.referral)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'lead', email: 'buyer@example.com' });
  });
});

describe('GET /r/:slug', () => {
  it('records a click and redirects to the merchant’s page with the code and referral', async () => {
    const { admin, make } = await setup();
    const a = await make('slug@x.test');
    const link = (
      await admin.post('/api/v1/links', {
        affiliateId: a.id,
        slug: `deal-${a.id.slice(-6)}`,
        destinationUrl: 'https://www.shop.test/pricing?plan=pro',
      })
    ).body.link;
    const res = await app.request(`/r/${link.slug}`, {
      redirect: 'manual',
      headers: { 'user-agent': UA, 'x-forwarded-for': nextIp() },
    });
    expect(res.status).toBe(302);
    const target = new URL(res.headers.get('location')!);
    expect(`${target.origin}${target.pathname}`).toBe('https://www.shop.test/pricing');
    expect(target.searchParams.get('plan')).toBe('pro');
    expect(target.searchParams.get('ref')).toBe(a.code);
    const referral = target.searchParams.get('pk_ref')!;
    const row = await app.db
      .selectFrom('clicks')
      .select(['link_id', 'referral_id'])
      .where('affiliate_id', '=', a.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ link_id: link.id, referral_id: referral });
  });

  it('answers 404 for an unknown slug and never redirects elsewhere', async () => {
    const res = await app.request('/r/no-such-link', { redirect: 'manual' });
    expect(res.status).toBe(404);
    expect(res.headers.get('location')).toBeNull();
  });

  it('still sends the visitor on, without a code, when the affiliate is suspended', async () => {
    const { admin, make } = await setup();
    const a = await make('susp@x.test');
    const link = (await admin.post('/api/v1/links', { affiliateId: a.id, destinationUrl: 'https://www.shop.test/' }))
      .body.link;
    await admin.post(`/api/v1/affiliates/${a.id}/suspend`);
    const res = await app.request(`/r/${link.slug}`, { redirect: 'manual', headers: { 'user-agent': UA } });
    expect(res.headers.get('location')).toBe('https://www.shop.test/');
    expect(await clickCount(a.id)).toBe(0);
  });
});
