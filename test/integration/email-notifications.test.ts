/**
 * Issue 21, e-mails: every step that moves an affiliate or money queues one mail in the same transaction (outbox
 * triggers), and the send-emails job sends it to a real SMTP server in this process (`smtp-server`, messages read
 * with `mailparser`). Each mail has a text and an HTML part and the RFC 8058 one-click unsubscribe headers; the
 * link alone turns that kind off; a temporary SMTP failure is retried and the mail arrives once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { startSmtpServer, type ReceivedMail, type SmtpServer } from '../helpers/smtp.ts';
import { chargeRefunded, freshId, invoicePaid } from '../helpers/stripe.ts';
import { savePayoutMethod } from '../helpers/commissions.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from '../../server/stripe/webhooks/webhooks.service.ts';
import { createServices } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/db/database.ts';
import { createScheduler } from '../../server/jobs/scheduler.ts';

const TEAM = 'team@acme.test';
let smtp: SmtpServer;
let ctx: StripeTestContext;

beforeAll(async () => {
  smtp = await startSmtpServer();
  ctx = await stripeTestContext({
    secret: 'whsec_test_email_notifications',
    env: { SMTP_URL: smtp.url('partners@acme.test'), TRUST_PROXY: 'on' },
  });
  const set = await ctx.admin.patch('/api/v1/program', { notificationEmail: TEAM, minPayoutAmount: 100 });
  expect(set).toMatchObject({ status: 200, body: { program: { notificationEmail: TEAM } } });
});
afterAll(async () => {
  await ctx?.app.stop();
  await smtp?.close();
});

/** What the send-emails job does on its run: send what is due (optionally as if `laterMs` had passed). */
async function sendEmails(laterMs = 0) {
  return ctx.app.services.mailOutbox.sendDue({ at: new Date(Date.now() + laterMs) });
}

/** The messages to `to` that arrived since `before` (a count of `smtp.messages`). */
const since = (before: number, to: string) => smtp.messages.slice(before).filter((m) => m.to.includes(to));

/** A mail as every outbox mail must be: both parts, the program's name, the one-click unsubscribe headers. */
function expectWellFormed(m: ReceivedMail) {
  expect(m.from).toBe('partners@acme.test');
  expect(m.text).toContain('Acme');
  expect(m.html).toContain('<html>');
  expect(m.html).toContain('Acme');
  expect(m.headers.get('list-unsubscribe')).toMatch(/^<http:\/\/\S+\/api\/v1\/unsubscribe\?token=[\w.-]+>$/);
  expect(m.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
}
/** The mail's unsubscribe link, pointed at the test app (PUBLIC_URL is not its port). */
function unsubscribeUrl(m: ReceivedMail): string {
  const u = new URL(/^<(.+)>$/.exec(m.headers.get('list-unsubscribe')!)![1]!);
  return `${ctx.app.url}${u.pathname}${u.search}`;
}

async function apply(name: string, email: string) {
  const res = await ctx.app.request(`/api/v1/partner/programs/${ctx.program.id}/apply`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': `203.0.113.${Math.floor(Math.random() * 250) + 1}`,
    },
    body: JSON.stringify({ name, email, promotionMethod: 'Newsletter <b>bold</b>', website: 'https://ada.test' }),
  });
  expect(res.status).toBe(202);
  const [a] = (await ctx.admin.get('/api/v1/affiliates?status=pending')).body.data.filter(
    (x: { email: string }) => x.email === email,
  );
  return a as { id: string; email: string };
}

/** A referred subscription's first invoice paid (100.00 usd → 10.00 commission), through the signed route. */
async function paidInvoice(referral: string, email?: string) {
  const ids = { charge: freshId('ch'), pi: freshId('pi'), invoice: freshId('in') };
  await ctx.send(
    invoicePaid({
      invoiceId: ids.invoice,
      subscriptionMetadata: { partnerkit_referral: referral },
      billingReason: 'subscription_create',
      amountPaid: 10_000,
      charge: ids.charge,
      paymentIntent: ids.pi,
      email,
    }),
  );
  return ids;
}

