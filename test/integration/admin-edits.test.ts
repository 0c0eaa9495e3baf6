/**
 * What a merchant can change after creating it, over the real admin API and PostgreSQL: API keys (named, shown
 * once, last use, revoked — never the last one, also under concurrent revocations), Stripe webhook signing secrets
 * (added, retired with overlap, never the last one; checked by signed Stripe events), affiliates (edited, deleted
 * only with nothing on record) and tracking links (edited, retired: the URL redirects on without a click).
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutCompleted, deliverRaw } from '../helpers/stripe.ts';
import { approvedAffiliate, BROWSER_UA as UA, openShop, sendClick } from '../helpers/fixtures.ts';
import type { CreatedProgram } from '../../server/programs/programs.service.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

const shop = (webhookSecret?: string) =>
  openShop(app, { website: 'https://shop.test', ...(webhookSecret ? { secret: webhookSecret } : {}) });

async function affiliate(admin: ReturnType<typeof adminClient>, extra: { status?: 'pending'; name?: string } = {}) {
  if (extra.status !== 'pending') return approvedAffiliate({ admin }, { name: extra.name });
  const res = await admin.post('/api/v1/affiliates', { email: `pending${Date.now()}@x.test`, name: extra.name ?? 'P' });
  expect(res.status).toBe(201);
  return res.body.affiliate as { id: string; code: string; email: string };
}

const click = (publicKey: string, code: string) =>
  sendClick({ app, program: { publicKey } as CreatedProgram, website: 'https://shop.test' }, code);

const clicksOf = async (affiliateId: string) =>
  Number(
    (await sql<{ n: string }>`SELECT count(*) AS n FROM clicks WHERE affiliate_id = ${affiliateId}`.execute(app.db))
      .rows[0]!.n,
  );

describe('API keys', () => {
  it('a named key is shown once, opens the API, shows its last use, and stops at once when revoked', async () => {
    const { program, admin } = await shop();
    const created = await admin.post('/api/v1/api-keys', { name: 'Zapier' });
    expect(created.status).toBe(201);
    const key = created.body.apiKey;
    expect(key.key).toMatch(/^sk_pk_/);
    expect(key.prefix).toBe(key.key.slice(0, 12));
    expect(key.lastUsedAt).toBeNull();

    const zapier = adminClient(app, key.key);
    expect((await zapier.get('/api/v1/program')).status).toBe(200);
    const listed = (await admin.get('/api/v1/api-keys')).body.data as Array<Record<string, unknown>>;
    expect(listed).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain(key.key);
    expect(JSON.stringify(listed)).not.toContain(program.apiKey);
    const mine = listed.find((k) => k.id === key.id)!;
    expect(mine.name).toBe('Zapier');
    expect(mine.lastUsedAt).not.toBeNull();

    const revoked = await admin.delete(`/api/v1/api-keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.apiKey.revokedAt).not.toBeNull();
    const after = await zapier.get('/api/v1/program');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('invalid_api_key');
    // Again: answered as it is; the other key still works.
    expect((await admin.delete(`/api/v1/api-keys/${key.id}`)).status).toBe(200);
    expect((await admin.get('/api/v1/program')).status).toBe(200);
  });

  it('the last active key cannot be revoked, and another program’s key is not found', async () => {
    const { admin } = await shop();
    const { admin: other } = await shop();
    const [only] = (await admin.get('/api/v1/api-keys')).body.data;
    const res = await admin.delete(`/api/v1/api-keys/${only.id}`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('last_api_key');
    expect((await other.delete(`/api/v1/api-keys/${only.id}`)).status).toBe(404);
    expect((await admin.post('/api/v1/api-keys', { name: '' })).status).toBe(400);
    expect((await admin.get('/api/v1/program')).status).toBe(200);
  });

  it('rotating a key: a new one with its name works at once, the old one stops, twice at once rotates once', async () => {
    const { program, admin } = await shop();
    const { admin: other } = await shop();
    const [only] = (await admin.get('/api/v1/api-keys')).body.data;
    expect((await other.post(`/api/v1/api-keys/${only.id}/rotate`)).status).toBe(404);
    // Two rotations of the same key at once (straight to the service: over HTTP the second could already find its
    // own key revoked at authentication): one rotates, the other finds the key revoked.
    const both = await Promise.allSettled([
      app.services.credentials.rotateApiKey(program, only.id),
      app.services.credentials.rotateApiKey(program, only.id),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))).toEqual([
      'api_key_revoked',
    ]);
    const old = (await admin.post(`/api/v1/api-keys/${only.id}/rotate`)).status;
    expect(old).toBe(401);
    const rotated = (
      both.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{
        key: string;
        id: string;
        name: string | null;
      }>
    ).value;
    expect(rotated.key).toMatch(/^sk_pk_/);
    expect(rotated.name).toBe(only.name);
    expect(rotated.id).not.toBe(only.id);
    expect((await admin.get('/api/v1/program')).status).toBe(401);
    const fresh = adminClient(app, rotated.key);
    expect((await fresh.get('/api/v1/program')).status).toBe(200);
    const keys = (await fresh.get('/api/v1/api-keys')).body.data as Array<{ id: string; revokedAt: string | null }>;
    expect(keys.filter((k) => !k.revokedAt).map((k) => k.id)).toEqual([rotated.id]);
  });

  it('concurrent revocations never leave a program without an active key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), async (extra) => {
        const { program, admin } = await shop();
        for (let i = 0; i < extra; i++) await admin.post('/api/v1/api-keys', { name: `k${i}` });
        const ids = ((await admin.get('/api/v1/api-keys')).body.data as Array<{ id: string }>).map((k) => k.id);
        const results = await Promise.all(
          ids.map((id) =>
            app.services.credentials.revokeApiKey(program, id).then(
              () => 'revoked',
              (err: { code?: string }) => err.code,
            ),
          ),
        );
        expect(results.filter((r) => r === 'revoked')).toHaveLength(ids.length - 1);
        expect(results.filter((r) => r === 'last_api_key')).toHaveLength(1);
        const active = (await app.services.credentials.listApiKeys(program)).filter((k) => !k.revokedAt);
        expect(active).toHaveLength(1);
      }),
      { numRuns: 6 },
    );
  });
});

describe('Stripe webhook signing secrets', () => {
  it('roll over: both verify while active, the retired one stops, the last one stays', async () => {
    const oldSecret = `whsec_old${Date.now()}abcd`;
    const newSecret = `whsec_new${Date.now()}wxyz`;
    const { program, admin } = await shop(oldSecret);
    const sale = () => JSON.stringify(checkoutCompleted({ referral: null, amountTotal: 1000 }));

    const added = await admin.post('/api/v1/webhook-secrets', { secret: newSecret });
    expect(added.status).toBe(201);
    expect(added.body.data.map((s: { hint: string }) => s.hint).sort()).toEqual(['whsec_…abcd', 'whsec_…wxyz']);
    expect(JSON.stringify(added.body)).not.toContain(oldSecret);
    expect((await deliverRaw(app.url, program.id, sale(), oldSecret)).status).toBe(200);
    expect((await deliverRaw(app.url, program.id, sale(), newSecret)).status).toBe(200);

    const old = added.body.data.find((s: { hint: string }) => s.hint === 'whsec_…abcd');
    const retired = await admin.delete(`/api/v1/webhook-secrets/${old.id}`);
    expect(retired.status).toBe(200);
    expect(retired.body.data.find((s: { id: string }) => s.id === old.id).retiredAt).not.toBeNull();
    expect((await deliverRaw(app.url, program.id, sale(), oldSecret)).status).toBe(400);
    expect((await deliverRaw(app.url, program.id, sale(), newSecret)).status).toBe(200);

    const current = retired.body.data.find((s: { hint: string }) => s.hint === 'whsec_…wxyz');
    const last = await admin.delete(`/api/v1/webhook-secrets/${current.id}`);
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_webhook_secret');
    expect((await deliverRaw(app.url, program.id, sale(), newSecret)).status).toBe(200);
    expect((await admin.post('/api/v1/webhook-secrets', { secret: 'not-a-secret' })).status).toBe(400);
  });
});

describe('affiliates', () => {
  it('PATCH changes e-mail, name and code; the new code attributes clicks, the old one no longer does', async () => {
    const { program, admin } = await shop();
    const a = await affiliate(admin);
    const taken = await affiliate(admin);
    const res = await admin.patch(`/api/v1/affiliates/${a.id}`, {
      name: 'Renamed',
      email: 'new@x.test',
      code: 'spring',
    });
    expect(res.status).toBe(200);
    expect(res.body.affiliate).toMatchObject({ id: a.id, name: 'Renamed', email: 'new@x.test', code: 'spring' });
    expect(res.body.affiliate.referralLink).toBe('https://shop.test/?ref=spring');
    expect((await admin.get(`/api/v1/affiliates/${a.id}`)).body.affiliate.code).toBe('spring');

    expect((await click(program.publicKey, 'spring')).body.referral).not.toBeNull();
    expect((await click(program.publicKey, a.code)).body.referral).toBeNull();

    const codeTaken = await admin.patch(`/api/v1/affiliates/${a.id}`, { code: taken.code });
    expect([codeTaken.status, codeTaken.body.error.code]).toEqual([409, 'code_taken']);
    const emailTaken = await admin.patch(`/api/v1/affiliates/${a.id}`, { email: taken.email });
    expect([emailTaken.status, emailTaken.body.error.code]).toEqual([409, 'email_taken']);
    expect((await admin.patch(`/api/v1/affiliates/${a.id}`, {})).status).toBe(400);
    expect((await admin.patch(`/api/v1/affiliates/${a.id}`, { status: 'approved' })).status).toBe(400);
    expect((await admin.patch('/api/v1/affiliates/aff_nobody', { name: 'X' })).status).toBe(404);
    // Nothing of the refused changes was written.
    expect((await admin.get(`/api/v1/affiliates/${a.id}`)).body.affiliate).toMatchObject({
      name: 'Renamed',
      email: 'new@x.test',
      code: 'spring',
    });
  });

  it('DELETE removes an affiliate with nothing on record, and refuses one with a click', async () => {
    const { program, admin } = await shop();
    const unused = await affiliate(admin, { status: 'pending' });
    const active = await affiliate(admin);
    await admin.post('/api/v1/links', { affiliateId: unused.id });
    expect((await click(program.publicKey, active.code)).body.referral).not.toBeNull();

    const gone = await app.request(`/api/v1/affiliates/${unused.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${program.apiKey}` },
    });
    expect(gone.status).toBe(204);
    expect((await admin.get(`/api/v1/affiliates/${unused.id}`)).status).toBe(404);
    expect((await admin.get(`/api/v1/links?affiliateId=${unused.id}`)).body.data).toEqual([]);

    const kept = await admin.delete(`/api/v1/affiliates/${active.id}`);
    expect([kept.status, kept.body.error.code]).toEqual([409, 'affiliate_has_activity']);
    expect((await admin.get(`/api/v1/affiliates/${active.id}`)).status).toBe(200);
  });

  it('the list searches name, e-mail and code, with LIKE wildcards taken literally', async () => {
    const { admin } = await shop();
    const a = await affiliate(admin, { name: 'Jane 100% Doe' });
    await affiliate(admin, { name: 'Someone Else' });
    const byName = (await admin.get('/api/v1/affiliates?search=jane')).body.data;
    expect(byName.map((x: { id: string }) => x.id)).toEqual([a.id]);
    const byPercent = (await admin.get(`/api/v1/affiliates?search=${encodeURIComponent('100%')}`)).body.data;
    expect(byPercent.map((x: { id: string }) => x.id)).toEqual([a.id]);
    expect((await admin.get(`/api/v1/affiliates?search=${encodeURIComponent('%')}`)).body.data).toHaveLength(1);
    expect((await admin.get(`/api/v1/affiliates?search=${encodeURIComponent(a.email)}`)).body.data).toHaveLength(1);
  });

  it('the list takes ?ids= (the console names balance and payout rows with it), only within the program', async () => {
    const { admin } = await shop();
    const [a, b] = [await affiliate(admin), await affiliate(admin)];
    await affiliate(admin);
    const other = await affiliate((await shop()).admin);
    const ids = (q: string) =>
      admin.get(`/api/v1/affiliates?ids=${q}`).then((r) => r.body.data.map((x: { id: string }) => x.id).sort());
    expect(await ids(`${a.id},${b.id}`)).toEqual([a.id, b.id].sort());
    expect(await ids(`${a.id},${other.id}`)).toEqual([a.id]);
    const bad = await admin.get(`/api/v1/affiliates?ids=${encodeURIComponent(`${a.id},'; drop table x`)}`);
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
    const tooMany = await admin.get(`/api/v1/affiliates?ids=${Array.from({ length: 101 }, () => a.id).join(',')}`);
    expect(tooMany.status).toBe(400);
  });
});

describe('links', () => {
  it('PATCH changes destination (on the merchant’s site only) and campaign; DELETE retires without stranding', async () => {
    const { admin } = await shop();
    const a = await affiliate(admin);
    const link = (await admin.post('/api/v1/links', { affiliateId: a.id, campaign: 'spring' })).body.link;

    const moved = await admin.patch(`/api/v1/links/${link.id}`, {
      destinationUrl: 'https://shop.test/pricing',
      campaign: null,
    });
    expect(moved.status).toBe(200);
    expect(moved.body.link).toMatchObject({ destinationUrl: 'https://shop.test/pricing', campaign: null });
    const offSite = await admin.patch(`/api/v1/links/${link.id}`, { destinationUrl: 'https://evil.test/' });
    expect([offSite.status, offSite.body.error.code]).toEqual([400, 'destination_not_allowed']);
    expect((await admin.patch(`/api/v1/links/${link.id}`, { slug: 'other' })).status).toBe(400);

    const follow = () =>
      app.request(`/r/${link.slug}`, { redirect: 'manual', headers: { 'user-agent': UA } }).then((r) => ({
        status: r.status,
        location: r.headers.get('location'),
      }));
    const live = await follow();
    expect(live.status).toBe(302);
    expect(live.location).toContain('https://shop.test/pricing');
    expect(live.location).toContain('pk_ref=');
    const clicksBefore = await clicksOf(a.id);
    expect(clicksBefore).toBe(1);

    const retired = await admin.delete(`/api/v1/links/${link.id}`);
    expect(retired.status).toBe(200);
    expect(retired.body.link.archivedAt).not.toBeNull();
    expect((await admin.get('/api/v1/links')).body.data.map((l: { id: string }) => l.id)).not.toContain(link.id);
    expect((await admin.get('/api/v1/links?status=archived')).body.data.map((l: { id: string }) => l.id)).toEqual([
      link.id,
    ]);
    const after = await follow();
    expect(after.status).toBe(302);
    expect(after.location).toBe('https://shop.test/pricing');
    expect(await clicksOf(a.id)).toBe(clicksBefore);
  });
});
