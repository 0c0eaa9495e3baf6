/**
 * A program's other root domains (`allowedDomains`, the snippet's `data-domains`), set through the admin API
 * (`PATCH /api/v1/program`) and the CLI (`program set-domains`), over real HTTP, PostgreSQL and a real CLI process:
 * what is accepted and how it is stored, and that the click `Origin` check and link destinations follow it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { MAX_ALLOWED_DOMAINS } from '../../server/programs/programs.service.ts';

const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const root = path.resolve(import.meta.dirname, '../..');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

async function setup() {
  const program = await app.services.programs.create({ name: 'Shop', website: 'https://www.shop.test' });
  const admin = adminClient(app, program.apiKey);
  const affiliate = (await admin.post('/api/v1/affiliates', { email: 'a@x.test', name: 'A', status: 'approved' })).body
    .affiliate as { id: string; code: string };
  return { program, admin, affiliate };
}

const click = (key: string, code: string, origin: string) =>
  app.request('/api/v1/track/click', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin, 'user-agent': UA },
    body: JSON.stringify({ key, code }),
  });

function cli(
  databaseUrl: string,
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('PATCH /api/v1/program { allowedDomains }', () => {
  it('stores each host as its registrable domain, lower-cased, once; GET shows it; [] clears it', async () => {
    const { admin } = await setup();
    const res = await admin.patch('/api/v1/program', {
      allowedDomains: [' Shop-EU.test ', 'www.shop-eu.test', 'shop.co.uk', 'eu.acme.myshopify.com'],
    });
    expect(res.status).toBe(200);
    expect(res.body.program.allowedDomains).toEqual(['shop-eu.test', 'shop.co.uk', 'acme.myshopify.com']);
    expect((await admin.get('/api/v1/program')).body.program.allowedDomains).toEqual([
      'shop-eu.test',
      'shop.co.uk',
      'acme.myshopify.com',
    ]);
    expect((await admin.patch('/api/v1/program', { allowedDomains: [] })).body.program.allowedDomains).toEqual([]);
  });

  it.each([
    ['not a host name', ['https://shop-eu.test/']],
    ['an IP address', ['127.0.0.1']],
    ['localhost', ['localhost']],
    ['a public suffix (ICANN)', ['co.uk']],
    ['a public suffix (private section)', ['github.io']],
    ['an empty string', ['']],
    ['not a list', 'shop-eu.test'],
    ['too many', Array.from({ length: MAX_ALLOWED_DOMAINS + 1 }, (_, i) => `shop${i}.test`)],
  ])('refuses %s with a 400 naming the field, and keeps the list', async (_, allowedDomains) => {
    const { admin } = await setup();
    await admin.patch('/api/v1/program', { allowedDomains: ['kept.test'] });
    const res = await admin.patch('/api/v1/program', { allowedDomains });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toContain('allowedDomains');
    expect((await admin.get('/api/v1/program')).body.program.allowedDomains).toEqual(['kept.test']);
  });

  it('lets pages on the other domain send clicks and links point at it; strangers stay refused', async () => {
    const { program, admin, affiliate } = await setup();
    // Before: the other domain is a stranger (each program is cached ~10 s, so nothing is clicked before the PATCH).
    const before = await admin.post('/api/v1/links', {
      affiliateId: affiliate.id,
      destinationUrl: 'https://www.shop-eu.test/de',
    });
    expect(before.body.error?.code).toBe('destination_not_allowed');
    expect((await admin.patch('/api/v1/program', { allowedDomains: ['shop-eu.test'] })).status).toBe(200);

    const eu = await click(program.publicKey, affiliate.code, 'https://www.shop-eu.test');
    expect(eu.status).toBe(200);
    expect((await eu.json()).affiliate).toBe(affiliate.code);
    expect((await click(program.publicKey, affiliate.code, 'https://eu.shop-eu.test')).status).toBe(200);
    const stranger = await click(program.publicKey, affiliate.code, 'https://notshop-eu.test');
    expect([stranger.status, (await stranger.json()).error.code]).toEqual([403, 'origin_not_allowed']);

    const link = await admin.post('/api/v1/links', {
      affiliateId: affiliate.id,
      destinationUrl: 'https://www.shop-eu.test/de',
    });
    expect(link.status).toBe(201);
    const followed = await app.request(`/r/${link.body.link.slug}`, {
      redirect: 'manual',
      headers: { 'user-agent': UA },
    });
    expect(followed.headers.get('location')).toMatch(/^https:\/\/www\.shop-eu\.test\/de\?ref=/);
  });
});

describe('npm run cli -- program set-domains', { timeout: 60_000 }, () => {
  it('sets the list (the API shows it), refuses a public suffix with a non-zero exit, and "" clears it', async () => {
    const { program, admin } = await setup();
    const set = await cli(
      app.databaseUrl,
      'program',
      'set-domains',
      '--program',
      program.id,
      '--domains',
      'shop-eu.test, www.Shop.co.uk',
      '--json',
    );
    expect(set.stderr).toBe('');
    expect(set.status).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({
      id: program.id,
      website: 'https://www.shop.test',
      allowedDomains: ['shop-eu.test', 'shop.co.uk'],
    });
    expect((await admin.get('/api/v1/program')).body.program.allowedDomains).toEqual(['shop-eu.test', 'shop.co.uk']);

    const bad = await cli(app.databaseUrl, 'program', 'set-domains', '--program', program.id, '--domains', 'co.uk');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('allowedDomains');
    expect((await admin.get('/api/v1/program')).body.program.allowedDomains).toEqual(['shop-eu.test', 'shop.co.uk']);

    const cleared = await cli(app.databaseUrl, 'program', 'set-domains', '--program', program.id, '--domains', '');
    expect(cleared.status).toBe(0);
    expect((await admin.get('/api/v1/program')).body.program.allowedDomains).toEqual([]);
  });
});
