/**
 * Partner access over real HTTP and PostgreSQL: the public application, approval and invites (with the mail a
 * real SMTP conversation delivers), one-time set-password and reset links, login with rate limit and lockout,
 * sessions (logout, logout everywhere, expiry, suspension), password change, and CSRF defences.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import fc from 'fast-check';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { hashPassword } from '../../server/partner/access/passwords.ts';
import {
  LOCKOUT_MINUTES,
  LOCKOUT_THRESHOLD,
  LOGIN_FAILURES_PER_IP,
  TOKEN_FAILURES_PER_IP,
} from '../../server/partner/access/access.service.ts';

// --- a tiny SMTP sink on loopback: enough of RFC 5321 for nodemailer to deliver a message -------------------

interface Received {
  from: string;
  to: string[];
  /** Headers and body, quoted-printable decoded. */
  data: string;
}

function startSmtpSink(): Promise<{ port: number; messages: Received[]; close(): Promise<void> }> {
  const messages: Received[] = [];
  const decodeQp = (s: string) =>
    s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const server = net.createServer((sock) => {
    let buffer = '';
    let inData = false;
    let current: Received = { from: '', to: [], data: '' };
    sock.setEncoding('utf8');
    sock.write('220 sink.test ESMTP\r\n');
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push({ ...current, data: decodeQp(current.data) });
            current = { from: '', to: [], data: '' };
            sock.write('250 2.0.0 queued\r\n');
          } else current.data += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') sock.write('250-sink.test\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') {
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          sock.write('250 2.1.0 ok\r\n');
        } else if (verb === 'RCPT') {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          sock.write('250 2.1.5 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          sock.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          sock.end('221 bye\r\n');
        } else sock.write('250 ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ port, messages, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

// --- helpers --------------------------------------------------------------------------------------------

let app: TestApp;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let program: { id: string; apiKey: string };
let admin: ReturnType<typeof adminClient>;
let ipCounter = 0;
/** Each test speaks from its own IP (TRUST_PROXY is on), so per-IP limits of one test do not leak into another. */
const freshIp = () => `198.51.100.${++ipCounter}`;

const MIN = 60_000;
const DAY = 86_400_000;
let blockCounter = 0;
/** A fresh block of addresses for one burst: `ipIn(block, i)` (IPv6 documentation range: as many as needed). */
const freshBlock = () => ++blockCounter;
const ipIn = (block: number, i: number) => `2001:db8:${block.toString(16)}::${(i + 1).toString(16)}`;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** A session: cookie + CSRF token, with helpers that send both. */
function session(cookie: string, csrf: string) {
  const call = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
    const res = await app.request(`/api/v1/partner${path}`, {
      method,
      headers: {
        cookie,
        'x-csrf-token': csrf,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...extra,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  return {
    cookie,
    csrf,
    get: (p: string) => call('GET', p),
    post: (p: string, b: unknown = {}, h?: Record<string, string>) => call('POST', p, b, h),
    put: (p: string, b: unknown = {}) => call('PUT', p, b),
  };
}

async function login(email: string, password: string, ip = freshIp(), extra: Record<string, unknown> = {}) {
  const res = await post('/api/v1/partner/login', { email, password, ...extra }, { 'x-forwarded-for': ip });
  return {
    ...res,
    session: res.status === 200 ? session(res.headers.get('set-cookie')!.split(';')[0]!, res.body.csrfToken) : null,
  };
}

async function setPassword(url: string, password: string) {
  const token = url.split(/#(?:set|reset)-password=/)[1]!;
  const res = await post('/api/v1/partner/password', { token, password }, { 'x-forwarded-for': freshIp() });
  return {
    ...res,
    session: res.status === 200 ? session(res.headers.get('set-cookie')!.split(';')[0]!, res.body.csrfToken) : null,
  };
}

/** An approved affiliate with a password, logged in. */
async function partner(email: string, password = 'correct horse battery') {
  const created = await admin.post('/api/v1/affiliates', { email, name: email.split('@')[0], status: 'approved' });
  expect(created.status).toBe(201);
  const s = await setPassword(created.body.setPasswordUrl, password);
  expect(s.status).toBe(200);
  return { id: created.body.affiliate.id as string, email, password, session: s.session! };
}

const mailsTo = (to: string) => smtp.messages.filter((m) => m.to.includes(to));
/** The newest reset link mailed to `to` (reset mails go out after the answer: wait for it). */
async function resetLinkFor(to: string): Promise<string> {
  let link: string | undefined;
  await vi.waitFor(() => {
    link = mailsTo(to)
      .filter((m) => m.data.includes('#reset-password='))
      .map(linkIn)
      .at(-1);
    expect(link).toBeDefined();
  });
  return link!;
}
const linkIn = (m: Received) => /http:\/\/\S+\/partner\/#(?:set|reset)-password=[A-Za-z0-9_-]+/.exec(m.data)?.[0];

beforeAll(async () => {
  smtp = await startSmtpSink();
  app = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=partners@acme.test`, TRUST_PROXY: 'on' });
  program = await app.services.programs.create({ name: 'Acme', website: 'https://acme.test' });
  admin = adminClient(app, program.apiKey);
});
afterAll(async () => {
  await app?.stop();
  await smtp?.close();
});

// --- tests ----------------------------------------------------------------------------------------------

describe('public application', () => {
  it('shows the program and files a pending application the merchant sees with its answers', async () => {
    const info = await app.request(`/api/v1/partner/programs/${program.id}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({
      program: {
        id: program.id,
        name: 'Acme',
        website: 'https://acme.test',
        currency: 'usd',
        defaultRateBps: 1000,
        cookieDays: 30,
        branding: { logoUrl: null, accentColor: null, accentTextColor: null },
      },
    });

    const res = await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      {
        name: 'Ana Blogger',
        email: 'Ana@Blog.test',
        website: 'https://blog.test/ana',
        promotionMethod: 'Reviews on my blog',
      },
      { 'x-forwarded-for': freshIp() },
    );
    expect(res).toMatchObject({ status: 202, body: { status: 'pending' } });
    const pending = await admin.get('/api/v1/affiliates?status=pending');
    const ana = pending.body.data.find((a: { email: string }) => a.email === 'Ana@Blog.test');
    expect(ana).toMatchObject({
      name: 'Ana Blogger',
      status: 'pending',
      hasPassword: false,
      application: {
        website: 'https://blog.test/ana',
        promotionMethod: 'Reviews on my blog',
        appliedAt: expect.any(String),
      },
    });
    // A pending applicant cannot log in yet.
    expect((await login('ana@blog.test', 'anything at all')).status).toBe(401);
  });

  it('answers a second application with the same e-mail the same way and changes nothing', async () => {
    const ip = freshIp();
    const first = await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      { name: 'Bo', email: 'bo@site.test', promotionMethod: 'YouTube' },
      { 'x-forwarded-for': ip },
    );
    const again = await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      { name: 'Mallory', email: 'BO@site.test', promotionMethod: 'spam' },
      { 'x-forwarded-for': ip },
    );
    expect(again).toEqual({ ...first, headers: again.headers });
    const rows = await app.db
      .selectFrom('affiliates')
      .select(['name', 'promotion_method'])
      .where('program_id', '=', program.id)
      .where((eb) => eb(eb.fn('lower', ['email']), '=', 'bo@site.test'))
      .execute();
    expect(rows).toEqual([{ name: 'Bo', promotion_method: 'YouTube' }]);
  });

  it('rejects bad input with a 400 naming the field, an unknown program with 404, and non-JSON with 415', async () => {
    const ip = freshIp();
    const missing = await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      { name: 'X', email: 'x@y.test' },
      { 'x-forwarded-for': ip },
    );
    expect(missing).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', message: expect.stringMatching(/^promotionMethod/) } },
    });
    const badSite = await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      { name: 'X', email: 'x@y.test', website: 'javascript:alert(1)', promotionMethod: 'x' },
      { 'x-forwarded-for': ip },
    );
    expect(badSite).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^website/) } } });
    const unknown = await post(
      '/api/v1/partner/programs/prg_nope/apply',
      { name: 'X', email: 'x@y.test', promotionMethod: 'x' },
      { 'x-forwarded-for': ip },
    );
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'unknown_program' } } });
    expect((await app.request('/api/v1/partner/programs/prg_nope')).status).toBe(404);
    const form = await app.request(`/api/v1/partner/programs/${program.id}/apply`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ name: 'X', email: 'x@y.test', promotionMethod: 'x' }),
    });
    expect(form.status).toBe(415);
    const stored = await app.db.selectFrom('affiliates').select('id').where('email', '=', 'x@y.test').execute();
    expect(stored).toEqual([]);
  });

  it('limits applications to 10 per IP per hour', async () => {
    const ip = freshIp();
    for (let i = 0; i < 10; i++) {
      const r = await post(
        `/api/v1/partner/programs/${program.id}/apply`,
        { name: `Spam ${i}`, email: `spam${i}@x.test`, promotionMethod: 'x' },
        { 'x-forwarded-for': ip },
      );
      expect(r.status).toBe(202);
    }
    const blocked = await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      { name: 'Spam', email: 'spam10@x.test', promotionMethod: 'x' },
      { 'x-forwarded-for': ip },
    );
    expect(blocked).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await app.db.selectFrom('affiliates').select('id').where('email', '=', 'spam10@x.test').execute()).toEqual(
      [],
    );
  });
});

