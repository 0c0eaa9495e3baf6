/**
 * The partner overview reads per-affiliate totals that triggers keep (migration 0007) instead of summing every
 * referral, sale and commission. These tests drive the real write paths (signed Stripe webhooks, the tracking
 * and conversion APIs, the merchant's approve / reject / payout routes, the hold-period job) and check after each
 * step that what the affiliate sees equals a recount from the rows themselves: the funnel and sales as the
 * pre-0007 queries counted them, the money as `commissionBalances` (the payouts engine's reference) folds it —
 * and that the totals tables equal a GROUP BY over their source tables, also after concurrent writers and after
 * the migration backfilled rows written before it existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { chargeRefunded, deliver, disputeEvent, freshId, invoicePaid } from '../helpers/stripe.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { loggedInPartner } from '../helpers/fixtures.ts';
import { affiliateBalances, commissionBalances } from '../../server/commissions/balances.ts';
import { MATURING_DAYS } from '../../server/partner/portal/portal.service.ts';
import * as m0007 from '../../server/db/migrations/0007_affiliate_totals.ts';

const DAY = 86_400_000;

let ctx: StripeTestContext;
/** How far the app's clock was moved (ms), to compute the overview's look-ahead like the app does. */
let shifted = 0;
const t0 = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  ctx = await stripeTestContext({ secret: 'whsec_test_overview_totals' });
});
afterAll(async () => {
  await ctx?.app.stop();
});

/** A new approved affiliate of `program` (default: the context's), logged in to the partner dashboard. */
async function affiliate(program = ctx.program) {
  const a = await ctx.app.services.affiliates.create(program, {
    email: `p${freshId('x')}@partners.test`,
    name: 'Partner',
    status: 'approved',
  });
  const { cookie } = (await loggedInPartner(ctx.app, await ctx.app.services.partner.issueSetPasswordLink(a))).headers;
  return {
    id: a.id,
    code: a.code,
    async overview() {
      const r = await ctx.app.request('/api/v1/partner/overview', { headers: { cookie } });
      expect(r.status).toBe(200);
      return (await r.json()) as any;
    },
  };
}
type Partner = Awaited<ReturnType<typeof affiliate>>;

/** A click on the affiliate's link by a new visitor: the referral id. */
async function click(p: Partner, program = ctx.program): Promise<string> {
  const r = (await ctx.app.services.tracking.recordClick(
    { key: program.public_key, code: p.code },
    { ip: null, userAgent: null, origin: null },
  )) as { referral: string };
  return r.referral;
}

/** A referred subscription's first invoice paid (`amount` minor units): the ids a refund or dispute names. */
async function sale(referral: string, amount: number, currency = 'usd') {
  const ids = { charge: freshId('ch'), pi: freshId('pi') };
  await ctx.send(
    invoicePaid({
      invoiceId: freshId('in'),
      subscriptionMetadata: { partnerkit_referral: referral },
      billingReason: 'subscription_create',
      amountPaid: amount,
      currency,
      charge: ids.charge,
      paymentIntent: ids.pi,
    }),
  );
  return { ...ids, amount, currency };
}

async function refund(s: { charge: string; pi: string; amount: number; currency: string }, amountRefunded: number) {
  await ctx.send(
    chargeRefunded({ chargeId: s.charge, paymentIntent: s.pi, amount: s.amount, amountRefunded, currency: s.currency }),
  );
}

async function commissionOf(affiliateId: string, kind = 'sale', i = 0) {
  const rows = await ctx.commissions(affiliateId);
  return rows.filter((c) => c.kind === kind)[i]!;
}

/**
 * What the overview must show, recounted from the rows: the funnel and sales with the queries the overview
 * used before migration 0007, the money from `commissionBalances` (the payouts engine's buckets).
 */
