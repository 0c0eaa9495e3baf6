/**
 * Money-flow fixtures for commission and payout tests, all through the real routes: a program with a webhook
 * secret, approved affiliates, and referred sales (a click on the tracking endpoint, then the sale recorded through
 * `recordSale`, the function every Stripe handler calls; the webhook route itself is issue 4's to test).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { adminClient, type TestApp } from './app.ts';
import { recordSale } from '../../server/conversions/conversions.service.ts';
import type { SaleLineItem } from '../../server/commissions/rules.ts';
import { checkoutCompleted, deliver, freshId } from './stripe.ts';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
export const DAY_MS = 86_400_000;

/** A random documentation-range IP (needs the app started with `TRUST_PROXY: 'on'` to count). */
export const randomIp = () => `198.18.${randomBytes(1)[0]}.${(randomBytes(1)[0]! % 250) + 1}`;

export interface Shop {
  id: string;
  publicKey: string;
  apiKey: string;
  secret: string;
  website: string;
  admin: ReturnType<typeof adminClient>;
}

/** A new program (tenant) with its admin client. */
export async function createShop(app: TestApp, opts: { currency?: string } = {}): Promise<Shop> {
  const slug = randomBytes(4).toString('hex');
  const secret = `whsec_test_${slug}`;
  const website = `https://shop-${slug}.test`;
  const created = await app.services.programs.create({
    name: `Shop ${slug}`,
    website,
    currency: opts.currency,
    stripeWebhookSecret: secret,
  });
  return { ...created, secret, website, admin: adminClient(app, created.apiKey) };
}

/** An approved affiliate created through the admin API; `setPasswordUrl` is the one-time link. */
export async function approvedAffiliate(shop: Shop, email = `${randomBytes(4).toString('hex')}@partners.test`) {
  const created = await shop.admin.post('/api/v1/affiliates', { email, name: 'Pat Partner' });
  expect(created.status).toBe(201);
  const approved = await shop.admin.post(`/api/v1/affiliates/${created.body.affiliate.id}/approve`);
  expect(approved.status).toBe(200);
  return {
    id: approved.body.affiliate.id as string,
    code: approved.body.affiliate.code as string,
    email,
    setPasswordUrl: approved.body.setPasswordUrl as string,
  };
}

/** A visitor's click on the affiliate's link; returns the referral id. */
export async function click(
  app: TestApp,
  shop: Shop,
  code: string,
  opts: { ip?: string; referral?: string } = {},
): Promise<string> {
  const res = await app.request('/api/v1/track/click', {
    method: 'POST',
    // A distinct browser per click: visitors sharing an IP are still different visitors.
    headers: {
      'content-type': 'text/plain',
      origin: shop.website,
      'user-agent': `${UA} v${randomBytes(3).toString('hex')}`,
      'x-forwarded-for': opts.ip ?? randomIp(),
    },
    body: JSON.stringify({ key: shop.publicKey, code, referral: opts.referral }),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.referral as string;
}

/** A signed, paid Checkout Session for `referral` delivered to the webhook route (processed asynchronously). */
export async function checkout(
  app: TestApp,
  shop: Shop,
  referral: string,
  opts: { amount: number; currency?: string; created?: number },
) {
  const event = checkoutCompleted({
    referral,
    amountTotal: opts.amount,
    currency: opts.currency ?? 'usd',
    created: opts.created,
  });
  const res = await deliver(app.url, shop.id, event, shop.secret);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { event };
}

/**
 * A paid sale for `referral`, recorded the way every Stripe handler records one (`recordSale`, the seam into the
 * rules engine), in its own transaction. Subscription payments pass `subscription` and `sequence`.
 */
export async function recordPaidSale(
  app: TestApp,
  shop: Shop,
  referral: string,
  opts: {
    amount: number;
    currency?: string;
    email?: string;
    occurredAt?: Date;
    subscription?: string;
    sequence?: number;
    lineItems?: SaleLineItem[];
  },
) {
  const program = (await app.services.programs.findById(shop.id))!;
  const owner = await app.db
    .selectFrom('referrals')
    .select(['id', 'affiliate_id'])
    .where('id', '=', referral)
    .executeTakeFirstOrThrow();
  const result = await app.db.transaction().execute((trx) =>
    recordSale(trx, program, owner, {
      amount: opts.amount,
      currency: opts.currency ?? 'usd',
      occurredAt: opts.occurredAt ?? new Date(),
      source: 'stripe',
      stripePaymentIntentId: freshId('pi'),
      stripeInvoiceId: opts.subscription ? freshId('in') : null,
      stripeSubscriptionId: opts.subscription ?? null,
      sequence: opts.sequence,
      stripeCustomerId: freshId('cus'),
      customerEmail: opts.email ?? null,
      lineItems: opts.lineItems,
    }),
  );
  expect(result.duplicate).toBe(false);
  return result.duplicate ? null : result.commission;
}

/** Click + paid sale: one referred sale; returns its commission row (or null when none was created). */
export async function referredSale(
  app: TestApp,
  shop: Shop,
  code: string,
  opts: { amount: number; currency?: string; email?: string; ip?: string },
) {
  const referral = await click(app, shop, code, { ip: opts.ip });
  const commission = await recordPaidSale(app, shop, referral, opts);
  return { referral, commission };
}

/** The payout method an affiliate saves in the partner dashboard (`PUT /api/v1/partner/payout-settings`). */
export async function savePayoutMethod(
  app: TestApp,
  affiliateId: string,
  method: 'paypal' | 'bank_transfer' | 'stripe_connect',
  details: Record<string, string>,
) {
  await app.db
    .updateTable('affiliates')
    .set({ payout_method: method, payout_details: JSON.stringify(details), payout_updated_at: new Date() })
    .where('id', '=', affiliateId)
    .execute();
}

/** `n` referred sales of `amount` each, approved at once (the merchant skips the hold period). */
export async function approvedSales(
  app: TestApp,
  shop: Shop,
  code: string,
  n: number,
  amount: number,
  currency = 'usd',
) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { commission } = await referredSale(app, shop, code, { amount, currency });
    expect(commission).toBeDefined();
    ids.push(commission!.id);
  }
  await app.services.commissions.approveDue({ programId: shop.id, skipHold: true });
  return ids;
}