describe('approval, invites and set-password links', () => {
  it('e-mails the set-password link on approval; the link works once', async () => {
    await post(
      `/api/v1/partner/programs/${program.id}/apply`,
      { name: 'Cy', email: 'cy@site.test', promotionMethod: 'Podcast' },
      { 'x-forwarded-for': freshIp() },
    );
    const cy = (await admin.get('/api/v1/affiliates?status=pending')).body.data.find(
      (a: { email: string }) => a.email === 'cy@site.test',
    );
    const approved = await admin.post(`/api/v1/affiliates/${cy.id}/approve`);
    expect(approved).toMatchObject({ status: 200, body: { affiliate: { status: 'approved' }, emailSent: true } });
    const url: string = approved.body.setPasswordUrl;
    expect(url).toMatch(/\/partner\/#set-password=pt_[A-Za-z0-9_-]{43}$/);

    // The link rides in the approval's e-mail, sent from the outbox by the send-emails job (issue 21).
    expect(mailsTo('cy@site.test')).toEqual([]);
    await app.services.mailOutbox.sendDue();
    const mail = mailsTo('cy@site.test').find((m) => m.data.includes('Subject: You are now a partner of Acme'));
    expect(mail!.from).toBe('partners@acme.test');
    expect(linkIn(mail!)).toBe(url);

    const weak = await setPassword(url, 'short');
    expect(weak).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^password/) } } });
    const ok = await setPassword(url, 'a long enough passphrase');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toMatch(
      /^pk_session=ps_[^;]+; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect((await ok.session!.get('/me')).body.affiliate).toMatchObject({ email: 'cy@site.test', status: 'approved' });
    expect((await setPassword(url, 'another long passphrase')).status).toBe(401);
    const row = await app.db
      .selectFrom('affiliates')
      .select('password_hash')
      .where('id', '=', cy.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('invites an approved affiliate again with a fresh link that retires the previous one', async () => {
    const created = await admin.post('/api/v1/affiliates', { email: 'dee@site.test', name: 'Dee', status: 'approved' });
    const first: string = created.body.setPasswordUrl;
    const invite = await admin.post(`/api/v1/affiliates/${created.body.affiliate.id}/invite`);
    expect(invite).toMatchObject({
      status: 200,
      body: { affiliate: { id: created.body.affiliate.id }, emailSent: true },
    });
    expect(invite.body.setPasswordUrl).not.toBe(first);
    expect(mailsTo('dee@site.test').map(linkIn)).toEqual([first, invite.body.setPasswordUrl]);
    expect((await setPassword(first, 'a long enough passphrase')).status).toBe(401);
    expect((await setPassword(invite.body.setPasswordUrl, 'a long enough passphrase')).status).toBe(200);
  });

  it('refuses to invite a pending affiliate (422) or another program’s (404)', async () => {
    const pending = await admin.post('/api/v1/affiliates', { email: 'eve@site.test', name: 'Eve' });
    expect(await admin.post(`/api/v1/affiliates/${pending.body.affiliate.id}/invite`)).toMatchObject({
      status: 422,
      body: { error: { code: 'affiliate_not_approved' } },
    });
    const other = await app.services.programs.create({ name: 'Other', website: 'https://other.test' });
    const approved = await admin.post('/api/v1/affiliates', {
      email: 'fay@site.test',
      name: 'Fay',
      status: 'approved',
    });
    expect(
      (await adminClient(app, other.apiKey).post(`/api/v1/affiliates/${approved.body.affiliate.id}/invite`)).status,
    ).toBe(404);
    expect(
      await app.db
        .selectFrom('partner_tokens')
        .select('token_hash')
        .where('affiliate_id', '=', pending.body.affiliate.id)
        .execute(),
    ).toEqual([]);
  });

  it('expires set-password links after 7 days', async () => {
    const created = await admin.post('/api/v1/affiliates', { email: 'gus@site.test', name: 'Gus', status: 'approved' });
    app.advance(7 * DAY + MIN);
    try {
      expect(await setPassword(created.body.setPasswordUrl, 'a long enough passphrase')).toMatchObject({
        status: 401,
        body: { error: { code: 'invalid_token' } },
      });
    } finally {
      app.advance(-(7 * DAY + MIN));
    }
  });
});