describe('applications', () => {
  it('an application mails the applicant and the merchant team once each, with hostile names escaped in HTML', async () => {
    const before = smtp.messages.length;
    const hostile = '<script>alert(1)</script> & "Ada"';
    await apply(hostile, 'ada@partners.test');
    await sendEmails();
    await sendEmails();
    const toAda = since(before, 'ada@partners.test');
    const toTeam = since(before, TEAM);
    expect(toAda).toHaveLength(1);
    expect(toTeam).toHaveLength(1);
    expect(toAda[0]!.subject).toBe('We received your application to the Acme partner program');
    expect(toTeam[0]!.subject).toBe(`New partner application: ${hostile}`);
    for (const m of [...toAda, ...toTeam]) {
      expectWellFormed(m);
      expect(m.html).not.toContain('<script>');
      expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Ada&quot;');
      expect(m.text).toContain(hostile);
    }
    expect(toTeam[0]!.html).toContain('Newsletter &lt;b&gt;bold&lt;/b&gt;');
  });

  it('approval sends one mail carrying the set-password link the merchant was given; rejection one mail', async () => {
    const bea = await apply('Bea', 'bea@partners.test');
    const cal = await apply('Cal', 'cal@partners.test');
    await sendEmails();
    const before = smtp.messages.length;
    const approved = await ctx.admin.post(`/api/v1/affiliates/${bea.id}/approve`);
    expect(approved).toMatchObject({ status: 200, body: { emailSent: true } });
    expect((await ctx.admin.post(`/api/v1/affiliates/${cal.id}/reject`)).status).toBe(200);
    // Nothing is sent inside the request: the job sends it.
    expect(smtp.messages.length).toBe(before);
    await sendEmails();
    const toBea = since(before, 'bea@partners.test');
    expect(toBea).toHaveLength(1);
    expect(toBea[0]!.subject).toBe('You are now a partner of Acme');
    expect(toBea[0]!.text).toContain(approved.body.setPasswordUrl);
    expect(toBea[0]!.html).toContain(`href="${approved.body.setPasswordUrl}"`);
    expectWellFormed(toBea[0]!);
    const toCal = since(before, 'cal@partners.test');
    expect(toCal.map((m) => m.subject)).toEqual(['Your application to the Acme partner program']);
    expectWellFormed(toCal[0]!);
    // The link works.
    const set = await ctx.app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: approved.body.setPasswordUrl.split('=')[1], password: 'a long enough passphrase' }),
    });
    expect(set.status).toBe(200);
  });
});

describe('commissions and payouts', () => {
  it('first commission once, commission approved, clawback on a full refund, payout run ready, payout sent', async () => {
    const r = await ctx.referral();
    const email = (
      await ctx.app.db
        .selectFrom('affiliates')
        .select('email')
        .where('id', '=', r.affiliateId)
        .executeTakeFirstOrThrow()
    ).email;
    let before = smtp.messages.length;
    await paidInvoice(r.referral);
    const second = await paidInvoice(r.referral);
    await sendEmails();
    const first = since(before, email);
    expect(first.map((m) => m.subject)).toEqual(['Your first commission from Acme: $10.00']);
    expectWellFormed(first[0]!);

    // The merchant approves the first commission; Stripe refunds the second sale in full.
    const [c1] = await ctx.commissions(r.affiliateId);
    before = smtp.messages.length;
    expect((await ctx.admin.post(`/api/v1/commissions/${c1.id}/approve`)).status).toBe(200);
    await ctx.send(
      chargeRefunded({ chargeId: second.charge, paymentIntent: second.pi, amount: 10_000, amountRefunded: 10_000 }),
    );
    await sendEmails();
    const next = since(before, email);
    expect(next.map((m) => m.subject).sort()).toEqual([
      'A commission of $10.00 was taken back',
      'Commission approved: $10.00',
    ]);
    next.forEach(expectWellFormed);

    // The scheduled run makes a payout; the merchant team hears once the run is done; paying it tells the affiliate.
    await savePayoutMethod(ctx.app, r.affiliateId, 'paypal', { email: 'pay@partners.test' });
    before = smtp.messages.length;
    const run = await ctx.app.services.payouts.generateDue({ programId: ctx.program.id, force: true });
    expect(run.payouts).toBe(1);
    await sendEmails();
    expect(since(before, TEAM)).toEqual([]);
    await sendEmails(2 * 60_000);
    const ready = since(before, TEAM);
    expect(ready.map((m) => m.subject)).toEqual(['Payout run ready: 1 payout(s)']);
    expect(ready[0]!.text).toContain('$10.00');
    expectWellFormed(ready[0]!);
    const [payout] = (await ctx.admin.get('/api/v1/payouts')).body.data;
    expect((await ctx.admin.post(`/api/v1/payouts/${payout.id}/complete`, { reference: 'PP-123' })).status).toBe(200);
    await sendEmails();
    const sent = since(before, email);
    expect(sent.map((m) => m.subject)).toEqual(['Acme sent you $10.00']);
    expect(sent[0]!.text).toContain('PP-123');
    expectWellFormed(sent[0]!);
  });

  it('a commission held by the fraud check (self-referral) tells the merchant team once', async () => {
    const r = await ctx.referral();
    const email = (
      await ctx.app.db
        .selectFrom('affiliates')
        .select('email')
        .where('id', '=', r.affiliateId)
        .executeTakeFirstOrThrow()
    ).email;
    await paidInvoice(r.referral);
    await sendEmails();
    const before = smtp.messages.length;
    // The affiliate buys through their own link: the fraud check holds the commission.
    await paidInvoice(r.referral, email);
    const held = (await ctx.commissions(r.affiliateId)).filter((c) => c.status === 'on_hold');
    expect(held).toHaveLength(1);
    await sendEmails();
    await sendEmails();
    const toTeam = since(before, TEAM);
    expect(toTeam.map((m) => m.subject)).toEqual(['Commission on hold for review: $10.00']);
    expect(toTeam[0]!.text).toContain(held[0].id);
    expect(toTeam[0]!.text).toContain('self_referral_email');
    expectWellFormed(toTeam[0]!);
    expect(since(before, email)).toEqual([]);
  });

  it('a Stripe event that ends failed after its retries tells the merchant team once', async () => {
    const refund = chargeRefunded({
      chargeId: freshId('ch'),
      paymentIntent: freshId('pi'),
      amount: 10_000,
      amountRefunded: 10_000,
    });
    await ctx.send(refund);
    // The sale is not unreferred-known: the refund waits, then gives up.
    let moved = 0;
    try {
      for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
        const wait = RETRY_DELAYS_MS[attempt - 2]!;
        ctx.app.advance(wait);
        moved += wait;
        await ctx.app.services.stripeWebhooks.processPending();
      }
    } finally {
      ctx.app.advance(-moved);
    }
    expect(await ctx.inbox(refund.id)).toMatchObject({ status: 'failed' });
    const before = smtp.messages.length;
    await sendEmails();
    await sendEmails();
    const toTeam = since(before, TEAM);
    expect(toTeam.map((m) => m.subject)).toEqual(['Stripe event failed: charge.refunded']);
    expect(toTeam[0]!.text).toContain(refund.id);
    expectWellFormed(toTeam[0]!);
  });
});

