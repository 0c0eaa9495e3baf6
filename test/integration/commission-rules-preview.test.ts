/**
 * `POST /api/v1/commission-rules/preview` answers what a real conversion earns. For each rule set-up (percentage,
 * flat, caps, product rule, per-affiliate override, program default, recurring months, lead bounty) and several
 * random amounts, the preview's amount and rule equal the commission a real signed Stripe event (Checkout
 * Session, `invoice.paid` renewals) or the conversions API actually produced through the webhook route. Also: bad
 * input is a 400 naming the field, an unknown affiliate a 422, another program's key sees its own rules only.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutSession, deliver, freshId, invoicePaid } from '../helpers/stripe.ts';
import { DAY_MS } from '../helpers/commissions.ts';
import { runCli } from '../helpers/cli.ts';
import type { ProgramRow } from '../../server/db/schema.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

interface Program {
  row: ProgramRow;
  secret: string;
  admin: ReturnType<typeof adminClient>;
}

async function program(): Promise<Program> {
  const secret = `whsec_test_${freshId('preview')}`;
  const created = await app.services.programs.create({
    name: 'Preview shop',
    website: 'https://preview.test',
    stripeWebhookSecret: secret,
  });
  return {
    row: (await app.services.programs.findById(created.id))!,
    secret,
    admin: adminClient(app, created.apiKey),
  };
}

async function affiliate(p: Program) {
  const a = await app.services.affiliates.create(p.row, {
    email: `${freshId('aff')}@partners.test`,
    name: 'Pat',
    status: 'approved',
  });
  return { id: a.id, code: a.code };
}

async function referral(p: Program, code: string): Promise<string> {
  const click = (await app.services.tracking.recordClick(
    { key: p.row.public_key, code },
    { ip: null, userAgent: null, origin: null },
  )) as { referral: string };
  return click.referral;
}

async function rule(p: Program, body: Record<string, unknown>): Promise<string> {
  const res = await p.admin.post('/api/v1/commission-rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.rule.id;
}

/** Deliver a signed event through the webhook route and wait until it is processed. */
async function send(p: Program, event: unknown) {
  const res = await deliver(app.url, p.row.id, event, p.secret);
  expect(res.status).toBe(200);
  await app.services.stripeWebhooks.idle();
}

/** The affiliate's commissions as the admin API lists them, newest first. */
async function commissions(p: Program, affiliateId: string) {
  const res = await p.admin.get(`/api/v1/commissions?affiliateId=${affiliateId}`);
  expect(res.status).toBe(200);
  return res.body.data as { amount: number; currency: string; ruleId: string | null; rateBps: number | null }[];
}

async function preview(p: Program, body: Record<string, unknown>) {
  const res = await p.admin.post('/api/v1/commission-rules/preview', body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    ruleId: string | null;
    ruleName: string | null;
    rateBps: number | null;
    commission: { amount: number; currency: string };
    reason: string;
    explanation: string;
  };
}

/** A paid Checkout sale of `amount` (minor units, no tax) for a referral, optionally with expanded line items. */
async function checkoutSale(
  p: Program,
  ref: string,
  amount: number,
  opts: { currency?: string; product?: string; price?: string } = {},
) {
  const event = checkoutSession({ referral: ref, amountTotal: amount, currency: opts.currency ?? 'usd' });
  if (opts.product || opts.price) {
    // As a merchant's relay that expanded `line_items` sends it.
    (event.data.object as any).line_items = {
      object: 'list',
      data: [{ price: { id: opts.price ?? freshId('price'), product: opts.product ?? freshId('prod') } }],
    };
  }
  await send(p, event);
}

interface SaleSetup {
  name: string;
  rules: (p: Program, vip: { id: string }) => Promise<unknown>;
  /** Who sells (the VIP or another affiliate), what, in which currency. */
  seller?: 'vip' | 'other';
  currency?: string;
  product?: string;
  /** What the preview and the sale must earn for 100.00, worked out by hand (the rule's own numbers). */
  at10000: number;
}