describe('login, lockout and sessions', () => {
  it('sets Secure on the cookie when PUBLIC_URL is https', async () => {
    const https = await startTestApp({ PUBLIC_URL: 'https://partners.acme.test' });
    try {
      const p = await https.services.programs.create({ name: 'Secure', website: 'https://acme.test' });
      const a = await adminClient(https, p.apiKey).post('/api/v1/affiliates', {
        email: 'sec@site.test',
        name: 'Sec',
        status: 'approved',
      });
      const token = a.body.setPasswordUrl.split('#set-password=')[1];
      const res = await https.request('/api/v1/partner/password', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, password: 'a long enough passphrase' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('set-cookie')).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    } finally {
      await https.stop();
    }
  });

  it('answers a wrong password and an unknown e-mail alike', async () => {
    const p = await partner('hal@site.test');
    const wrong = await login(p.email, 'not the password');
    const unknown = await login('nobody@site.test', 'not the password');
    expect(wrong).toMatchObject({
      status: 401,
      body: { error: { code: 'invalid_credentials', message: 'Wrong email or password' } },
    });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('locks the account after 10 failed logins (even with the right password), for 15 minutes', async () => {
    const p = await partner('ivy@site.test');
    // From ten different addresses: the lockout is per account, not per IP.
    for (let i = 0; i < 10; i++) expect((await login(p.email, `guess number ${i}`)).status).toBe(401);
    const locked = await login(p.email, p.password);
    expect(locked).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
    app.advance(15 * MIN + 1000);
    try {
      expect((await login(p.email, p.password)).status).toBe(200);
    } finally {
      app.advance(-(15 * MIN + 1000));
    }
    const row = await app.db
      .selectFrom('affiliates')
      .select(['failed_logins', 'locked_until'])
      .where('id', '=', p.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_logins: 0, locked_until: null });
  });

  it('a reset link unlocks a locked account', async () => {
    const p = await partner('jo@site.test');
    for (let i = 0; i < 10; i++) await login(p.email, `guess number ${i}`);
    expect((await login(p.email, p.password)).status).toBe(429);
    expect(
      (await post('/api/v1/partner/password/reset', { email: p.email }, { 'x-forwarded-for': freshIp() })).status,
    ).toBe(202);
    const link = await resetLinkFor(p.email);
    expect(link).toContain('#reset-password=');
    expect((await setPassword(link, 'a brand new passphrase')).status).toBe(200);
    expect((await login(p.email, 'a brand new passphrase')).status).toBe(200);
  });

  it('rate-limits repeated failures for one e-mail from one IP, known or not', async () => {
    const ip = freshIp();
    for (let i = 0; i < 20; i++) expect((await login('ghost@site.test', `guess ${i}`, ip)).status).toBe(401);
    expect((await login('ghost@site.test', 'guess 21', ip)).status).toBe(429);
  });

  it('logs out this session only, or every session', async () => {
    const p = await partner('kim@site.test');
    const second = (await login(p.email, p.password)).session!;
    const third = (await login(p.email, p.password)).session!;
    const out = await p.session.post('/logout');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^pk_session=; Max-Age=0;/);
    expect((await p.session.get('/me')).status).toBe(401);
    expect((await second.get('/me')).status).toBe(200);
    expect((await second.post('/logout', { everywhere: true })).status).toBe(204);
    expect((await second.get('/me')).status).toBe(401);
    expect((await third.get('/me')).status).toBe(401);
    expect(
      await app.db.selectFrom('partner_sessions').select('id_hash').where('affiliate_id', '=', p.id).execute(),
    ).toEqual([]);
  });

  it('ends sessions after 30 days and when the affiliate is suspended', async () => {
    const p = await partner('lou@site.test');
    app.advance(30 * DAY + MIN);
    try {
      expect((await p.session.get('/me')).status).toBe(401);
    } finally {
      app.advance(-(30 * DAY + MIN));
    }
    const fresh = (await login(p.email, p.password)).session!;
    expect((await fresh.get('/overview')).status).toBe(200);
    expect((await admin.post(`/api/v1/affiliates/${p.id}/suspend`)).status).toBe(200);
    expect(await fresh.get('/overview')).toMatchObject({ status: 401, body: { error: { code: 'not_logged_in' } } });
    expect((await login(p.email, p.password)).status).toBe(401);
  });

  it('changes the password with the current one, ending the other sessions', async () => {
    const p = await partner('max@site.test');
    const other = (await login(p.email, p.password)).session!;
    expect(
      await p.session.post('/password/change', { currentPassword: 'wrong one', newPassword: 'a brand new passphrase' }),
    ).toMatchObject({ status: 401, body: { error: { code: 'invalid_credentials' } } });
    expect(
      (await p.session.post('/password/change', { currentPassword: p.password, newPassword: 'a brand new passphrase' }))
        .status,
    ).toBe(204);
    expect((await p.session.get('/me')).status).toBe(200);
    expect((await other.get('/me')).status).toBe(401);
    expect((await login(p.email, p.password)).status).toBe(401);
    expect((await login(p.email, 'a brand new passphrase')).status).toBe(200);
  });

  it('a logged-in session guessing the password (change, payout method) locks the account like failed logins', async () => {
    const p = await partner('guess@site.test');
    const paypal = (password: string) =>
      p.session.put('/payout-settings', { method: 'paypal', details: { email: 'thief@paypal.test' }, password });
    const change = (currentPassword: string) =>
      p.session.post('/password/change', { currentPassword, newPassword: 'the thief’s passphrase' });
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      const res = i % 2 ? await paypal(`guess ${i}`) : await change(`guess ${i}`);
      expect(res.status).toBe(401);
    }
    // Locked now: the right password is refused everywhere it is asked for, for LOCKOUT_MINUTES.
    const locked = await paypal(p.password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await change(p.password)).status).toBe(429);
    expect((await login(p.email, p.password)).status).toBe(429);
    expect((await p.session.get('/payout-settings')).body.method).toBeNull();
    app.advance(LOCKOUT_MINUTES * MIN + 1000);
    expect((await paypal(p.password)).status).toBe(200);
    // A right password cleared the count: one more wrong guess is a plain 401.
    expect((await change('wrong again')).status).toBe(401);
  });
});