describe('unsubscribe and preferences', () => {
  it('the link alone (one-click POST) turns off that kind for that person only; the dashboard shows it', async () => {
    const r = await ctx.referral();
    const email = (
      await ctx.app.db
        .selectFrom('affiliates')
        .select('email')
        .where('id', '=', r.affiliateId)
        .executeTakeFirstOrThrow()
    ).email;
    await paidInvoice(r.referral);
    await paidInvoice(r.referral);
    const [c1, c2] = await ctx.commissions(r.affiliateId);
    let before = smtp.messages.length;
    await ctx.admin.post(`/api/v1/commissions/${c1.id}/approve`);
    await sendEmails();
    const approvedMail = since(before, email).find((m) => m.subject.startsWith('Commission approved'))!;
    const url = unsubscribeUrl(approvedMail);

    // A GET (a mail scanner, or the person) shows a confirm page and changes nothing.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('A commission was approved');
    const post = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(post.status).toBe(200);
    expect(await post.text()).toContain('will no longer receive');
    const altered = await fetch(`${url.slice(0, -2)}xx`, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(altered.status).toBe(400);

    // That kind stops; another kind still arrives; another person still gets that kind.
    before = smtp.messages.length;
    await ctx.admin.post(`/api/v1/commissions/${c2.id}/approve`);
    const other = await ctx.referral();
    const otherEmail = (
      await ctx.app.db
        .selectFrom('affiliates')
        .select('email')
        .where('id', '=', other.affiliateId)
        .executeTakeFirstOrThrow()
    ).email;
    await paidInvoice(other.referral);
    const [oc] = await ctx.commissions(other.affiliateId);
    await ctx.admin.post(`/api/v1/commissions/${oc.id}/approve`);
    const third = await paidInvoice(r.referral);
    await ctx.send(
      chargeRefunded({ chargeId: third.charge, paymentIntent: third.pi, amount: 10_000, amountRefunded: 10_000 }),
    );
    await sendEmails();
    expect(since(before, email).map((m) => m.subject)).toEqual(['A commission of $10.00 was taken back']);
    expect(since(before, otherEmail).map((m) => m.subject)).toContain('Commission approved: $10.00');

    // The partner dashboard's preferences say so, and can turn it back on.
    const link = await ctx.app.services.partner.issueSetPasswordLink({ id: r.affiliateId });
    const set = await ctx.app.request('/api/v1/partner/password', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: link.split('=')[1], password: 'a long enough passphrase' }),
    });
    const cookie = set.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = await set.json();
    const prefs = await ctx.app.request('/api/v1/partner/email-preferences', { headers: { cookie } });
    const body = await prefs.json();
    expect(body.preferences).toContainEqual({
      kind: 'commission_approved',
      label: 'A commission was approved',
      subscribed: false,
    });
    expect(body.preferences).toContainEqual({ kind: 'payout_sent', label: 'A payout was sent', subscribed: true });
    const on = await ctx.app.request('/api/v1/partner/email-preferences', {
      method: 'PUT',
      headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ preferences: { commission_approved: true, clawback: false } }),
    });
    expect(on.status).toBe(200);
    const after = (await on.json()).preferences as { kind: string; subscribed: boolean }[];
    expect(after.find((p) => p.kind === 'commission_approved')!.subscribed).toBe(true);
    expect(after.find((p) => p.kind === 'clawback')!.subscribed).toBe(false);
    const noCsrf = await ctx.app.request('/api/v1/partner/email-preferences', {
      method: 'PUT',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ preferences: { clawback: true } }),
    });
    expect(noCsrf.status).toBe(403);
  });
});