const SETUPS: SaleSetup[] = [
  { name: 'no rule: the program default (10 %)', rules: async () => null, at10000: 1_000 },
  {
    name: 'percentage',
    rules: (p) => rule(p, { name: '25 %', type: 'percentage', rateBps: 2_500 }),
    at10000: 2_500,
  },
  {
    name: 'flat per currency',
    rules: (p) => rule(p, { name: 'Flat', type: 'flat', flatAmounts: { usd: 1_500 } }),
    at10000: 1_500,
  },
  {
    name: 'flat in yen',
    rules: (p) => rule(p, { name: 'Yen', type: 'flat', flatAmounts: { jpy: 800 } }),
    currency: 'jpy',
    at10000: 800,
  },
  {
    name: 'percentage with a max and a min cap',
    rules: (p) =>
      rule(p, {
        name: 'Capped',
        type: 'percentage',
        rateBps: 3_000,
        minAmounts: { usd: 500 },
        maxAmounts: { usd: 2_000 },
      }),
    at10000: 2_000,
  },
  {
    name: 'product rule before a general one',
    rules: async (p) => {
      await rule(p, { name: 'Pro', priority: 1, stripeProductId: 'prod_test_pro', type: 'percentage', rateBps: 5_000 });
      await rule(p, { name: 'General', priority: 2, type: 'percentage', rateBps: 2_000 });
    },
    product: 'prod_test_pro',
    at10000: 5_000,
  },
  {
    name: 'product rule, another product bought: the general rule',
    rules: async (p) => {
      await rule(p, { name: 'Pro', priority: 1, stripeProductId: 'prod_test_pro', type: 'percentage', rateBps: 5_000 });
      await rule(p, { name: 'General', priority: 2, type: 'percentage', rateBps: 2_000 });
    },
    product: 'prod_test_basic',
    at10000: 2_000,
  },
  {
    name: 'per-affiliate override, the VIP sells',
    rules: async (p, vip) => {
      await rule(p, { name: 'VIP', priority: 1, affiliateId: vip.id, type: 'percentage', rateBps: 4_000 });
      await rule(p, { name: 'Everyone', priority: 2, type: 'percentage', rateBps: 1_500 });
    },
    seller: 'vip',
    at10000: 4_000,
  },
  {
    name: 'per-affiliate override, another affiliate sells',
    rules: async (p, vip) => {
      await rule(p, { name: 'VIP', priority: 1, affiliateId: vip.id, type: 'percentage', rateBps: 4_000 });
      await rule(p, { name: 'Everyone', priority: 2, type: 'percentage', rateBps: 1_500 });
    },
    seller: 'other',
    at10000: 1_500,
  },
];

const amounts = (seed: number) => [10_000, ...fc.sample(fc.integer({ min: 1, max: 5_000_000 }), { numRuns: 3, seed })];

describe('the preview equals what a real signed Checkout sale earns', () => {
  it.each(SETUPS.map((s, i) => [s.name, s, i] as const))('%s', async (_name, setup, i) => {
    const p = await program();
    const vip = await affiliate(p);
    const other = await affiliate(p);
    await setup.rules(p, vip);
    const seller = setup.seller === 'other' ? other : vip;
    const currency = setup.currency ?? 'usd';
    for (const amount of amounts(i + 1)) {
      const asked = await preview(p, {
        amount,
        currency,
        ...(setup.product ? { productId: setup.product } : {}),
        affiliateId: seller.id,
      });
      const before = (await commissions(p, seller.id)).length;
      await checkoutSale(p, await referral(p, seller.code), amount, { currency, product: setup.product });
      const after = await commissions(p, seller.id);
      // A sale that earns nothing (1 cent at 40 %) records no commission: the preview must say 0.
      const earned = after.length > before ? after[0]! : null;
      const label = `${setup.name}, ${amount}`;
      if (earned) {
        expect(asked.commission, label).toEqual({ amount: earned.amount, currency: earned.currency });
        expect(asked.ruleId, label).toBe(earned.ruleId);
        expect(asked.rateBps, label).toBe(earned.rateBps);
      } else {
        expect(asked.commission, label).toEqual({ amount: 0, currency });
      }
      if (amount === 10_000) expect(asked.commission.amount).toBe(setup.at10000);
      expect(asked.explanation).toMatch(asked.ruleName ? asked.ruleName : 'program default');
    }
  });
});

