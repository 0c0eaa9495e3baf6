/**
 * Shared set-up of the Stripe integration tests: a real app (optionally pointed at the loopback Stripe API fake),
 * a program with a webhook secret, approved affiliates with a clicked referral, and readers of what a user
 * would see (inbox rows, conversions through the admin API, commissions with their history).
 */
import { expect } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { deliver } from '../helpers/stripe.ts';
import type { ProgramRow } from '../../server/db/schema.ts';

export interface StripeTestContext {
  app: TestApp;
  secret: string;
  program: ProgramRow;
  apiKey: string;
  admin: ReturnType<typeof adminClient>;
  /** A new approved affiliate and a referral id from a click of theirs. */
  referral(): Promise<{ affiliateId: string; code: string; referral: string }>;
  /** Deliver one signed event, expect the fast 200, wait until this process has processed it; the inbox row. */
  send(event: any): Promise<{ response: { status: number; body: any }; row: any }>;
  inbox(eventId: string): Promise<any>;
  conversions(affiliateId: string): Promise<any[]>;
  /** The affiliate's commissions, oldest first, straight from the table (kind, reversed amount, hold reason). */
  commissions(affiliateId: string): Promise<any[]>;
}

/** How a batch of events reaches the route: waiting for each, back to back, or all at once. */
export type DeliveryMode = 'one_by_one' | 'burst' | 'concurrent';

/** Deliver every event signed to the route (checking each acknowledgement), then let processing finish. */
export async function deliverAll(ctx: StripeTestContext, events: any[], mode: DeliveryMode): Promise<void> {
  const one = async (event: any) => {
    const res = await deliver(ctx.app.url, ctx.program.id, event, ctx.secret);
    expect(res.status).toBe(200);
    if (mode === 'one_by_one') await ctx.app.services.stripeWebhooks.idle();
  };
  if (mode === 'concurrent') await Promise.all(events.map(one));
  else for (const e of events) await one(e);
  await ctx.app.services.stripeWebhooks.idle();
}

export async function stripeTestContext(opts: {
  secret: string;
  stripeEndpoint?: { host: string; port: number; protocol: 'http' };
  env?: Record<string, string>;
}): Promise<StripeTestContext> {
  const app = await startTestApp(opts.env ?? {}, opts.stripeEndpoint ? { stripeEndpoint: opts.stripeEndpoint } : {});
  const created = await app.services.programs.create({
    name: 'Acme',
    website: 'https://acme.test',
    stripeWebhookSecret: opts.secret,
  });
  const program = (await app.services.programs.findById(created.id))!;
  const admin = adminClient(app, created.apiKey);
  let n = 0;
  const ctx: StripeTestContext = {
    app,
    secret: opts.secret,
    program,
    apiKey: created.apiKey,
    admin,
    async referral() {
      n++;
      const affiliate = await app.services.affiliates.create(program, {
        email: `aff${n}-${Date.now()}@partners.test`,
        name: `Affiliate ${n}`,
        status: 'approved',
      });
      const click = (await app.services.tracking.recordClick(
        { key: program.public_key, code: affiliate.code },
        { ip: null, userAgent: null, origin: null },
      )) as { referral: string };
      return { affiliateId: affiliate.id, code: affiliate.code, referral: click.referral };
    },
    async send(event) {
      const response = await deliver(app.url, program.id, event, opts.secret);
      expect(response.status).toBe(200);
      await app.services.stripeWebhooks.idle();
      return { response, row: await ctx.inbox(event.id) };
    },
    inbox: (eventId) =>
      app.db
        .selectFrom('stripe_events')
        .selectAll()
        .where('program_id', '=', program.id)
        .where('id', '=', eventId)
        .executeTakeFirstOrThrow(),
    async conversions(affiliateId) {
      const res = await admin.get(`/api/v1/conversions?affiliateId=${affiliateId}`);
      expect(res.status).toBe(200);
      return [...res.body.data].reverse();
    },
    commissions: (affiliateId) =>
      app.db
        .selectFrom('commissions')
        .selectAll()
        .where('affiliate_id', '=', affiliateId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
  };
  return ctx;
}

/** The history of one commission, oldest first: `[from, to, amount, actor, reason]`. */
export async function history(ctx: StripeTestContext, commissionId: string) {
  const rows = await ctx.app.db
    .selectFrom('commission_events')
    .selectAll()
    .where('commission_id', '=', commissionId)
    .orderBy('id')
    .execute();
  return rows.map((r) => [r.from_status, r.to_status, r.amount, r.actor, r.reason] as const);
}

/** Count rows of a table (for "nothing was written" assertions). */
export async function countRows(
  ctx: StripeTestContext,
  table: 'conversions' | 'commissions' | 'commission_events' | 'referrals' | 'stripe_events',
) {
  const row = await ctx.app.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