describe('delivery', () => {
  it('a mail the SMTP server refuses once is retried after the backoff and arrives once', async () => {
    const before = smtp.messages.length;
    smtp.failNext('dot@partners.test', 1);
    await apply('Dot', 'dot@partners.test');
    const first = await sendEmails();
    expect(first.retry).toBeGreaterThanOrEqual(1);
    expect(since(before, 'dot@partners.test')).toEqual([]);
    // Not due again before its backoff.
    await sendEmails();
    expect(since(before, 'dot@partners.test')).toEqual([]);
    await sendEmails(2 * 60_000);
    await sendEmails(3 * 60_000);
    expect(since(before, 'dot@partners.test').map((m) => m.subject)).toEqual([
      'We received your application to the Acme partner program',
    ]);
    const row = await ctx.app.db
      .selectFrom('email_outbox')
      .select(['status', 'attempts'])
      .where('kind', '=', 'application_received')
      .where('recipient', '=', 'dot@partners.test')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'sent', attempts: 2 });
  });

  it('two instances (own pools, own Agenda) share the outbox: the send-emails job and concurrent runs send each mail once', async () => {
    const before = smtp.messages.length;
    const emails = Array.from({ length: 12 }, (_, i) => `crowd${i}@partners.test`);
    for (const e of emails) await apply(`Crowd ${e}`, e);
    const config = loadConfig({
      DATABASE_URL: ctx.app.databaseUrl,
      PORT: '0',
      SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
      SMTP_URL: smtp.url('partners@acme.test'),
      LOG_LEVEL: 'error',
    });
    const workers = [];
    for (let i = 0; i < 2; i++) {
      const handle = openDatabase(ctx.app.databaseUrl, 5);
      const services = createServices(handle.db, config);
      const scheduler = createScheduler({
        pool: handle.pool,
        commissions: services.commissions,
        mailOutbox: services.mailOutbox,
        processEvery: 100,
      });
      await scheduler.agenda.ready;
      workers.push({ handle, services, scheduler });
    }
    try {
      // Both start (the recurring send-emails runs at once on one of them) while both also send by hand.
      await Promise.all([
        ...workers.map((w) => w.scheduler.start()),
        ...workers.map((w) => w.services.mailOutbox.sendDue()),
        ...workers.map((w) => w.services.mailOutbox.sendDue()),
      ]);
      const until = Date.now() + 15_000;
      while (since(before, TEAM).length < emails.length && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      await Promise.all(workers.map((w) => w.services.mailOutbox.sendDue()));
    } finally {
      for (const w of workers) {
        await w.scheduler.stop();
        await w.handle.close();
      }
    }
    for (const e of emails) expect(since(before, e), e).toHaveLength(1);
    expect(since(before, TEAM)).toHaveLength(emails.length);
  });

  it('sent rows are pruned after the retention', async () => {
    const done = async () =>
      Number(
        (
          await ctx.app.db
            .selectFrom('email_outbox')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('status', '<>', 'pending')
            .where('done_at', '<', new Date(Date.now() + 86_400_000))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await done()).toBeGreaterThan(0);
    await sendEmails(29 * 86_400_000);
    expect(await done()).toBeGreaterThan(0);
    const r = await sendEmails(31 * 86_400_000);
    expect(r.pruned).toBeGreaterThan(0);
    expect(await done()).toBe(0);
  });
});

describe('without SMTP_URL', () => {
  let bare: TestApp;
  const logged: string[] = [];
  beforeAll(async () => {
    bare = await startTestApp({}, { log: (msg) => logged.push(msg) });
  });
  afterAll(async () => {
    await bare?.stop();
  });

  it('logs each mail instead of sending it', async () => {
    const p = await bare.services.programs.create({ name: 'Bare Shop', website: 'https://bare.test' });
    const res = await bare.request(`/api/v1/partner/programs/${p.id}/apply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Eve', email: 'eve@partners.test', promotionMethod: 'Blog' }),
    });
    expect(res.status).toBe(202);
    const r = await bare.services.mailOutbox.sendDue();
    expect(r.logged).toBe(1);
    expect(logged.find((l) => l.includes('mail (SMTP_URL not set, not sent) to eve@partners.test'))).toContain(
      'We received your application to the Bare Shop partner program',
    );
  });
});