describe('parallel bursts: every attempt is counted in PostgreSQL before its argon2 work', () => {
  /** A 429 as the error middleware answers it, with a Retry-After within the lockout window. */
  const expectLockedOut = (r: { status: number; headers: Headers; body: any }) => {
    expect(r).toMatchObject({ status: 429, body: { error: { code: 'rate_limited', message: expect.any(String) } } });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
  };

  it('a burst of wrong passwords is verified exactly LOCKOUT_THRESHOLD times, then the right one is refused', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: LOCKOUT_THRESHOLD + 1, max: 3 * LOCKOUT_THRESHOLD }),
        fc.constantFrom('one address', 'each its own address'),
        async (size, from) => {
          const p = await partner(`burst${++n}@site.test`);
          const block = freshBlock();
          const results = await Promise.all(
            Array.from({ length: size }, (_, i) =>
              login(p.email, `wrong guess ${i}`, ipIn(block, from === 'one address' ? 0 : i)),
            ),
          );
          const statuses = results.map((r) => r.status);
          expect(statuses.filter((s) => s === 401)).toHaveLength(LOCKOUT_THRESHOLD);
          expect(statuses.filter((s) => s === 429)).toHaveLength(size - LOCKOUT_THRESHOLD);
          for (const r of results.filter((x) => x.status === 429)) expectLockedOut(r);
          // From an address that has not failed at all: the account itself is locked.
          expectLockedOut(await login(p.email, p.password, ipIn(freshBlock(), 0)));
          const row = await app.db
            .selectFrom('affiliates')
            .select(['failed_logins', 'locked_until'])
            .where('id', '=', p.id)
            .executeTakeFirstOrThrow();
          expect(row.failed_logins).toBe(LOCKOUT_THRESHOLD);
          expect(row.locked_until!.getTime()).toBeGreaterThan(Date.now() + 14 * MIN);
        },
      ),
      { numRuns: 3 },
    );
  });

  it('the right password within the policy logs in and clears the count: failures before it do not add up', async () => {
    const p = await partner('steady@site.test');
    const ip = freshIp();
    for (let round = 0; round < 3; round++) {
      const wrong = await Promise.all(
        Array.from({ length: LOCKOUT_THRESHOLD - 1 }, (_, i) => login(p.email, `guess ${round}.${i}`, ip)),
      );
      expect(wrong.map((r) => r.status)).toEqual(Array(LOCKOUT_THRESHOLD - 1).fill(401));
      expect((await login(p.email, p.password, ip)).status).toBe(200);
    }
  });

  it(`one address gets ${LOGIN_FAILURES_PER_IP} failed logins per window across e-mails, however many it sends at once`, async () => {
    const block = freshBlock();
    const ip = ipIn(block, 0);
    const extra = 20;
    const results = await Promise.all(
      Array.from({ length: LOGIN_FAILURES_PER_IP + extra }, (_, i) =>
        login(`stuffing${i}@elsewhere.test`, 'hunter2', ip),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_FAILURES_PER_IP);
    expect(statuses.filter((s) => s === 429)).toHaveLength(extra);
    for (const r of results.filter((x) => x.status === 429)) expectLockedOut(r);
    // The address is refused even with a right password; the account itself is not locked.
    const p = await partner('neighbour@site.test');
    expectLockedOut(await login(p.email, p.password, ip));
    expect((await login(p.email, p.password, ipIn(block, 1))).status).toBe(200);
  });

  it('unknown set-password tokens are refused before any argon2 hash, and limited per address', async () => {
    const submit = (token: string, ip: string) =>
      post('/api/v1/partner/password', { token, password: 'a long enough passphrase' }, { 'x-forwarded-for': ip });
    // CPU of this process (the app runs in it; argon2 runs on its thread pool, which process.cpuUsage counts).
    const cpuMs = async (work: () => Promise<unknown>) => {
      const before = process.cpuUsage();
      await work();
      const d = process.cpuUsage(before);
      return (d.user + d.system) / 1000;
    };
    await hashPassword('warm up the argon2 binding');
    const hashes = [];
    for (let i = 0; i < 3; i++) hashes.push(await cpuMs(() => hashPassword('a long enough passphrase')));
    const oneHash = hashes.sort((x, y) => x - y)[1]!;
    const block = freshBlock();
    const tries = 20;
    const round = (token: (i: number) => string, password: string, status: number, offset: number) =>
      cpuMs(async () => {
        for (let i = 0; i < tries; i++) {
          const r = await post(
            '/api/v1/partner/password',
            { token: token(i), password },
            { 'x-forwarded-for': ipIn(block, offset + i) },
          );
          expect(r.status).toBe(status);
        }
      });
    const unknown = (i: number) => `pt_unknown${i}abcdefghijklmnop`;
    await round(unknown, 'a long enough passphrase', 401, 0); // warm-up
    // The same requests refused by input validation: what the HTTP round trip itself costs here.
    const baseline = await round(unknown, 'short', 400, tries);
    const unknownTokens = await round(unknown, 'a long enough passphrase', 401, 2 * tries);
    // Hashing for each would cost `tries` hashes more than the baseline; a look-up by hash costs far less.
    expect(unknownTokens - baseline).toBeLessThan((tries / 2) * oneHash);

    const ip = ipIn(freshBlock(), 0);
    const burst = await Promise.all(
      Array.from({ length: TOKEN_FAILURES_PER_IP + 5 }, (_, i) => submit(`pt_guess${i}abcdefghijklmnopq`, ip)),
    );
    expect(burst.filter((r) => r.status === 401)).toHaveLength(TOKEN_FAILURES_PER_IP);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited).toHaveLength(5);
    for (const r of limited) {
      expect(r.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(59 * 60);
    }
    // A real link from that address waits too; from another it works.
    const created = await admin.post('/api/v1/affiliates', {
      email: 'late@site.test',
      name: 'Late',
      status: 'approved',
    });
    const token = created.body.setPasswordUrl.split('#set-password=')[1];
    expect((await submit(token, ip)).status).toBe(429);
    expect((await submit(token, ipIn(freshBlock(), 0))).status).toBe(200);
  });
});

