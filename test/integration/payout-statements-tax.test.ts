/**
 * Statements, yearly earnings, tax details and the partner's Stripe status (issue 22) over real HTTP and PostgreSQL:
 * a partner downloads the statement of its own payouts only (CSV with the formula guard, a printable page with every
 * typed value escaped); yearly sums follow payout completion dates in UTC (23:59:59.999 on 31 December is the old
 * year, midnight the new one); the tax id is sealed at rest, shown masked in every answer (partner, admin, yearly
 * JSON and CSV, statements) and never logged; `secrets rotate` re-seals tax ids under the new key; the Connect card's
 * status is none → needs_information → ready / restricted.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { createSecretBox } from '../../server/lib/secrets.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import {
  approvedAffiliate,
  approvedSales,
  createShop,
  referredSale,
  savePayoutMethod,
  type Shop,
} from '../helpers/commissions.ts';
import { startFakeStripe, type FakeStripe } from '../helpers/fake-stripe-transfers.ts';

const root = path.resolve(import.meta.dirname, '../..');
const TEST_KEY = 'test-secret-key-test-secret-key-0123456789';
const NEW_KEY = 'rotated-secret-key-rotated-secret-key-98765';
const PASSWORD = 'a long enough partner password';
const TAX_ID = '987-65-4321';
const HOSTILE_PROGRAM = '=HYPERLINK("http://evil.test") <b>Shop</b> & "Co"';
const HOSTILE_LEGAL = '<img src=x onerror=alert(1)>Pat & Co';

let app: TestApp;
let stripe: FakeStripe;
const logs: string[] = [];
/** Every answer body the tests received (the tax id must appear in none). */
const answers: string[] = [];

beforeAll(async () => {
  stripe = await startFakeStripe();
  app = await startTestApp(
    { TRUST_PROXY: 'on', LOG_LEVEL: 'debug' },
    { stripeEndpoint: stripe.endpoint, log: (msg, err) => logs.push(`${msg} ${err ? String(err) : ''}`) },
  );
});
afterAll(async () => {
  await app?.stop();
  await stripe?.close();
});

/** An approved affiliate of `shop` with a password, logged in: a client of the partner API recording answers. */
async function partnerOf(shop: Shop) {
  const a = await approvedAffiliate(shop);
  const token = a.setPasswordUrl.split('#set-password=')[1];
  const res = await app.request('/api/v1/partner/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  const csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const call = async (method: string, p: string, body?: unknown) => {
    const r = await app.request(`/api/v1/partner${p}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    answers.push(text);
    return { status: r.status, type: r.headers.get('content-type') ?? '', headers: r.headers, text };
  };
  const json = async (method: string, p: string, body?: unknown) => {
    const r = await call(method, p, body);
    return { status: r.status, body: JSON.parse(r.text) };
  };
  return { ...a, call, json };
}

/** A completed payout of the affiliate's whole balance, completed at `at` (the merchant marked it paid then). */
async function completedPayout(shop: Shop, affiliateId: string, at?: Date, currency = 'usd') {
  const created = await shop.admin.post('/api/v1/payouts', { affiliateId, currency });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.payout.id as string;
  expect((await shop.admin.post(`/api/v1/payouts/${id}/complete`, { reference: 'PAYPAL-REF-1' })).status).toBe(200);
  if (at) await app.db.updateTable('payouts').set({ completed_at: at }).where('id', '=', id).execute();
  return id;
}

/** The CLI (`npm run cli -- …`) on the test database; `env` overrides the keys. */
function cli(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: app.databaseUrl, NO_COLOR: '1', SECRET_KEY: TEST_KEY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const admin = async (shop: Shop, p: string) => {
  const r = await app.request(p, { headers: { authorization: `Bearer ${shop.apiKey}` } });
  const text = await r.text();
  answers.push(text);
  return { status: r.status, type: r.headers.get('content-type') ?? '', text };
};

describe('payout statements', () => {
  it('gives the partner CSV and a printable page of its own payouts only, guarded and escaped', async () => {
    const shop = await createShop(app);
    expect((await shop.admin.patch('/api/v1/program', { name: HOSTILE_PROGRAM })).status).toBe(200);
    const partner = await partnerOf(shop);
    await shop.admin.patch(`/api/v1/affiliates/${partner.id}`, { name: '<script>alert("name")</script>' });
    await savePayoutMethod(app, partner.id, 'paypal', { email: 'pat@partners.test' });
    await approvedSales(app, shop, partner.code, 2, 25_000);
    const payoutId = await completedPayout(shop, partner.id);
    const conversions = await app.db
      .selectFrom('conversions')
      .select('occurred_at')
      .where('affiliate_id', '=', partner.id)
      .orderBy('occurred_at')
      .execute();

    const csv = await partner.call('GET', `/payouts/${payoutId}/statement.csv`);
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toContain(`statement-${payoutId}.csv`);
    const rows = parse(csv.text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(3);
    // The program's name starts with `=`: a spreadsheet would run it; the cell is neutralised.
    for (const r of rows) expect(r.program).toBe(`'${HOSTILE_PROGRAM}`);
    expect(rows.slice(0, 2).map((r) => [r.amount, r.currency, r.amount_minor, r.conversion_at])).toEqual(
      conversions.map((c) => ['25.00', 'USD', '2500', c.occurred_at.toISOString()]),
    );
    expect(rows[2]).toMatchObject({ commission_id: 'total', amount: '50.00', amount_minor: '5000' });
    expect(rows[0]!.payout_completed_at).toMatch(/^\d{4}-\d\d-\d\dT/);

    const html = await partner.call('GET', `/payouts/${payoutId}/statement.html`);
    expect(html.status).toBe(200);
    expect(html.type).toContain('text/html');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html.text).not.toMatch(/<script|<b>Shop/);
    expect(html.text).toContain(
      '=HYPERLINK(&quot;http://evil.test&quot;) &lt;b&gt;Shop&lt;/b&gt; &amp; &quot;Co&quot;',
    );
    expect(html.text).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
    expect(html.text).toContain('50.00 USD');
    expect(html.text).toContain(conversions[0]!.occurred_at.toISOString().slice(0, 10));
    expect(html.text).toContain('PAYPAL-REF-1');

    // Another partner of the same program, and an id that is no id: 404, as for an unknown payout.
    const other = await partnerOf(shop);
    for (const p of [`/payouts/${payoutId}/statement.csv`, `/payouts/${payoutId}/statement.html`]) {
      const r = await other.call('GET', p);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.text).error.code).toBe('payout_not_found');
    }
    expect((await partner.call('GET', '/payouts/po_nope/statement.csv')).status).toBe(404);
    expect((await partner.call('GET', '/payouts/%00/statement.html')).status).toBe(404);
    // Without a session: 401.
    expect((await app.request(`/api/v1/partner/payouts/${payoutId}/statement.csv`)).status).toBe(401);
  });
});

