/**
 * Issue 20, program branding over the real admin API, PostgreSQL and a real SMTP server: `PATCH /api/v1/program`
 * `{ branding }` takes an https logo and a `#rrggbb` accent and refuses everything else with a 400 naming the field
 * (and the database's CHECKs refuse what bypasses the API); null clears; the partner dashboard's public program info
 * and `me` answer it with the text colour for the accent; the e-mails show the logo (alt = program name) and the
 * accent, HTML-escaped; the CLI's `program set-branding` does the same through the same service; the pages' CSP lets
 * the logo load. Also: a revoked API key gets 401 on its very next request.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { openShop, type Shop } from '../helpers/fixtures.ts';
import { runCli } from '../helpers/cli.ts';
import { startSmtpServer, type SmtpServer } from '../helpers/smtp.ts';
import { contrastRatio, textColorOn } from '../../server/lib/contrast.ts';

let app: TestApp;
let smtp: SmtpServer;
let shop: Shop;

beforeAll(async () => {
  smtp = await startSmtpServer();
  app = await startTestApp({ SMTP_URL: smtp.url('partners@acme.test'), TRUST_PROXY: 'on' });
  shop = await openShop(app, { name: 'Acme <Shop> & "Co"' });
});
afterAll(async () => {
  await app?.stop();
  await smtp?.close();
});

const branding = (b: unknown) => shop.admin.patch('/api/v1/program', { branding: b });

describe('WCAG text colour on the accent', () => {
  it.each([
    ['#000000', '#ffffff'],
    ['#ffffff', '#000000'],
    ['#ffff00', '#000000'],
    ['#0a66c2', '#ffffff'],
    // Around the crossing (luminance ≈ 0.179): #767676 is 4.62:1 on black, 4.54:1 on white; #757575 the other way.
    ['#767676', '#000000'],
    ['#757575', '#ffffff'],
  ])('%s → %s', (accent, text) => {
    expect(textColorOn(accent)).toBe(text);
  });
  it('has the WCAG ratios of the extremes and of #767676 on white (4.54:1)', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#123456', '#123456')).toBe(1);
    expect(contrastRatio('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
  });
});

describe('PATCH /api/v1/program { branding }', () => {
  it('sets an https logo and an accent, answers the text colour, and GET answers the same', async () => {
    const res = await branding({ logoUrl: 'https://cdn.acme.test/logo.png', accentColor: '#0A66C2' });
    expect(res.status).toBe(200);
    const expected = {
      logoUrl: 'https://cdn.acme.test/logo.png',
      accentColor: '#0a66c2',
      accentTextColor: '#ffffff',
    };
    expect(res.body.program.branding).toEqual(expected);
    expect((await shop.admin.get('/api/v1/program')).body.program.branding).toEqual(expected);
  });

  it.each([
    ['http: logo', { logoUrl: 'http://cdn.acme.test/logo.png' }, 'logoUrl'],
    ['javascript: logo', { logoUrl: 'javascript:alert(1)' }, 'logoUrl'],
    ['data: logo', { logoUrl: 'data:image/png;base64,AAAA' }, 'logoUrl'],
    ['logo whose host is no host name', { logoUrl: 'https://cdn acme.test/logo.png' }, 'logoUrl'],
    ['logo over 2048 characters', { logoUrl: `https://cdn.acme.test/${'a'.repeat(2030)}.png` }, 'logoUrl'],
    ['colour name', { accentColor: 'red' }, 'accentColor'],
    ['short colour', { accentColor: '#fff' }, 'accentColor'],
    ['colour with CSS after it', { accentColor: '#000000;background:url(x)' }, 'accentColor'],
    ['unknown field', { font: 'Comic Sans' }, 'branding'],
  ])('refuses a %s with 400 naming the field, and changes nothing', async (_what, body, field) => {
    const before = (await shop.admin.get('/api/v1/program')).body.program.branding;
    const res = await branding(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toContain(field);
    expect((await shop.admin.get('/api/v1/program')).body.program.branding).toEqual(before);
  });

  it('the database refuses what bypasses the API (CHECKs of migration 0032)', async () => {
    for (const patch of [
      sql`UPDATE programs SET logo_url = 'javascript:alert(1)' WHERE id = ${shop.program.id}`,
      sql`UPDATE programs SET logo_url = 'http://cdn.acme.test/x.png' WHERE id = ${shop.program.id}`,
      sql`UPDATE programs SET logo_url = ${`https://x.test/${'a'.repeat(2040)}`} WHERE id = ${shop.program.id}`,
      sql`UPDATE programs SET accent_color = '#FFFFFF' WHERE id = ${shop.program.id}`,
      sql`UPDATE programs SET accent_color = 'red' WHERE id = ${shop.program.id}`,
    ]) {
      await expect(patch.execute(app.db)).rejects.toMatchObject({ code: '23514' });
    }
  });

  it('a null field clears it alone; branding: null clears both', async () => {
    await branding({ logoUrl: 'https://cdn.acme.test/logo.png', accentColor: '#ffcc00' });
    const one = await branding({ logoUrl: null });
    expect(one.body.program.branding).toEqual({ logoUrl: null, accentColor: '#ffcc00', accentTextColor: '#000000' });
    await branding({ logoUrl: 'https://cdn.acme.test/logo.png' });
    const both = await branding(null);
    expect(both.body.program.branding).toEqual({ logoUrl: null, accentColor: null, accentTextColor: null });
  });
});

describe('where the branding shows', () => {
  const logo = 'https://cdn.acme.test/logo.png?size=2&v="1"';

  beforeAll(async () => {
    expect((await branding({ logoUrl: logo, accentColor: '#0a66c2' })).status).toBe(200);
  });

  it('the partner dashboard’s public program info (apply and login pages) answers it', async () => {
    const res = await app.request(`/api/v1/partner/programs/${shop.program.id}`);
    expect(res.status).toBe(200);
    // Stored as the URL parser writes it: the quotes percent-encoded.
    expect((await res.json()).program.branding).toEqual({
      logoUrl: 'https://cdn.acme.test/logo.png?size=2&v=%221%22',
      accentColor: '#0a66c2',
      accentTextColor: '#ffffff',
    });
  });

  it('the dashboard pages’ CSP lets an https logo load', async () => {
    const res = await app.request('/partner/login');
    expect(res.headers.get('content-security-policy')).toMatch(/img-src 'self' data: https:;/);
  });

  it('e-mails show the logo with the program name as alt text and the accent, HTML-escaped', async () => {
    const email = `ada${Date.now()}@creator.test`;
    const applied = await app.request(`/api/v1/partner/programs/${shop.program.id}/apply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
      body: JSON.stringify({ name: 'Ada', email, promotionMethod: 'Newsletter' }),
    });
    expect(applied.status).toBe(202);
    await app.services.mailOutbox.sendDue();
    const mail = smtp.messages.find((m) => m.to.includes(email));
    expect(mail, 'the application mail').toBeDefined();
    expect(mail!.html).toContain(
      '<img src="https://cdn.acme.test/logo.png?size=2&amp;v=%221%22" alt="Acme &lt;Shop&gt; &amp; &quot;Co&quot;"',
    );
    expect(mail!.html).toContain('border-bottom:3px solid #0a66c2');
    expect(mail!.html).not.toContain('<Shop>');
    // The text part keeps the name as it is (plain text needs no escaping).
    expect(mail!.text.split('\n')[0]).toBe('Acme <Shop> & "Co"');
  });
});

describe('CLI program set-branding', { timeout: 60_000 }, () => {
  it('sets and clears through the same rules', async () => {
    const ok = await runCli(app.databaseUrl, [
      'program',
      'set-branding',
      '--program',
      shop.program.id,
      '--logo',
      'https://cdn.acme.test/cli.svg',
      '--accent',
      '#FFCC00',
      '--json',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({
      id: shop.program.id,
      logoUrl: 'https://cdn.acme.test/cli.svg',
      accentColor: '#ffcc00',
      accentTextColor: '#000000',
    });
    const bad = await runCli(app.databaseUrl, [
      'program',
      'set-branding',
      '--program',
      shop.program.id,
      '--logo',
      'http://x.test/a.png',
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('logoUrl');
    const cleared = await runCli(app.databaseUrl, [
      'program',
      'set-branding',
      '--program',
      shop.program.id,
      '--logo',
      '',
      '--json',
    ]);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ logoUrl: null, accentColor: '#ffcc00' });
  });
});

describe('API keys', () => {
  it('a revoked key gets 401 on its next request; the others keep working', async () => {
    const created = await shop.admin.post('/api/v1/api-keys', { name: 'Zapier' });
    expect(created.status).toBe(201);
    const zapier = adminClient(app, created.body.apiKey.key);
    expect((await zapier.get('/api/v1/program')).status).toBe(200);
    const listed = (await shop.admin.get('/api/v1/api-keys')).body.data.find(
      (k: { id: string }) => k.id === created.body.apiKey.id,
    );
    expect(listed.lastUsedAt).not.toBeNull();
    const revoked = await shop.admin.delete(`/api/v1/api-keys/${created.body.apiKey.id}`);
    expect(revoked.body.apiKey.revokedAt).not.toBeNull();
    const after = await zapier.get('/api/v1/program');
    expect(after).toEqual({ status: 401, body: { error: { code: 'invalid_api_key', message: expect.any(String) } } });
    expect((await shop.admin.get('/api/v1/program')).status).toBe(200);
  });
});