describe('password reset', () => {
  it('mails a one-hour reset link to a known e-mail, and nothing (with the same answer) to an unknown one', async () => {
    const p = await partner('ned@site.test');
    const known = await post(
      '/api/v1/partner/password/reset',
      { email: 'NED@site.test' },
      { 'x-forwarded-for': freshIp() },
    );
    const unknown = await post(
      '/api/v1/partner/password/reset',
      { email: 'nobody-here@site.test' },
      { 'x-forwarded-for': freshIp() },
    );
    expect(known).toMatchObject({ status: 202, body: { sent: true } });
    expect(unknown.body).toEqual(known.body);
    const link = await resetLinkFor(p.email);
    expect(mailsTo(p.email).at(-1)!.data).toContain('Subject: Reset your Acme partner password');
    expect(mailsTo('nobody-here@site.test')).toEqual([]);
    app.advance(61 * MIN);
    try {
      expect((await setPassword(link, 'a brand new passphrase')).status).toBe(401);
    } finally {
      app.advance(-61 * MIN);
    }
  });

  it('sends at most 3 reset mails per address per hour', async () => {
    const p = await partner('oli@site.test');
    for (let i = 0; i < 5; i++)
      expect(
        (await post('/api/v1/partner/password/reset', { email: p.email }, { 'x-forwarded-for': freshIp() })).status,
      ).toBe(202);
    const resets = () => mailsTo(p.email).filter((m) => m.data.includes('Subject: Reset your'));
    await vi.waitFor(() => expect(resets()).toHaveLength(3));
    // Give a fourth mail, if one were (wrongly) on its way, time to arrive.
    await new Promise((r) => setTimeout(r, 300));
    expect(resets()).toHaveLength(3);
  });
});