describe('yearly earnings', () => {
  it('counts payouts by completion date in UTC, per currency, for the partner and the merchant (JSON, CSV)', async () => {
    const shop = await createShop(app);
    const partner = await partnerOf(shop);
    await savePayoutMethod(app, partner.id, 'paypal', { email: 'pat@partners.test' });
    await approvedSales(app, shop, partner.code, 1, 10_000); // 10.00 usd commission
    await completedPayout(shop, partner.id, new Date('2025-12-31T23:59:59.999Z'));
    await approvedSales(app, shop, partner.code, 1, 20_000);
    await completedPayout(shop, partner.id, new Date('2026-01-01T00:00:00.000Z'));
    await approvedSales(app, shop, partner.code, 1, 40_000, 'eur');
    await completedPayout(shop, partner.id, new Date('2026-06-30T12:00:00.000Z'), 'eur');
    // Not paid yet: one approved, one still in its hold period.
    const thisYear = new Date().getUTCFullYear();
    await approvedSales(app, shop, partner.code, 1, 70_000);
    // A failed payout is not paid.
    const second = await approvedAffiliate(shop, `zz-${Date.now()}@partners.test`);
    await savePayoutMethod(app, second.id, 'paypal', { email: 'zz@partners.test' });
    await approvedSales(app, shop, second.code, 1, 30_000);
    await completedPayout(shop, second.id, new Date('2026-03-01T00:00:00.000Z'));
    await approvedSales(app, shop, second.code, 1, 90_000);
    const failing = (await shop.admin.post('/api/v1/payouts', { affiliateId: second.id })).body.payout.id;
    await shop.admin.post(`/api/v1/payouts/${failing}/fail`, { reason: 'bounced' });
    // After every approval run (they approve the whole program): stays in its hold period.
    await referredSale(app, shop, partner.code, { amount: 50_000 });

    expect((await partner.json('GET', '/earnings?year=2025')).body).toEqual({
      year: 2025,
      data: [{ currency: 'usd', paid: 1000, payouts: 1, pending: 0, approved: 0 }],
    });
    const y2026 = (await partner.json('GET', '/earnings?year=2026')).body;
    expect(y2026.year).toBe(2026);
    expect(y2026.data).toEqual(
      expect.arrayContaining([
        { currency: 'eur', paid: 4000, payouts: 1, pending: 0, approved: 0 },
        expect.objectContaining({ currency: 'usd', paid: 2000, payouts: 1 }),
      ]),
    );
    // Not yet paid: the commissions of this year still pending or approved.
    const current = (await partner.json('GET', `/earnings?year=${thisYear}`)).body;
    expect(current.data.find((d: { currency: string }) => d.currency === 'usd')).toMatchObject({
      pending: 5000,
      approved: 7000,
    });
    expect((await partner.json('GET', '/earnings?year=1999')).status).toBe(400);
    expect((await partner.json('GET', '/earnings?year=abc')).status).toBe(400);

    const merchant = JSON.parse((await admin(shop, '/api/v1/earnings/yearly?year=2026')).text);
    expect(merchant.data).toEqual([
      expect.objectContaining({ affiliateId: partner.id, currency: 'eur', totalPaid: 4000, taxId: null }),
      expect.objectContaining({ affiliateId: partner.id, currency: 'usd', totalPaid: 2000, payouts: 1 }),
      expect.objectContaining({ affiliateId: second.id, currency: 'usd', totalPaid: 3000, payouts: 1 }),
    ]);
    const y2025 = JSON.parse((await admin(shop, '/api/v1/earnings/yearly?year=2025')).text);
    expect(y2025.data).toEqual([expect.objectContaining({ affiliateId: partner.id, totalPaid: 1000 })]);
    // Another program sees none of it.
    const otherShop = await createShop(app);
    expect(JSON.parse((await admin(otherShop, '/api/v1/earnings/yearly?year=2026')).text).data).toEqual([]);

    const csv = await admin(shop, '/api/v1/earnings/yearly.csv?year=2026');
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    const rows = parse(csv.text, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.affiliate_id, r.currency, r.total_paid, r.total_paid_minor])).toEqual([
      [partner.id, 'EUR', '40.00', '4000'],
      [partner.id, 'USD', '20.00', '2000'],
      [second.id, 'USD', '30.00', '3000'],
    ]);
  });
});

