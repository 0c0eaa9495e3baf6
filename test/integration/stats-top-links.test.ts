/**
 * Issue 20, the console overview's top links (`GET /api/v1/stats/daily` `topLinks`), over real `/r/:slug` clicks and
 * signed Stripe sales: per tracking link the clicks through it, the sales of the referrals it brought and their
 * revenue per currency, best first (sales, then clicks); links without either and clicks without a link stay out;
 * another program's links never show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, BROWSER_UA, checkoutSale, openShop, sendClick, type Shop } from '../helpers/fixtures.ts';

let app: TestApp;
let shop: Shop;

beforeAll(async () => {
  app = await startTestApp();
  shop = await openShop(app, { website: 'https://shop.test' });
});
afterAll(async () => {
  await app?.stop();
});

async function link(affiliateId: string, campaign: string) {
  const res = await shop.admin.post('/api/v1/links', { affiliateId, destinationUrl: 'https://shop.test/p', campaign });
  expect(res.status).toBe(201);
  return res.body.link as { id: string; slug: string };
}

let visitors = 0;
/**
 * A new visitor (own user agent: one visitor's repeat within 30 minutes is no new click) following the link: the
 * server records the click and hands the referral on in `pk_ref`.
 */
async function follow(slug: string): Promise<string> {
  visitors++;
  const res = await app.request(`/r/${slug}`, {
    redirect: 'manual',
    headers: { 'user-agent': `${BROWSER_UA} link-visitor-${visitors}` },
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!).searchParams.get('pk_ref')!;
}

describe('GET /api/v1/stats/daily topLinks', () => {
  it('ranks the links by sales then clicks, with revenue per currency, in one answer', async () => {
    const ann = await approvedAffiliate(shop, { name: 'Ann', code: 'ann' });
    const ben = await approvedAffiliate(shop, { name: 'Ben', code: 'ben' });
    const spring = await link(ann.id, 'spring');
    const video = await link(ben.id, 'video');
    const idle = await link(ben.id, 'idle');

    const r1 = await follow(spring.slug);
    const r2 = await follow(spring.slug);
    await follow(video.slug);
    await follow(video.slug);
    await follow(video.slug);
    await checkoutSale(shop, r1, 10_000);
    await checkoutSale(shop, r2, 5_000, { currency: 'eur' });
    // A click without a tracking link (the ?ref= default) and a sale through it are no link's.
    const plain = await sendClick(shop, ann.code);
    await checkoutSale(shop, plain.body.referral!, 99_900);
    // Another program's link and click.
    const other = await openShop(app, { website: 'https://other.test' });
    const stranger = await approvedAffiliate(other, { code: 'stranger' });
    const theirs = await other.admin.post('/api/v1/links', {
      affiliateId: stranger.id,
      destinationUrl: 'https://other.test/',
    });
    await follow(theirs.body.link.slug);

    const res = await shop.admin.get('/api/v1/stats/daily?days=7');
    expect(res.status).toBe(200);
    expect(res.body.topLinks).toEqual([
      {
        id: spring.id,
        slug: spring.slug,
        campaign: 'spring',
        affiliate: { id: ann.id, name: 'Ann' },
        clicks: 2,
        sales: 2,
        revenue: [
          { currency: 'eur', amount: 5_000 },
          { currency: 'usd', amount: 10_000 },
        ],
      },
      {
        id: video.id,
        slug: video.slug,
        campaign: 'video',
        affiliate: { id: ben.id, name: 'Ben' },
        clicks: 3,
        sales: 0,
        revenue: [],
      },
    ]);
    expect(res.body.topLinks.map((l: { id: string }) => l.id)).not.toContain(idle.id);
    // The other program sees only its own link.
    const theirStats = await other.admin.get('/api/v1/stats/daily');
    expect(theirStats.body.topLinks.map((l: { id: string }) => l.id)).toEqual([theirs.body.link.id]);
  });
});