async function recount(affiliateId: string) {
  const db = ctx.app.db;
  const until = new Date(Date.now() + shifted + MATURING_DAYS * DAY);
  const funnel = (
    await sql<{ clicks: number; leads: number; customers: number }>`
      SELECT (SELECT coalesce(sum(clicks), 0)::bigint FROM affiliate_daily_clicks WHERE affiliate_id = ${affiliateId}) AS clicks,
             count(*) AS leads, count(*) FILTER (WHERE status = 'customer') AS customers
      FROM referrals WHERE affiliate_id = ${affiliateId} AND status IN ('lead', 'customer')`.execute(db)
  ).rows[0]!;
  const sales = (
    await sql<{ currency: string; n: number; revenue: number }>`
      SELECT currency, count(*) AS n, (sum(amount) - sum(refunded_amount))::bigint AS revenue
      FROM conversions WHERE affiliate_id = ${affiliateId} AND kind = 'sale' GROUP BY currency ORDER BY currency`.execute(
      db,
    )
  ).rows;
  const money = (await commissionBalances(db, { affiliateId, until })).sort((a, b) =>
    a.currency.localeCompare(b.currency),
  );
  return {
    clicks: Number(funnel.clicks),
    leads: Number(funnel.leads),
    customers: Number(funnel.customers),
    conversions: sales.reduce((s, x) => s + Number(x.n), 0),
    revenue: sales.map((x) => ({ currency: x.currency, amount: Number(x.revenue) })),
    earnings: money.map((m) => ({
      currency: m.currency,
      pending: m.pending,
      onHold: m.on_hold,
      approved: m.approved,
      clawbacks: m.clawbacks,
      inPayouts: m.in_payouts,
      paid: m.paid,
    })),
    payable: money.map((m) => ({ currency: m.currency, amount: m.balance, maturing: m.maturing })),
  };
}

/** The affiliate's overview, checked field by field against the recount; returned for concrete assertions. */
async function overviewMatchingRecount(p: Partner) {
  const [shown, expected] = await Promise.all([p.overview(), recount(p.id)]);
  const { payable, ...rest } = expected;
  expect(shown).toMatchObject(rest);
  expect(shown.revenue).toEqual(expected.revenue);
  expect(shown.earnings).toEqual(expected.earnings);
  for (const b of shown.nextPayout)
    expect(payable).toContainEqual({ currency: b.currency, amount: b.amount, maturing: b.maturing });
  return shown;
}

/** Every totals row (count > 0) equals a GROUP BY over its source table, for every affiliate. */
async function expectTotalsEqualRecount() {
  const db = ctx.app.db;
  const pairs = [
    [
      sql<
        Record<string, unknown>
      >`SELECT affiliate_id, currency, sales::bigint AS n, amount::bigint AS a, refunded_amount::bigint AS b FROM affiliate_sales_totals WHERE sales <> 0`,
      sql<
        Record<string, unknown>
      >`SELECT affiliate_id, currency, count(*)::bigint AS n, sum(amount)::bigint AS a, sum(refunded_amount)::bigint AS b FROM conversions WHERE kind = 'sale' GROUP BY 1, 2`,
    ],
    [
      sql<
        Record<string, unknown>
      >`SELECT affiliate_id, currency, status, in_payout, negative, commissions::bigint AS n, amount::bigint AS a FROM affiliate_commission_totals WHERE commissions <> 0`,
      sql<
        Record<string, unknown>
      >`SELECT affiliate_id, currency, status, payout_id IS NOT NULL AS in_payout, amount < 0 AS negative, count(*)::bigint AS n, sum(amount)::bigint AS a FROM commissions GROUP BY 1, 2, 3, 4, 5`,
    ],
    [
      sql<
        Record<string, unknown>
      >`SELECT affiliate_id, status, referrals::bigint AS n FROM affiliate_referral_totals WHERE referrals <> 0`,
      sql<
        Record<string, unknown>
      >`SELECT affiliate_id, status, count(*)::bigint AS n FROM referrals WHERE status IN ('lead', 'customer') GROUP BY 1, 2`,
    ],
  ] as const;
  for (const [totals, source] of pairs) {
    const key = (r: Record<string, unknown>) => JSON.stringify(Object.values(r));
    const [t, s] = await Promise.all([totals.execute(db), source.execute(db)]);
    expect(t.rows.map(key).sort()).toEqual(s.rows.map(key).sort());
    expect(s.rows.length).toBeGreaterThan(0);
  }
  // Zero-count rows carry no money either.
  const stale = await sql<{ n: number }>`
    SELECT (SELECT count(*) FROM affiliate_sales_totals WHERE sales = 0 AND (amount <> 0 OR refunded_amount <> 0))
         + (SELECT count(*) FROM affiliate_commission_totals WHERE commissions = 0 AND amount <> 0) AS n`.execute(db);
  expect(Number(stale.rows[0]!.n)).toBe(0);
}

