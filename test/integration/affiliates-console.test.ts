/**
 * Issue 20, the console's Affiliates section over the real admin API and PostgreSQL: rejecting an application with
 * a reason (kept, answered, carried escaped by the rejection e-mail sent to a real SMTP server), the list's sort,
 * the per-affiliate filters the detail page reads, the CSV export (streamed, program-scoped, quoting, formula
 * cells neutralised) and the CSV import (per-row results; malformed, hostile and oversized files answer 4xx and
 * write nothing), and the same import/export from the CLI.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runCli } from '../helpers/cli.ts';
import { approvedAffiliate, checkoutSale, clickReferral, openShop, type Shop } from '../helpers/fixtures.ts';
import { startSmtpServer, type SmtpServer } from '../helpers/smtp.ts';
import { IMPORT_MAX_ROWS } from '../../server/affiliates/affiliates-csv.ts';

let app: TestApp;
let smtp: SmtpServer;

beforeAll(async () => {
  smtp = await startSmtpServer();
  app = await startTestApp({ SMTP_URL: smtp.url('partners@acme.test'), TRUST_PROXY: 'on' });
});
afterAll(async () => {
  await app?.stop();
  await smtp?.close();
});

/** POST a CSV body (as the console and curl send it) to the import route. */
async function importCsv(shop: Shop, body: string | Uint8Array<ArrayBuffer>, query = '') {
  const res = await app.request(`/api/v1/affiliates/import${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${shop.program.apiKey}`, 'content-type': 'text/csv' },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** GET the export and parse it as a spreadsheet would read it. */
async function exportCsv(shop: Shop, query = '') {
  const res = await app.request(`/api/v1/affiliates/export${query}`, {
    headers: { authorization: `Bearer ${shop.program.apiKey}` },
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
    text,
    rows: res.status === 200 ? (parse(text) as string[][]) : [],
  };
}

const countAffiliates = async (programId: string) =>
  Number(
    (
      await app.db
        .selectFrom('affiliates')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('program_id', '=', programId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('rejecting an application with a reason', () => {
  it('keeps the reason, answers it, and the rejection e-mail carries it escaped; approving clears it', async () => {
    const shop = await openShop(app);
    const applied = await shop.admin.post('/api/v1/affiliates', { email: 'spam@partners.test', name: 'Spammy' });
    const id = applied.body.affiliate.id as string;
    expect(applied.body.affiliate).toMatchObject({ status: 'pending', rejectionReason: null, payoutMethod: null });

    const hostile = 'No coupon sites <script>alert(1)</script> & "quotes"';
    const rejected = await shop.admin.post(`/api/v1/affiliates/${id}/reject`, { reason: `  ${hostile} ` });
    expect(rejected.status).toBe(200);
    expect(rejected.body.affiliate).toMatchObject({ status: 'rejected', rejectionReason: hostile });
    expect((await shop.admin.get(`/api/v1/affiliates/${id}`)).body.affiliate.rejectionReason).toBe(hostile);
    const listed = await shop.admin.get('/api/v1/affiliates?status=rejected');
    expect(listed.body.data.map((a: { rejectionReason: string }) => a.rejectionReason)).toEqual([hostile]);

    const before = smtp.messages.length;
    await app.services.mailOutbox.sendDue({ at: new Date() });
    const mails = smtp.messages.slice(before).filter((m) => m.to.includes('spam@partners.test'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Your application to the Acme partner program');
    expect(mails[0]!.text).toContain(`Reason: ${hostile}`);
    expect(mails[0]!.html).toContain('No coupon sites &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(mails[0]!.html).not.toContain('<script>');

    // Rejecting again corrects the reason without a second e-mail.
    const again = await shop.admin.post(`/api/v1/affiliates/${id}/reject`, { reason: 'Coupon site' });
    expect(again.body.affiliate.rejectionReason).toBe('Coupon site');
    const before2 = smtp.messages.length;
    await app.services.mailOutbox.sendDue({ at: new Date() });
    expect(smtp.messages.slice(before2).filter((m) => m.to.includes('spam@partners.test'))).toHaveLength(0);

    const approved = await shop.admin.post(`/api/v1/affiliates/${id}/approve`);
    expect(approved.body.affiliate).toMatchObject({ status: 'approved', rejectionReason: null });
  });

  it('a reason is optional; a bad one is a 400 that changes nothing', async () => {
    const shop = await openShop(app);
    const a = (await shop.admin.post('/api/v1/affiliates', { email: 'x@partners.test', name: 'X' })).body.affiliate;
    for (const reason of ['x'.repeat(501), 'nul\u0000byte', 42, '   ']) {
      const res = await shop.admin.post(`/api/v1/affiliates/${a.id}/reject`, { reason });
      expect(res.status, String(reason)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect((await shop.admin.get(`/api/v1/affiliates/${a.id}`)).body.affiliate.status).toBe('pending');
    const plain = await shop.admin.post(`/api/v1/affiliates/${a.id}/reject`);
    expect(plain.body.affiliate).toMatchObject({ status: 'rejected', rejectionReason: null });
  });
});

describe('the list: sort and the per-affiliate filters of the detail page', () => {
  it('sorts by created_at, name (any case) and earnings, and refuses a sort not in the whitelist', async () => {
    const shop = await openShop(app, { website: 'https://shop.test' });
    const bob = await approvedAffiliate(shop, { name: 'bob' });
    const ann = await approvedAffiliate(shop, { name: 'Ann' });
    const cid = await approvedAffiliate(shop, { name: 'Cid' });
    // Real signed Stripe sales: Cid sells more than Bob, Ann sells nothing.
    await checkoutSale(shop, await clickReferral(shop, cid.code), 50_000);
    await checkoutSale(shop, await clickReferral(shop, bob.code), 10_000);

    const names = async (q: string) =>
      ((await shop.admin.get(`/api/v1/affiliates${q}`)).body.data as { name: string }[]).map((a) => a.name);
    expect(await names('')).toEqual(['Cid', 'Ann', 'bob']);
    expect(await names('?sort=created_at&order=asc')).toEqual(['bob', 'Ann', 'Cid']);
    expect(await names('?sort=name')).toEqual(['Ann', 'bob', 'Cid']);
    expect(await names('?sort=name&order=desc')).toEqual(['Cid', 'bob', 'Ann']);
    expect(await names('?sort=earnings')).toEqual(['Cid', 'bob', 'Ann']);
    expect(await names('?sort=earnings&order=asc')).toEqual(['Ann', 'bob', 'Cid']);
    expect(await names('?sort=name&limit=1&offset=1')).toEqual(['bob']);
    for (const bad of ['?sort=password_hash', '?sort=name;drop', '?order=sideways']) {
      const res = await shop.admin.get(`/api/v1/affiliates${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.message).toMatch(/sort|order/);
    }

    // What the detail page reads: each admin list filtered to the affiliate.
    const conversions = await shop.admin.get(`/api/v1/conversions?affiliateId=${cid.id}`);
    expect(conversions.body.data.map((c: { amount: number }) => c.amount)).toEqual([50_000]);
    const commissions = await shop.admin.get(`/api/v1/commissions?affiliateId=${cid.id}`);
    expect(commissions.body.data).toHaveLength(1);
    expect(commissions.body.data[0].affiliateId).toBe(cid.id);
    const balances = await shop.admin.get(`/api/v1/balances?affiliateId=${ann.id}`);
    expect(balances.body.data).toEqual([]);
    expect((await shop.admin.get(`/api/v1/payouts?affiliateId=${cid.id}`)).body.data).toEqual([]);
    const links = await shop.admin.get(`/api/v1/links?affiliateId=${cid.id}`);
    expect(links.status).toBe(200);
    const stats = await shop.admin.get(`/api/v1/stats?affiliateId=${cid.id}`);
    expect(stats.body).toMatchObject({
      clicks: 1,
      customers: 1,
      sales: [{ currency: 'usd', sales: 1, revenue: 50_000 }],
    });
    expect(stats.body.commissions).toHaveLength(1);
    expect((await shop.admin.get(`/api/v1/stats?affiliateId=${ann.id}`)).body).toMatchObject({ clicks: 0, sales: [] });
    // Another program's affiliate counts nothing here.
    const other = await openShop(app);
    const foreign = await other.admin.get(`/api/v1/stats?affiliateId=${cid.id}`);
    expect(foreign.body).toMatchObject({ clicks: 0, leads: 0, customers: 0, sales: [], commissions: [] });
  });
});

describe('CSV export', () => {
  it('streams the filtered, sorted affiliates of this program only, quoted, formula cells neutralised', async () => {
    const shop = await openShop(app);
    const other = await openShop(app);
    await approvedAffiliate(other, { name: 'Not mine' });
    await approvedAffiliate(shop, { name: '=HYPERLINK("http://evil.test","click")', email: 'formula@partners.test' });
    await approvedAffiliate(shop, { name: 'Doe, Jane "JD"\nSecond line', email: 'jane@partners.test' });
    await approvedAffiliate(shop, { name: '+plus', email: 'plus@partners.test' });
    await approvedAffiliate(shop, { name: '@at', email: 'at@partners.test' });
    await approvedAffiliate(shop, { name: '-minus', email: 'minus@partners.test' });
    const pending = await shop.admin.post('/api/v1/affiliates', { email: 'p@partners.test', name: 'Pending Pat' });
    await shop.admin.post(`/api/v1/affiliates/${pending.body.affiliate.id}/reject`, { reason: '=1+1' });

    const all = await exportCsv(shop, '?sort=name');
    expect(all.status).toBe(200);
    expect(all.type).toBe('text/csv; charset=utf-8');
    expect(all.disposition).toMatch(/^attachment; filename="affiliates-\d{4}-\d{2}-\d{2}\.csv"$/);
    const [header, ...rows] = all.rows;
    expect(header).toEqual([
      'id',
      'email',
      'name',
      'code',
      'status',
      'rejection_reason',
      'payout_method',
      'earnings',
      'currency',
      'created_at',
    ]);
    const byEmail = new Map(rows.map((r) => [r[1], r]));
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => r[2])).not.toContain('Not mine');
    expect(byEmail.get('formula@partners.test')![2]).toBe(`'=HYPERLINK("http://evil.test","click")`);
    expect(byEmail.get('plus@partners.test')![2]).toBe("'+plus");
    expect(byEmail.get('at@partners.test')![2]).toBe("'@at");
    expect(byEmail.get('minus@partners.test')![2]).toBe("'-minus");
    expect(byEmail.get('jane@partners.test')![2]).toBe('Doe, Jane "JD"\nSecond line');
    expect(all.text).toContain('"Doe, Jane ""JD""\nSecond line"');
    expect(byEmail.get('p@partners.test')!.slice(4, 9)).toEqual(['rejected', "'=1+1", '', '0', 'usd']);

    const rejected = await exportCsv(shop, '?status=rejected');
    expect(rejected.rows.slice(1).map((r) => r[1])).toEqual(['p@partners.test']);
    const bad = await exportCsv(shop, '?sort=secret');
    expect(bad.status).toBe(400);
  });

  it('a large program streams in pages and every row arrives once', async () => {
    const shop = await openShop(app);
    const lines = ['email,name', ...Array.from({ length: 1203 }, (_, i) => `bulk${i}@partners.test,Bulk ${i}`)];
    expect((await importCsv(shop, lines.join('\n'))).body.created).toBe(1203);
    const out = await exportCsv(shop);
    expect(out.rows).toHaveLength(1204);
    expect(new Set(out.rows.slice(1).map((r) => r[0])).size).toBe(1203);
  });
});

describe('CSV import', () => {
  it('creates each valid row, skips duplicates, reports bad rows; quoted commas and line breaks survive', async () => {
    const shop = await openShop(app);
    const existing = await approvedAffiliate(shop, { email: 'old@partners.test', code: 'oldcode' });
    const csv = [
      '\uFEFFEmail,Name,Code',
      'ada@partners.test,"Lovelace, Ada",ada',
      '"bob@partners.test","Bob ""The Builder""\nSmith",',
      'OLD@partners.test,Old Again,newcode',
      'cid@partners.test,Cid,oldcode',
      'ada@partners.test,Ada Twice,ada2',
      'not-an-email,Nobody,',
      'dan@partners.test,Dan,bad code!',
      'eve@partners.test,,',
      '',
      `${existing.email.replace('old', 'ok')},=cmd|' /C calc'!A0,`,
    ].join('\r\n');
    const res = await importCsv(shop, csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 3, skipped: 3, errors: 3 });
    const rows = res.body.rows as Array<{ row: number; result: string; reason?: string; affiliate?: any }>;
    expect(rows.map((r) => [r.row, r.result, r.reason ?? r.affiliate.name])).toEqual([
      [1, 'created', 'Lovelace, Ada'],
      [2, 'created', 'Bob "The Builder"\nSmith'],
      [3, 'skipped', 'duplicate_email'],
      [4, 'skipped', 'duplicate_code'],
      [5, 'skipped', 'duplicate_in_file'],
      [6, 'error', expect.stringMatching(/^email: /)],
      [7, 'error', expect.stringMatching(/^code: /)],
      [8, 'error', expect.stringMatching(/^name: /)],
      [9, 'created', "=cmd|' /C calc'!A0"],
    ]);
    expect(rows[0]!.affiliate).toMatchObject({ email: 'ada@partners.test', code: 'ada', status: 'approved' });
    expect(rows[1]!.affiliate.code).toMatch(/^bobthebuildersmi-[a-z0-9]{4}$/);
    expect(await countAffiliates(shop.program.id)).toBe(4);
    // Imported again: everything is a duplicate now, nothing is written.
    const again = await importCsv(shop, csv);
    expect(again.body).toMatchObject({ created: 0, errors: 3 });
    expect(await countAffiliates(shop.program.id)).toBe(4);
    // Pending on request; the stored formula-like name is neutralised on the way out.
    const pending = await importCsv(shop, 'email,name\nfay@partners.test,Fay', '?status=pending');
    expect(pending.body.rows[0].affiliate.status).toBe('pending');
    const exported = await exportCsv(shop);
    expect(exported.rows.find((r) => r[2]?.includes('calc'))![2]).toBe("'=cmd|' /C calc'!A0");
  });

  it('a malformed, hostile or oversized file is a 4xx that writes nothing', async () => {
    const shop = await openShop(app);
    const cases: [string, string | Uint8Array<ArrayBuffer>, number, string][] = [
      ['empty', '', 400, 'empty_csv'],
      ['blank lines', '\n\n  \n', 400, 'empty_csv'],
      ['no header', 'ada@partners.test,Ada\n', 400, 'invalid_csv_header'],
      ['unknown column', 'email,name,password\na@x.test,A,secret\n', 400, 'invalid_csv_header'],
      ['repeated column', 'email,name,email\na@x.test,A,b@x.test\n', 400, 'invalid_csv_header'],
      ['unclosed quote', 'email,name\na@x.test,"Ada\nb@x.test,Bob\n', 400, 'invalid_csv'],
      ['ragged rows', 'email,name\na@x.test,Ada\nb@x.test\n', 400, 'invalid_csv'],
      ['quote inside a bare cell', 'email,name\na@x.test,Ad"a\n', 400, 'invalid_csv'],
      [
        'not UTF-8',
        new Uint8Array([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x2c, 0x6e, 0xff, 0xfe, 0x0a]),
        400,
        'invalid_encoding',
      ],
      [
        'binary',
        new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xc3, 0x28]),
        400,
        'invalid_encoding',
      ],
      [
        'too many rows',
        ['email,name', ...Array.from({ length: IMPORT_MAX_ROWS + 1 }, (_, i) => `r${i}@x.test,R`)].join('\n'),
        400,
        'too_many_rows',
      ],
      ['too large', `email,name\n${'a'.repeat(1024 * 1024 + 10)}@x.test,A\n`, 413, 'payload_too_large'],
    ];
    for (const [what, body, status, code] of cases) {
      const res = await importCsv(shop, body);
      expect(res.status, what).toBe(status);
      expect(res.body.error.code, what).toBe(code);
    }
    // Hostile bytes inside an otherwise good file are a row error, not a crash: NUL, lone surrogate halves.
    const hostile = await importCsv(
      shop,
      'email,name\nnul@x.test,a\u0000b\nok@x.test,"<img src=x onerror=alert(1)>"\n',
    );
    expect(hostile.status).toBe(200);
    expect(hostile.body.rows.map((r: { result: string }) => r.result)).toEqual(['error', 'created']);
    expect(hostile.body.rows[1].affiliate.name).toBe('<img src=x onerror=alert(1)>');
    expect(await countAffiliates(shop.program.id)).toBe(1);
    const badStatus = await importCsv(shop, 'email,name\nz@x.test,Z', '?status=suspended');
    expect(badStatus.status).toBe(400);
    expect(await countAffiliates(shop.program.id)).toBe(1);
  });

  it('the CLI imports a file and exports CSV with the same service functions', async () => {
    const shop = await openShop(app);
    const dir = await mkdtemp(path.join(tmpdir(), 'pk-aff-'));
    const file = path.join(dir, 'affiliates.csv');
    await writeFile(file, 'email,name,code\ngil@partners.test,"Gil, G.",gil\ngil@partners.test,Gil again,\n');
    const imported = await runCli(app.databaseUrl, ['affiliates', 'import', file, '--program', shop.program.id]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('row 1: created gil@partners.test (gil)');
    expect(imported.stdout).toContain('row 2: skipped gil@partners.test: duplicate_in_file');
    expect(imported.stdout).toContain('created: 1, skipped: 1, errors: 0');

    const exported = await runCli(app.databaseUrl, ['affiliate', 'export', '--program', shop.program.id]);
    expect(exported.status, exported.stderr).toBe(0);
    const rows = parse(exported.stdout) as string[][];
    expect(rows.map((r) => r[2])).toEqual(['name', 'Gil, G.']);

    await writeFile(file, 'email,name\n"broken,Gil\n');
    const broken = await runCli(app.databaseUrl, ['affiliate', 'import', file, '--program', shop.program.id]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/malformed/);

    const reject = await runCli(app.databaseUrl, [
      'affiliate',
      'reject',
      '--program',
      shop.program.id,
      '--id',
      (await shop.admin.post('/api/v1/affiliates', { email: 'h@partners.test', name: 'H' })).body.affiliate.id,
      '--reason',
      'Not a fit',
      '--json',
    ]);
    expect(reject.status, reject.stderr).toBe(0);
    expect(JSON.parse(reject.stdout)).toMatchObject({ status: 'rejected', rejectionReason: 'Not a fit' });
  });
});