describe('tax details', () => {
  it('needs the password, seals the tax id, shows it masked everywhere, never logs it', async () => {
    const shop = await createShop(app);
    const partner = await partnerOf(shop);
    expect((await partner.json('GET', '/tax-info')).body).toEqual({
      legalName: null,
      country: null,
      taxId: null,
      updatedAt: null,
    });
    const body = { legalName: HOSTILE_LEGAL, country: 'us', taxId: TAX_ID };
    expect((await partner.json('PUT', '/tax-info', body)).status).toBe(400);
    expect((await partner.json('PUT', '/tax-info', { ...body, password: 'wrong password' })).body).toMatchObject({
      error: { code: 'invalid_credentials' },
    });
    expect((await partner.json('PUT', '/tax-info', { ...body, country: 'USA', password: PASSWORD })).status).toBe(400);
    const saved = await partner.json('PUT', '/tax-info', { ...body, password: PASSWORD });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({ legalName: HOSTILE_LEGAL, country: 'US', taxId: '•••• 4321' });
    expect((await partner.json('GET', '/tax-info')).body.taxId).toBe('•••• 4321');

    const row = await app.db
      .selectFrom('affiliate_tax_info')
      .selectAll()
      .where('affiliate_id', '=', partner.id)
      .executeTakeFirstOrThrow();
    expect(row.tax_id).toMatch(/^v1:/);
    expect(row.tax_id).not.toContain('4321');
    expect(
      createSecretBox({ secretKey: TEST_KEY, secretKeyPrevious: null }).open(
        'affiliate_tax_id',
        row.tax_id,
        partner.id,
      ),
    ).toBe(TAX_ID);

    const adminView = await admin(shop, `/api/v1/affiliates/${partner.id}/tax-info`);
    expect(JSON.parse(adminView.text).taxInfo).toMatchObject({ legalName: HOSTILE_LEGAL, taxId: '•••• 4321' });
    const otherShop = await createShop(app);
    expect((await admin(otherShop, `/api/v1/affiliates/${partner.id}/tax-info`)).status).toBe(404);

    // In the yearly export and on the statement, masked; the legal name is escaped on the page, guarded in CSV.
    await savePayoutMethod(app, partner.id, 'paypal', { email: 'pat@partners.test' });
    await approvedSales(app, shop, partner.code, 1, 10_000);
    const payoutId = await completedPayout(shop, partner.id);
    const year = new Date().getUTCFullYear();
    expect(JSON.parse((await admin(shop, `/api/v1/earnings/yearly?year=${year}`)).text).data).toEqual([
      expect.objectContaining({ legalName: HOSTILE_LEGAL, country: 'US', taxId: '•••• 4321', totalPaid: 1000 }),
    ]);
    const csv = parse((await admin(shop, `/api/v1/earnings/yearly.csv?year=${year}`)).text, {
      columns: true,
    }) as Record<string, string>[];
    expect(csv[0]).toMatchObject({ tax_id: '•••• 4321', country: 'US', legal_name: HOSTILE_LEGAL });
    const html = (await partner.call('GET', `/payouts/${payoutId}/statement.html`)).text;
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;Pat &amp; Co');
    expect(html).not.toContain('<img');
    expect(html).toContain('•••• 4321');

    // A formula in the legal name is neutralised in the CSV export.
    await partner.json('PUT', '/tax-info', { ...body, legalName: '@SUM(A1:A9)', password: PASSWORD });
    const guarded = parse((await admin(shop, `/api/v1/earnings/yearly.csv?year=${year}`)).text, {
      columns: true,
    }) as Record<string, string>[];
    expect(guarded[0]!.legal_name).toBe("'@SUM(A1:A9)");

    // The CLI's yearly export: the same rows, masked too.
    const json = await cli({}, 'payouts', 'yearly', '--program', shop.id, '--year', String(year), '--json');
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).data).toEqual([
      expect.objectContaining({ affiliateId: partner.id, taxId: '•••• 4321', totalPaid: 1000 }),
    ]);
    const file = await cli({}, 'payouts', 'yearly', '--program', shop.id, '--year', String(year), '--csv');
    expect(parse(file.stdout, { columns: true })).toEqual([
      expect.objectContaining({ tax_id: '•••• 4321', legal_name: "'@SUM(A1:A9)", total_paid: '10.00' }),
    ]);
    answers.push(json.stdout, file.stdout);

    for (const a of answers) {
      expect(a).not.toContain(TAX_ID);
      expect(a).not.toContain('987654321');
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(TAX_ID);
  });

  it('`secrets rotate` re-seals tax ids under the new SECRET_KEY', { timeout: 60_000 }, async () => {
    const shop = await createShop(app);
    const partner = await partnerOf(shop);
    expect(
      (
        await partner.json('PUT', '/tax-info', {
          legalName: 'Pat',
          country: 'DE',
          taxId: 'DE123456789',
          password: PASSWORD,
        })
      ).status,
    ).toBe(200);
    const before = (
      await app.db
        .selectFrom('affiliate_tax_info')
        .select('tax_id')
        .where('affiliate_id', '=', partner.id)
        .executeTakeFirstOrThrow()
    ).tax_id;

    const out = await cli({ SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: TEST_KEY }, 'secrets', 'rotate', '--json');
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const tax = JSON.parse(out.stdout).taxIds;
    expect(tax.failed).toBe(0);
    expect(tax.reencrypted).toBeGreaterThanOrEqual(2);
    expect(out.stdout).not.toContain('DE123456789');

    const after = (
      await app.db
        .selectFrom('affiliate_tax_info')
        .select('tax_id')
        .where('affiliate_id', '=', partner.id)
        .executeTakeFirstOrThrow()
    ).tax_id;
    expect(after).not.toBe(before);
    // The new key alone opens it; the old one no longer does.
    expect(
      createSecretBox({ secretKey: NEW_KEY, secretKeyPrevious: null }).open('affiliate_tax_id', after, partner.id),
    ).toBe('DE123456789');
    expect(() =>
      createSecretBox({ secretKey: TEST_KEY, secretKeyPrevious: null }).open('affiliate_tax_id', after, partner.id),
    ).toThrow();
  });
});