/** `affiliateBalances` (totals) equals `commissionBalances` (the rows) for every affiliate with commissions. */
async function expectFastBalancesEqualReference(until: Date) {
  const db = ctx.app.db;
  const ids = (await db.selectFrom('commissions').select('affiliate_id').distinct().execute()).map(
    (r) => r.affiliate_id,
  );
  expect(ids.length).toBeGreaterThan(0);
  const byCurrency = (rows: Array<{ currency: string }>) =>
    [...rows].sort((a, b) => a.currency.localeCompare(b.currency));
  for (const id of ids) {
    expect(byCurrency(await affiliateBalances(db, id, until))).toEqual(
      byCurrency(await commissionBalances(db, { affiliateId: id, until })),
    );
  }
}

describe('the overview after real writes', () => {
  it('sale, refund, dispute lost and won, approval, payout, clawback and the hold-period job: every number as the rows say', async () => {
    const ann = await affiliate();
    const bystander = await affiliate();
    expect(await overviewMatchingRecount(ann)).toMatchObject({
      clicks: 0,
      leads: 0,
      customers: 0,
      conversions: 0,
      revenue: [],
      earnings: [],
    });

    // Four visitors; the fourth signs up (a lead).
    const [r1, r2, r3, r4] = [await click(ann), await click(ann), await click(ann), await click(ann)];
    const lead = await ctx.app.request('/api/v1/track/lead', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://acme.test' },
      body: JSON.stringify({ key: ctx.program.public_key, referral: r4, email: 'lena.lead@example.org' }),
    });
    expect(lead.status).toBe(200);
    expect(await overviewMatchingRecount(ann)).toMatchObject({ clicks: 4, leads: 1, customers: 0, conversions: 0 });

    // Three sales: 100.00 and 50.00 usd, 20.00 eur (10 % commissions, 30-day hold).
    const a = await sale(r1!, 10_000);
    const b = await sale(r2!, 5_000);
    await sale(r3!, 2_000, 'eur');
    await sale(await click(bystander), 9_900);
    let o = await overviewMatchingRecount(ann);
    expect(o).toMatchObject({
      clicks: 4,
      leads: 4,
      customers: 3,
      conversions: 3,
      revenue: [
        { currency: 'eur', amount: 2_000 },
        { currency: 'usd', amount: 15_000 },
      ],
      earnings: [
        { currency: 'eur', pending: 200, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
        { currency: 'usd', pending: 1_500, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
      ],
    });
    expect(o.nextPayout).toContainEqual(expect.objectContaining({ currency: 'usd', amount: 0, maturing: 1_500 }));

    // 30 % of the first sale refunded: its commission drops to 7.00.
    await refund(a, 3_000);
    o = await overviewMatchingRecount(ann);
    expect(o.revenue).toContainEqual({ currency: 'usd', amount: 12_000 });
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', pending: 1_200 }));

    // The second sale disputed: its 5.00 held; lost: reversed; won after all: pending again.
    const dp = freshId('dp');
    await ctx.send(disputeEvent('created', { disputeId: dp, charge: b.charge, amount: 5_000, created: t0() }));
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', pending: 700, onHold: 500 }));
    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: b.charge, amount: 5_000, status: 'lost', created: t0() + 60 }),
    );
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', pending: 700, onHold: 0 }));
    await ctx.send(
      disputeEvent('closed', { disputeId: dp, charge: b.charge, amount: 5_000, status: 'won', created: t0() + 120 }),
    );
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', pending: 1_200, onHold: 0 }));

    // The merchant approves both usd commissions, pays them out, and the payout completes.
    for (const i of [0, 1]) {
      const c = (await ctx.commissions(ann.id)).filter((x) => x.currency === 'usd')[i]!;
      expect((await ctx.admin.post(`/api/v1/commissions/${c.id}/approve`)).status).toBe(200);
    }
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', pending: 0, approved: 1_200 }));
    expect(o.nextPayout).toContainEqual(expect.objectContaining({ currency: 'usd', amount: 1_200, maturing: 0 }));
    const payout = await ctx.admin.post('/api/v1/payouts', { affiliateId: ann.id, currency: 'usd', method: 'paypal' });
    expect(payout.status).toBe(201);
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(
      expect.objectContaining({ currency: 'usd', approved: 0, inPayouts: 1_200, paid: 0 }),
    );
    expect(
      (await ctx.admin.post(`/api/v1/payouts/${payout.body.payout.id}/complete`, { reference: 'PP-1' })).status,
    ).toBe(200);
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', inPayouts: 0, paid: 1_200 }));

    // The rest of the first sale refunded after the payout: a clawback of the 7.00 paid.
    await refund(a, 10_000);
    expect(await commissionOf(ann.id, 'clawback')).toMatchObject({ amount: -700, status: 'approved' });
    o = await overviewMatchingRecount(ann);
    expect(o.revenue).toContainEqual({ currency: 'usd', amount: 5_000 });
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', clawbacks: -700, paid: 1_200 }));
    expect(o.nextPayout).toContainEqual(expect.objectContaining({ currency: 'usd', amount: -700 }));

    // The hold-period job approves the eur commission 31 days later (the clock goes back before the affiliate
    // looks: sessions last 30 days).
    ctx.app.advance(31 * DAY);
    try {
      expect(await ctx.app.services.commissions.approveDue()).toBeGreaterThan(0);
    } finally {
      ctx.app.advance(-31 * DAY);
    }
    o = await overviewMatchingRecount(ann);
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'eur', pending: 0, approved: 200 }));

    await overviewMatchingRecount(bystander);
    await expectTotalsEqualRecount();
    await expectFastBalancesEqualReference(new Date(Date.now() + MATURING_DAYS * DAY));
  });

  it('API conversions and a rejected commission: a lead conversion is not a sale, a rejection leaves every bucket', async () => {
    const cam = await affiliate();
    const r = await click(cam);
    const leadConversion = await ctx.admin.post('/api/v1/conversions', {
      type: 'lead',
      referral: r,
      customerEmail: 'cam.lead@example.org',
      externalId: freshId('signup'),
    });
    expect(leadConversion.status).toBeLessThan(300);
    const apiSale = await ctx.admin.post('/api/v1/conversions', {
      referral: await click(cam),
      amount: 4_000,
      currency: 'gbp',
      externalId: freshId('order'),
    });
    expect(apiSale.status).toBeLessThan(300);
    let o = await overviewMatchingRecount(cam);
    expect(o).toMatchObject({ conversions: 1, revenue: [{ currency: 'gbp', amount: 4_000 }] });
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'gbp', pending: 400 }));

    const c = (await ctx.commissions(cam.id)).find((x) => x.currency === 'gbp')!;
    expect((await ctx.admin.post(`/api/v1/commissions/${c.id}/reject`, { reason: 'test order' })).status).toBe(200);
    o = await overviewMatchingRecount(cam);
    // The currency stays listed (a commission exists in it), with nothing in any bucket.
    expect(o.earnings).toContainEqual({
      currency: 'gbp',
      pending: 0,
      onHold: 0,
      approved: 0,
      clawbacks: 0,
      inPayouts: 0,
      paid: 0,
    });
    await expectTotalsEqualRecount();
  });

  it('concurrent sales, refunds, approvals and overview reads of one affiliate leave the totals exact', async () => {
    const dan = await affiliate();
    const referrals = await Promise.all(Array.from({ length: 12 }, () => click(dan)));
    // Twelve sales delivered at once (the inbox processes them concurrently), while the affiliate looks.
    const sales = referrals.map((r, i) => ({
      referral: r,
      amount: 1_000 * (i + 1),
      ids: { charge: freshId('ch'), pi: freshId('pi') },
    }));
    const events = sales.map((s) =>
      invoicePaid({
        invoiceId: freshId('in'),
        subscriptionMetadata: { partnerkit_referral: s.referral },
        billingReason: 'subscription_create',
        amountPaid: s.amount,
        charge: s.ids.charge,
        paymentIntent: s.ids.pi,
      }),
    );
    await Promise.all([
      ...events.map(async (e) => expect((await deliver(ctx.app.url, ctx.program.id, e, ctx.secret)).status).toBe(200)),
      dan.overview(),
      dan.overview(),
    ]);
    await ctx.app.services.stripeWebhooks.idle();
    let o = await overviewMatchingRecount(dan);
    expect(o).toMatchObject({ customers: 12, conversions: 12, revenue: [{ currency: 'usd', amount: 78_000 }] });
    expect(o.earnings).toEqual([
      { currency: 'usd', pending: 7_800, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
    ]);

    // At once: half of the sales refunded in part, the other half approved by the merchant.
    const commissions = await ctx.commissions(dan.id);
    const byCharge = new Map(sales.map((s) => [s.referral, s]));
    const conversions = await ctx.app.db
      .selectFrom('conversions')
      .select(['id', 'referral_id'])
      .where('affiliate_id', '=', dan.id)
      .execute();
    const saleOf = new Map(conversions.map((c) => [c.id, byCharge.get(c.referral_id!)!]));
    await Promise.all(
      commissions.map(async (c, i) => {
        const s = saleOf.get(c.conversion_id!)!;
        if (i % 2 === 0) {
          const res = await deliver(
            ctx.app.url,
            ctx.program.id,
            chargeRefunded({
              chargeId: s.ids.charge,
              paymentIntent: s.ids.pi,
              amount: s.amount,
              amountRefunded: s.amount / 2,
            }),
            ctx.secret,
          );
          expect(res.status).toBe(200);
        } else {
          expect((await ctx.admin.post(`/api/v1/commissions/${c.id}/approve`)).status).toBe(200);
        }
      }),
    );
    await ctx.app.services.stripeWebhooks.idle();
    o = await overviewMatchingRecount(dan);
    const refunded = commissions
      .filter((_, i) => i % 2 === 0)
      .reduce((sum, c) => sum + saleOf.get(c.conversion_id!)!.amount / 2, 0);
    const approved = commissions.filter((_, i) => i % 2 === 1).reduce((sum, c) => sum + c.amount, 0);
    expect(o.revenue).toEqual([{ currency: 'usd', amount: 78_000 - refunded }]);
    expect(o.earnings).toEqual([
      {
        currency: 'usd',
        pending: 7_800 - approved - refunded / 10,
        onHold: 0,
        approved,
        clawbacks: 0,
        inPayouts: 0,
        paid: 0,
      },
    ]);
    await expectTotalsEqualRecount();
  });

  it('maturing: a pending commission counts once its payable date comes within the look-ahead', async () => {
    // A program with a 45-day hold: a new commission is pending but not payable within MATURING_DAYS (30).
    const created = await ctx.app.services.programs.create({
      name: 'Slow',
      website: 'https://acme.test',
      stripeWebhookSecret: 'whsec_test_overview_slow',
    });
    const slow = (await ctx.app.services.programs.findById(created.id))!;
    await ctx.app.services.programs.updateSettings(slow, { holdDays: 45 });
    const eve = await affiliate(slow);
    const res = await ctx.app.request('/api/v1/conversions', {
      method: 'POST',
      headers: { authorization: `Bearer ${created.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        referral: await click(eve, slow),
        amount: 8_000,
        currency: 'usd',
        externalId: freshId('order'),
      }),
    });
    expect(res.status).toBeLessThan(300);
    let o = await overviewMatchingRecount(eve);
    expect(o.earnings).toEqual([
      { currency: 'usd', pending: 800, onHold: 0, approved: 0, clawbacks: 0, inPayouts: 0, paid: 0 },
    ]);
    expect(o.nextPayout).toContainEqual(expect.objectContaining({ currency: 'usd', amount: 0, maturing: 0 }));
    await expectFastBalancesEqualReference(new Date(Date.now() + MATURING_DAYS * DAY));

    ctx.app.advance(16 * DAY);
    shifted += 16 * DAY;
    try {
      o = await overviewMatchingRecount(eve);
      expect(o.nextPayout).toContainEqual(expect.objectContaining({ currency: 'usd', amount: 0, maturing: 800 }));
      await expectFastBalancesEqualReference(new Date(Date.now() + shifted + MATURING_DAYS * DAY));
    } finally {
      ctx.app.advance(-16 * DAY);
      shifted -= 16 * DAY;
    }
  });

  it('the migration counts the rows written before it existed', async () => {
    // Undo 0007, write without triggers (a sale, a refund, a lead), then apply it again: the backfill counts them.
    const fay = await affiliate();
    const db = ctx.app.db as unknown as Kysely<unknown>;
    await m0007.down(db);
    try {
      const r = await click(fay);
      const s = await sale(r, 6_000);
      await refund(s, 1_000);
    } finally {
      await m0007.up(db);
    }
    const o = await overviewMatchingRecount(fay);
    expect(o).toMatchObject({ leads: 1, customers: 1, conversions: 1, revenue: [{ currency: 'usd', amount: 5_000 }] });
    expect(o.earnings).toContainEqual(expect.objectContaining({ currency: 'usd', pending: 500 }));
    await expectTotalsEqualRecount();
  });
});