describe('CSRF', () => {
  it('refuses a logged-in state change without the X-CSRF-Token header, or with another session’s token', async () => {
    const p = await partner('pam@site.test');
    const q = await partner('quinn@site.test');
    const noHeader = await app.request('/api/v1/partner/links', {
      method: 'POST',
      headers: { cookie: p.session.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'csrf-1' }),
    });
    expect(noHeader.status).toBe(403);
    expect((await noHeader.json()).error.code).toBe('csrf_failed');
    const otherToken = await app.request('/api/v1/partner/links', {
      method: 'POST',
      headers: { cookie: p.session.cookie, 'x-csrf-token': q.session.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'csrf-2' }),
    });
    expect(otherToken.status).toBe(403);
    const logout = await app.request('/api/v1/partner/logout', {
      method: 'POST',
      headers: { cookie: p.session.cookie },
    });
    expect(logout.status).toBe(403);
    expect((await p.session.get('/me')).status).toBe(200);
    expect(await app.db.selectFrom('links').select('slug').where('slug', 'in', ['csrf-1', 'csrf-2']).execute()).toEqual(
      [],
    );
    expect((await p.session.post('/links', { slug: 'csrf-ok' })).status).toBe(201);
  });

  it('refuses cross-site requests even before login, and form-encodable bodies', async () => {
    const p = await partner('ray@site.test');
    const evil = await post(
      '/api/v1/partner/login',
      { email: p.email, password: p.password },
      { origin: 'https://evil.test' },
    );
    expect(evil).toMatchObject({ status: 403, body: { error: { code: 'csrf_failed' } } });
    const fetchMeta = await post(
      '/api/v1/partner/login',
      { email: p.email, password: p.password },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(fetchMeta.status).toBe(403);
    const form = await app.request('/api/v1/partner/login', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ email: p.email, password: p.password }),
    });
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();
    const withCookie = await p.session.post('/links', { slug: 'evil-link' }, { origin: 'https://evil.test' });
    expect(withCookie.status).toBe(403);
    // The dashboard's own origin is fine.
    expect(
      (
        await post(
          '/api/v1/partner/login',
          { email: p.email, password: p.password },
          { origin: app.url, 'x-forwarded-for': freshIp() },
        )
      ).status,
    ).toBe(200);
  });
});
