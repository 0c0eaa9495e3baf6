/**
 * One definition of a lead (`leadCount`, `server/programs/stats.repository.ts`): a referred visitor who signed up —
 * the snippet's `track/lead`, or a Stripe customer bound to the referral (`customer.created` metadata, a sale) —
 * counted once per referral and once per Stripe customer. The merchant's `GET /api/v1/stats` and the affiliate's
 * partner overview used to count differently (status `lead` only; every referral in `lead`/`customer`), so the
 * partner's Leads tile showed more than the admin API for the same program. Driven through the real write paths:
 * clicks, `POST /api/v1/track/lead`, signed Stripe webhooks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutCompleted, customerEvent, freshId } from '../helpers/stripe.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';

const PASSWORD = 'correct horse battery';
let ctx: StripeTestContext;

beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_lead_count' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

/** The program's only affiliate, logged in to the partner dashboard: its overview, and its visitors' clicks. */
async function onlyAffiliate() {
  const a = await ctx.app.services.affiliates.create(ctx.program, {
    email: `p${freshId('x')}@partners.test`,
    name: 'Partner',
    status: 'approved',
  });
  const token = (await ctx.app.services.partner.issueSetPasswordLink(a)).split('#set-password=')[1];
  const res = await ctx.app.request('/api/v1/partner/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return {
    async overview() {
      const r = await ctx.app.request('/api/v1/partner/overview', { headers: { cookie } });
      expect(r.status).toBe(200);
      return (await r.json()) as { leads: number; customers: number; clicks: number };
    },
    async click(): Promise<string> {
      const r = (await ctx.app.services.tracking.recordClick(
        { key: ctx.program.public_key, code: a.code },
        { ip: null, userAgent: null, origin: null },
      )) as { referral: string };
      return r.referral;
    },
  };
}

/** The snippet's `partnerkit('lead', { email })`. */
async function trackLead(referral: string, email: string) {
  const res = await ctx.app.request('/api/v1/track/lead', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: 'https://acme.test' },
    body: JSON.stringify({ key: ctx.program.public_key, referral, email }),
  });
  expect(res.status).toBe(200);
}

/** Stripe `customer.created` with metadata `partnerkit_referral`. */
async function customerCreated(referral: string, customerId: string) {
  const { row } = await ctx.send(
    customerEvent('created', { customerId, metadata: { partnerkit_referral: referral }, shape: 'basil' }),
  );
  expect(row).toMatchObject({ status: 'processed' });
}

/** A paid Checkout Session for `referral` by Stripe customer `customerId`. */
async function checkout(referral: string, customerId: string) {
  const event = checkoutCompleted({ referral, amountTotal: 5_000 });
  event.data.object.customer = customerId;
  const { row } = await ctx.send(event);
  expect(row).toMatchObject({ status: 'processed' });
}

const adminLeads = async (query = '') => {
  const res = await ctx.admin.get(`/api/v1/stats${query}`);
  expect(res.status).toBe(200);
  return res.body as { leads: number; customers: number; visitors: number };
};

describe('leads: GET /api/v1/stats and the partner overview', () => {
  it('count the same visitors who signed up, once per referral and once per Stripe customer', async () => {
    const partner = await onlyAffiliate();
    const [r1, r2, r3, r4, r5, r6] = [
      await partner.click(),
      await partner.click(),
      await partner.click(),
      await partner.click(),
      await partner.click(),
      await partner.click(),
    ];
    const [cusA, cusB] = [freshId('cus'), freshId('cus')];
    // r1 signs up on the merchant's site.
    await trackLead(r1, 'ann@example.org');
    // r2 signs up, and the merchant creates its Stripe customer with the referral: one sign-up, two signals.
    await trackLead(r2, 'ben@example.org');
    await customerCreated(r2, cusA);
    // r3 signs up through Stripe only (customer.created with the referral), no track/lead call.
    await customerCreated(r3, cusB);
    // r4 and r6: the same two customers come back through new clicks (cookies cleared) and buy: the same people.
    await checkout(r4, cusA);
    await checkout(r6, cusB);
    // r5 only visited.
    expect(r5).toMatch(/^ref_/);

    const [stats, overview] = await Promise.all([adminLeads(), partner.overview()]);
    // Three people signed up: r1, the customer of r2/r4, the customer of r3/r6.
    expect(stats.leads).toBe(3);
    expect(overview.leads).toBe(stats.leads);
    expect(overview.customers).toBe(stats.customers);
    // The period: everything above happened today.
    expect((await adminLeads('?days=1')).leads).toBe(3);
  });
});