describe('recurring months and leads', () => {
  it('a renewal past the rule’s months earns nothing, as the preview says; within them it earns the rate', async () => {
    const p = await program();
    const a = await affiliate(p);
    const months = await rule(p, {
      name: 'Two months',
      type: 'percentage',
      rateBps: 3_000,
      recurring: 'months',
      recurringMonths: 2,
    });
    const ref = await referral(p, a.code);
    const subscription = freshId('sub');
    const customer = freshId('cus');
    const first = Math.floor((Date.now() - 100 * DAY_MS) / 1000);
    await send(
      p,
      invoicePaid({
        subscription,
        customer,
        subscriptionMetadata: { partnerkit_referral: ref },
        billingReason: 'subscription_create',
        amountPaid: 8_000,
        created: first,
      }),
    );
    const m1 = await preview(p, { amount: 8_000, currency: 'usd', affiliateId: a.id, recurringMonth: 1 });
    const [firstCommission] = await commissions(p, a.id);
    expect(m1.commission.amount).toBe(firstCommission!.amount);
    expect(m1).toMatchObject({ ruleId: months, commission: { amount: 2_400 } });

    // 100 days later is the customer's 4th month: past the rule's 2.
    await send(
      p,
      invoicePaid({
        subscription,
        customer,
        subscriptionMetadata: { partnerkit_referral: ref },
        billingReason: 'subscription_cycle',
        amountPaid: 8_000,
      }),
    );
    const conversions = (await p.admin.get(`/api/v1/conversions?affiliateId=${a.id}`)).body.data;
    expect(conversions).toHaveLength(2);
    expect(await commissions(p, a.id)).toHaveLength(1);
    const m4 = await preview(p, { amount: 8_000, currency: 'usd', affiliateId: a.id, recurringMonth: 4 });
    expect(m4).toMatchObject({
      ruleId: months,
      ruleName: 'Two months',
      rateBps: null,
      commission: { amount: 0, currency: 'usd' },
      reason: `recurring_limit:${months}`,
    });
    expect(m4.explanation).toContain('months 1–2');
  });

  it('a lead earns the lead rule’s bounty (conversions API), and nothing without one', async () => {
    const p = await program();
    const a = await affiliate(p);
    const none = await preview(p, { kind: 'lead', currency: 'usd', affiliateId: a.id });
    expect(none).toMatchObject({ ruleId: null, commission: { amount: 0 }, reason: 'no_lead_rule' });

    const bounty = await rule(p, { name: 'Signup bounty', event: 'lead', type: 'flat', flatAmounts: { usd: 500 } });
    const asked = await preview(p, { kind: 'lead', currency: 'usd', affiliateId: a.id });
    const res = await p.admin.post('/api/v1/conversions', {
      type: 'lead',
      referral: await referral(p, a.code),
      customerEmail: `${freshId('lead')}@example.com`,
      externalId: freshId('lead'),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [earned] = await commissions(p, a.id);
    expect(asked).toMatchObject({ ruleId: bounty, commission: { amount: earned!.amount, currency: earned!.currency } });
    expect(earned!.amount).toBe(500);
  });
});

describe('input', () => {
  it('answers 400 naming the field, 422 for an unknown affiliate, and writes nothing', async () => {
    const p = await program();
    const bad: [unknown, string][] = [
      [{ currency: 'usd' }, 'amount'],
      [{ amount: 12.5, currency: 'usd' }, 'amount'],
      [{ amount: -1, currency: 'usd' }, 'amount'],
      [{ amount: 100, currency: 'dollars' }, 'currency'],
      [{ amount: 100 }, 'currency'],
      [{ amount: 100, currency: 'usd', kind: 'refund' }, 'kind'],
      [{ amount: 100, currency: 'usd', recurringMonth: 0 }, 'recurringMonth'],
      [{ amount: 100, currency: 'usd', affiliateId: 'not an id!' }, 'affiliateId'],
      [{ amount: 100, currency: 'usd', surprise: 1 }, 'body'],
      [[1, 2], 'body'],
    ];
    for (const [body, field] of bad) {
      const res = await p.admin.post('/api/v1/commission-rules/preview', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message.startsWith(field), `${JSON.stringify(body)} → ${res.body.error.message}`).toBe(
        true,
      );
    }
    const unknown = await p.admin.post('/api/v1/commission-rules/preview', {
      amount: 100,
      currency: 'usd',
      affiliateId: 'aff_nope',
    });
    expect(unknown).toMatchObject({ status: 422, body: { error: { code: 'unknown_affiliate' } } });

    // Another program's affiliate is unknown here too, and its rules do not apply.
    const other = await program();
    const theirs = await affiliate(other);
    await rule(other, { name: 'Theirs', type: 'percentage', rateBps: 9_000 });
    expect(
      (await p.admin.post('/api/v1/commission-rules/preview', { amount: 100, currency: 'usd', affiliateId: theirs.id }))
        .status,
    ).toBe(422);
    expect(await preview(p, { amount: 10_000, currency: 'usd' })).toMatchObject({
      ruleId: null,
      commission: { amount: 1_000 },
      reason: 'program_default',
    });
    expect((await p.admin.get('/api/v1/commissions')).body.data).toEqual([]);
  });
});

describe('CLI', { timeout: 90_000 }, () => {
  it('`rules preview` answers what the API answers, and refuses bad input with exit status 1', async () => {
    const p = await program();
    const a = await affiliate(p);
    await rule(p, { name: 'VIP', affiliateId: a.id, type: 'percentage', rateBps: 3_000, maxAmounts: { usd: 2_000 } });
    const args = ['rules', 'preview', '--program', p.row.id, '--currency', 'usd', '--amount', '10000'];
    const json = await runCli(app.databaseUrl, [...args, '--affiliate', a.id, '--json']);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await preview(p, { amount: 10_000, currency: 'usd', affiliateId: a.id }));
    expect(JSON.parse(json.stdout).commission).toEqual({ amount: 2_000, currency: 'usd' });
    const text = await runCli(app.databaseUrl, args);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('program default of 10%');
    const bad = await runCli(app.databaseUrl, ['rules', 'preview', '--program', p.row.id, '--currency', 'usd']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('amount: is required for a sale');
  });
});
