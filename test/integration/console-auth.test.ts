/**
 * The merchant console's accounts over real HTTP and PostgreSQL: the first-run setup link (logged once, one-time,
 * wrong token refused, no second setup), login with lockout, CSRF, roles (a viewer changes nothing), program
 * isolation between members, and console-only routes closed to API keys and partner sessions. Answers of the
 * console API are parsed strictly against their documented shapes (`console.schemas.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { consoleClient, consoleLogin, setupTokenFrom, type ConsoleClient } from '../helpers/console.ts';
import { approvedAffiliate, checkoutSale, clickReferral, openShop, type Shop } from '../helpers/fixtures.ts';
import { consoleResponses } from '../../server/console/console.schemas.ts';
import { LOCKOUT_THRESHOLD, LOGIN_FAILURES_PER_IP } from '../../server/partner/access/access.service.ts';

const OWNER = { email: 'owner@acme.test', password: 'correct horse battery' };
const SECRET = 'whsec_console_test_0123456789';

let app: TestApp;
const logs: string[] = [];
let owner: ConsoleClient;
let programId: string;
let apiKey: string;

beforeAll(async () => {
  app = await startTestApp({ TRUST_PROXY: 'on' }, { log: (msg) => logs.push(msg) });
});
afterAll(async () => {
  await app?.stop();
});

const setupBody = (token: string) => ({
  token,
  ...OWNER,
  program: { name: 'Acme', website: 'https://acme.test', currency: 'eur', stripeWebhookSecret: SECRET },
});

describe('first run', () => {
  it('logs a one-time setup link once, and the console says setup is pending', async () => {
    expect(logs.filter((l) => l.includes('/app/setup?token='))).toHaveLength(1);
    const res = await consoleClient(app).call('GET', '/api/v1/console/setup');
    expect(consoleResponses.setupNeeded.parse(res.body)).toEqual({ needed: true });
  });

  it('refuses a wrong token and creates nothing', async () => {
    const res = await consoleClient(app).call('POST', '/api/v1/console/setup', setupBody('setup_wrongwrongwrongwrong'));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_setup_token');
    expect(await app.db.selectFrom('programs').select('id').execute()).toEqual([]);
    expect(await app.db.selectFrom('console_users').select('id').execute()).toEqual([]);
  });

  it('the right token creates the owner and the first program, and logs the owner in', async () => {
    owner = consoleClient(app);
    const res = await owner.call('POST', '/api/v1/console/setup', setupBody(setupTokenFrom(logs)));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const body = consoleResponses.setup.parse(res.body);
    programId = body.program.id;
    apiKey = body.program.apiKey;
    expect(owner.cookie).toMatch(/^pk_console=/);
    const me = consoleResponses.me.parse((await owner.call('GET', '/api/v1/console/me')).body);
    expect(me.user.email).toBe(OWNER.email);
    expect(me.programs).toEqual([{ id: programId, name: 'Acme', role: 'owner' }]);
    // The console session opens the admin API of its program (the same service the API key reaches).
    const settings = await owner.call('GET', '/api/v1/program');
    expect(settings.status).toBe(200);
    expect(settings.body.program).toMatchObject({ id: programId, name: 'Acme', currency: 'eur' });
    // The stored token is a hash, never the token itself.
    const stored = await app.db.selectFrom('console_setup_tokens').select('token_hash').execute();
    expect(stored.map((r) => r.token_hash)).not.toContain(setupTokenFrom(logs));
  });

  it('the link works once: a second setup is refused, and no new link is issued', async () => {
    const again = await consoleClient(app).call('POST', '/api/v1/console/setup', {
      ...setupBody(setupTokenFrom(logs)),
      email: 'intruder@evil.test',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('setup_done');
    expect(await app.services.console.issueSetupToken()).toBeNull();
    expect((await consoleClient(app).call('GET', '/api/v1/console/setup')).body).toEqual({ needed: false });
    expect(await app.db.selectFrom('programs').select('id').execute()).toHaveLength(1);
  });
});

describe('onboarding', () => {
  it('turns the first click and the first verified Stripe event green as they happen', async () => {
    const read = async () =>
      consoleResponses.onboarding.parse((await owner.call('GET', '/api/v1/console/onboarding')).body).onboarding;
    const before = await read();
    expect(before.webhookSecretSet).toBe(true);
    expect(before.webhookUrl).toContain(`/api/v1/webhooks/stripe/${programId}`);
    expect(before.eventTypes).toContain('checkout.session.completed');
    expect(before.snippet).toContain('data-key="pk_');
    expect(before.firstClickAt).toBeNull();
    expect(before.firstStripeEvent).toBeNull();
    const shop = {
      app,
      program: { id: programId, publicKey: before.snippet.match(/data-key="([^"]+)"/)![1]! },
      website: 'https://acme.test',
      secret: SECRET,
      admin: adminClient(app, apiKey),
    } as unknown as Shop;
    const aff = await approvedAffiliate(shop);
    const referral = await clickReferral(shop, aff.code);
    expect((await read()).firstClickAt).not.toBeNull();
    await checkoutSale(shop, referral, 5000, { currency: 'eur' });
    const after = await read();
    expect(after.firstStripeEvent?.type).toBe('checkout.session.completed');
    expect(after.complete).toBe(true);
    // The overview's numbers, per day, through the console session.
    const daily = await owner.call('GET', '/api/v1/stats/daily?days=7');
    expect(daily.status).toBe(200);
    expect(daily.body.dates).toHaveLength(7);
    expect(daily.body.clicks.at(-1)).toBe(1);
    expect(daily.body.sales.at(-1)).toBe(1);
    expect(daily.body.revenue).toEqual([{ currency: 'eur', amounts: [0, 0, 0, 0, 0, 0, 5000] }]);
    expect(daily.body.commissions[0].amounts.at(-1)).toBe(500);
    expect(daily.body.topAffiliates[0]).toMatchObject({ id: aff.id, clicks: 1, sales: 1 });
  });
});

describe('sessions', () => {
  it('logs in with the right password only, and logout ends the session', async () => {
    const wrong = await consoleClient(app).call('POST', '/api/v1/console/login', { ...OWNER, password: 'nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const c = await consoleLogin(app, OWNER.email, OWNER.password);
    expect((await c.call('GET', '/api/v1/console/me')).status).toBe(200);
    expect((await c.call('POST', '/api/v1/console/logout', {})).status).toBe(204);
    const after = await c.call('GET', '/api/v1/console/me');
    expect(after.status).toBe(401);
    expect((await c.call('GET', '/api/v1/affiliates')).status).toBe(401);
  });

  it('state changes need the session’s CSRF token and a same-site origin', async () => {
    const noToken = await owner.call('PATCH', '/api/v1/program', { holdDays: 7 }, { 'x-csrf-token': '' });
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.code).toBe('csrf_failed');
    const crossSite = await owner.call('PATCH', '/api/v1/program', { holdDays: 7 }, { origin: 'https://evil.test' });
    expect(crossSite.status).toBe(403);
    const ok = await owner.call('PATCH', '/api/v1/program', { holdDays: 7 });
    expect(ok.status).toBe(200);
    expect(ok.body.program.holdDays).toBe(7);
  });

  it('locks an account after repeated wrong passwords, even against the right one', async () => {
    const invited = await owner.call('POST', '/api/v1/console/team', { email: 'lock@acme.test', role: 'admin' });
    const token = new URL(invited.body.inviteUrl).hash.replace('#invite=', '');
    const password = 'admin password 123';
    expect((await consoleClient(app).call('POST', '/api/v1/console/invite/accept', { token, password })).status).toBe(
      200,
    );
    const headers = { 'x-forwarded-for': '2001:db8:10c::1' };
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      const r = await consoleClient(app).call(
        'POST',
        '/api/v1/console/login',
        { email: 'lock@acme.test', password: 'wrong-password' },
        headers,
      );
      expect(r.status).toBe(401);
    }
    const locked = await consoleClient(app).call(
      'POST',
      '/api/v1/console/login',
      { email: 'lock@acme.test', password },
      headers,
    );
    expect(locked.status).toBe(429);
    // Last: moving the clock past the lock would also put Stripe signatures out of their 5-minute tolerance.
    app.advance(16 * 60_000);
    expect(
      (await consoleClient(app).call('POST', '/api/v1/console/login', { email: 'lock@acme.test', password }, headers))
        .status,
    ).toBe(200);
  });
});

describe('roles and programs', () => {
  let viewer: ConsoleClient;
  let other: Shop;

  beforeAll(async () => {
    const res = await owner.call('POST', '/api/v1/console/team', { email: 'viewer@acme.test', role: 'viewer' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const invited = consoleResponses.invited.parse(res.body);
    expect(invited.member).toMatchObject({ email: 'viewer@acme.test', role: 'viewer', active: false });
    viewer = consoleClient(app);
    const token = new URL(invited.inviteUrl!).hash.replace('#invite=', '');
    const accepted = await viewer.call('POST', '/api/v1/console/invite/accept', {
      token,
      password: 'viewer password 1',
    });
    expect(accepted.status).toBe(200);
    other = await openShop(app, { name: 'Other shop' });
  });

  it('a viewer reads everything of the program but the server refuses every change', async () => {
    expect((await viewer.call('GET', '/api/v1/affiliates')).status).toBe(200);
    expect((await viewer.call('GET', '/api/v1/console/onboarding')).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/v1/affiliates', { email: 'x@y.test', name: 'X' }],
      ['PATCH', '/api/v1/program', { holdDays: 1 }],
      ['POST', '/api/v1/payouts/pay-all', {}],
    ] as const) {
      const r = await viewer.call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error.code).toBe('read_only');
    }
    const invite = await viewer.call('POST', '/api/v1/console/team', { email: 'friend@x.test', role: 'admin' });
    expect(invite.status).toBe(403);
    expect(await app.db.selectFrom('affiliates').select('id').where('email', '=', 'x@y.test').execute()).toEqual([]);
    const team = consoleResponses.team.parse((await owner.call('GET', '/api/v1/console/team')).body);
    expect(team.members.map((m) => [m.email, m.role])).toContainEqual(['viewer@acme.test', 'viewer']);
  });

  it('a member of one program cannot read another program’s data', async () => {
    const theirs = await approvedAffiliate(other, { email: 'theirs@other.test' });
    const asked = await owner.call('GET', '/api/v1/affiliates', undefined, {
      'x-partnerkit-program': other.program.id,
    });
    expect(asked.status).toBe(404);
    expect(asked.body.error.code).toBe('unknown_program');
    const byId = await owner.call('GET', `/api/v1/affiliates/${theirs.id}`);
    expect(byId.status).toBe(404);
    const list = await owner.call('GET', '/api/v1/affiliates');
    expect(JSON.stringify(list.body)).not.toContain('theirs@other.test');
    expect(
      (await owner.call('GET', '/api/v1/console/team', undefined, { 'x-partnerkit-program': other.program.id })).status,
    ).toBe(404);
  });

  it('API keys and partner sessions never open console-only routes', async () => {
    const admin = adminClient(app, apiKey);
    for (const path of ['/api/v1/console/me', '/api/v1/console/team', '/api/v1/console/onboarding']) {
      const r = await admin.get(path);
      expect(r.status, path).toBe(401);
      expect(r.body.error.code).toBe('not_logged_in');
    }
    const aff = await approvedAffiliate({ admin });
    const token = new URL(aff.setPasswordUrl).hash.replace('#set-password=', '');
    const set = await app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'partner password 1' }),
    });
    expect(set.status).toBe(200);
    const partnerCookie = set.headers.getSetCookie()[0]!.split(';')[0]!;
    for (const path of ['/api/v1/console/me', '/api/v1/console/onboarding', '/api/v1/affiliates']) {
      const r = await app.request(path, { headers: { cookie: partnerCookie } });
      expect(r.status, path).toBe(401);
    }
  });
});

describe('login limits', () => {
  it('failed partner logins from one address, up to its limit, do not lock the console out of that address', async () => {
    const headers = { 'x-forwarded-for': '2001:db8:5ca1::7', 'content-type': 'application/json' };
    let last = 0;
    for (let i = 0; i <= LOGIN_FAILURES_PER_IP && last !== 429; i++) {
      const res = await app.request('/api/v1/partner/login', {
        method: 'POST',
        headers,
        body: JSON.stringify({ email: `nobody${i}@stuffing.test`, password: 'not the password', program: programId }),
      });
      last = res.status;
    }
    expect(last).toBe(429);
    const merchant = await consoleClient(app).call('POST', '/api/v1/console/login', OWNER, {
      'x-forwarded-for': '2001:db8:5ca1::7',
    });
    expect(merchant.status).toBe(200);
  });
});