describe('Stripe Connect status', () => {
  it('is none, then needs_information after onboarding, then ready or restricted as Stripe says', async () => {
    const shop = await createShop(app);
    const partner = await partnerOf(shop);
    expect((await partner.json('GET', '/stripe-connect')).body).toEqual({
      status: 'none',
      available: false,
      accountId: null,
      country: null,
      requirementsDue: [],
    });
    await shop.admin.patch('/api/v1/program', { stripeApiKey: 'sk_test_51FakeKeyForStatus' });
    expect((await partner.json('GET', '/stripe-connect')).body).toMatchObject({ status: 'none', available: true });
    const onboarded = await partner.json('POST', '/stripe-connect/onboard', { country: 'FR', password: PASSWORD });
    expect(onboarded.status, JSON.stringify(onboarded.body)).toBe(200);
    const where = () => app.db.updateTable('affiliate_stripe_accounts').where('affiliate_id', '=', partner.id);
    await where()
      .set({ requirements_due: ['external_account'] })
      .execute();
    expect((await partner.json('GET', '/stripe-connect')).body).toEqual({
      status: 'needs_information',
      available: true,
      accountId: onboarded.body.accountId,
      country: 'FR',
      requirementsDue: ['external_account'],
    });
    await where().set({ transfers_active: true, payouts_enabled: true, requirements_due: [] }).execute();
    expect((await partner.json('GET', '/stripe-connect')).body.status).toBe('ready');
    await where().set({ payouts_enabled: false, disabled_reason: 'rejected.fraud' }).execute();
    expect((await partner.json('GET', '/stripe-connect')).body.status).toBe('restricted');
    expect((await app.request('/api/v1/partner/stripe-connect')).status).toBe(401);
  });
});
