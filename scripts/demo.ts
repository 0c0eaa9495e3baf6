/**
 * `npm run demo` — the main job end to end against a running `npm start`:
 * creates a program and an approved affiliate, loads a merchant page with the real built snippet in happy-dom
 * (`?ref=<code>`), takes the referral id, sends a signed `checkout.session.completed` (a real Stripe payload)
 * to the webhook, approves with the hold period skipped, logs in as the affiliate and prints what the dashboard
 * API shows. Exits 0 only if those numbers are right.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { Window } from 'happy-dom';
import { applyRate, formatMoney } from '../server/commissions/money.ts';
import { createCliContext } from './cli/context.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// http, like the local server: happy-dom (as browsers do) blocks an http script on an https page.
const MERCHANT = 'http://shop.partnerkit.test';

function fixture(): any {
  const file = path.resolve(
    HERE,
    '..',
    'test',
    'fixtures',
    'stripe',
    'stripe-sync-engine',
    'checkout_session_completed.json',
  );
  return JSON.parse(readFileSync(file, 'utf8'));
}

function fail(message: string): never {
  console.error(`demo: FAILED — ${message}`);
  process.exit(1);
}

const ctx = createCliContext(process.env);
const base = ctx.config.publicUrl;
const ping = await fetch(`${base}/pk.js`).catch(() => null);
if (!ping?.ok) fail(`no partnerkit server answers at ${base} — run \`npm start\` in another shell first`);

// 1. A program and an approved affiliate (directly in the running server's database).
const secret = `whsec_demo_${randomBytes(12).toString('hex')}`;
const setup = await ctx.withServices(async (s) => {
  const created = await s.programs.create({ name: 'Demo Shop', website: MERCHANT, stripeWebhookSecret: secret });
  const program = (await s.programs.findById(created.id))!;
  const affiliate = await s.affiliates.create(program, {
    email: `jane.${randomBytes(3).toString('hex')}@example.com`,
    name: 'Jane Demo',
    status: 'approved',
  });
  return { created, affiliate, setPasswordUrl: await s.partner.issueSetPasswordLink(affiliate) };
});
console.log(`program ${setup.created.id}, affiliate ${setup.affiliate.email} (code ${setup.affiliate.code})`);

// 2. A visitor lands on the merchant's page with ?ref=<code>; the real snippet records the click.
const window = new Window({
  url: `${MERCHANT}/pricing?ref=${setup.affiliate.code}`,
  settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true },
});
const page = window as unknown as {
  partnerkit?: any;
  document: Document;
  happyDOM: { waitUntilComplete(): Promise<void>; close(): Promise<void> };
};
page.document.write(`<!doctype html><html><head>
  <script>window.partnerkit = window.partnerkit || function(){ (partnerkit.q = partnerkit.q || []).push(arguments) };</script>
  <script async src="${base}/pk.js" data-key="${setup.created.publicKey}"></script>
</head><body><a id="buy" href="https://buy.stripe.com/test_demo">Buy</a></body></html>`);
const referral = await new Promise<string | null>((resolve) => {
  const timer = setTimeout(() => resolve(null), 10_000);
  page.partnerkit('ready', () => {
    clearTimeout(timer);
    resolve(page.partnerkit.referral ?? null);
  });
});
await page.happyDOM.waitUntilComplete();
const buyHref = page.document.getElementById('buy')?.getAttribute('href');
await page.happyDOM.close();
if (!referral) fail('the snippet did not produce a referral id');
console.log(`snippet: referral ${referral}; Payment Link now ${buyHref}`);

// 3. Stripe reports the checkout: a real payload with our referral as client_reference_id, signed.
const event = fixture();
event.id = `evt_demo_${randomBytes(8).toString('hex')}`;
event.created = Math.floor(Date.now() / 1000);
const session = event.data.object;
session.id = `cs_demo_${randomBytes(8).toString('hex')}`;
session.client_reference_id = referral;
session.payment_intent = `pi_demo_${randomBytes(8).toString('hex')}`;
if (session.invoice) session.invoice = `in_demo_${randomBytes(8).toString('hex')}`;
const payload = JSON.stringify(event);
const hook = await fetch(setup.created.webhookUrl, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret }),
  },
  body: payload,
});
console.log(`webhook: HTTP ${hook.status} ${JSON.stringify(await hook.json())}`);
if (!hook.ok) fail('the webhook did not accept the signed event');

// 4. Approval with the hold period skipped (the `approve-commissions` job, run now).
let approved = 0;
for (let i = 0; i < 50 && approved === 0; i++) {
  approved = await ctx.withServices((s) => s.commissions.approveDue({ programId: setup.created.id, skipHold: true }));
  if (approved === 0) await new Promise((r) => setTimeout(r, 200));
}
console.log(`approve-commissions: ${approved} approved`);

// 5. The affiliate sets a password through the one-time link, logs in, and reads the dashboard API.
const json = { 'content-type': 'application/json' };
const token = new URL(setup.setPasswordUrl).hash.replace(/^#set-password=/, '');
const pw = await fetch(`${base}/api/v1/partner/password`, {
  method: 'POST',
  headers: json,
  body: JSON.stringify({ token, password: 'demo-password-123' }),
});
if (!pw.ok) fail(`set password: HTTP ${pw.status}`);
const cookie = (pw.headers.get('set-cookie') ?? '').split(';')[0]!;
const overview = (await (await fetch(`${base}/api/v1/partner/overview`, { headers: { cookie } })).json()) as any;
console.log('dashboard API /api/v1/partner/overview:', JSON.stringify(overview));

// 6. Check the numbers: 1 click, 1 conversion, commission = 10 % of the amount paid excluding tax.
const amount = session.amount_total - (session.total_details?.amount_tax ?? 0);
const expected = applyRate(amount, 1000);
const earned = overview.earnings?.find((e: any) => e.currency === session.currency);
const ok = overview.clicks === 1 && overview.conversions === 1 && earned?.approved === expected;
console.log(
  `clicks ${overview.clicks}, conversions ${overview.conversions}, commission ${earned ? formatMoney(earned.approved, session.currency) : 'none'}` +
    ` (expected 1, 1, ${formatMoney(expected, session.currency)} = 10 % of ${formatMoney(amount, session.currency)} excl. tax)`,
);
if (!ok) fail('the dashboard numbers are not what the sale should produce');
console.log('demo: OK');
process.exit(0);
