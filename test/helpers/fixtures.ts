/**
 * The words tests share for what happens in an affiliate program, each done the way a real client does it (admin
 * API, the snippet's click request, a signed Stripe event): a shop (a program and its admin client), an approved
 * affiliate, a click from a new visitor, a referred Checkout sale. A test file that needs a variant (another
 * origin, a bot, a repeat visitor) passes headers or options rather than writing its own copy.
 */
import { expect, vi } from 'vitest';
import type { CreatedProgram } from '../../server/programs/programs.service.ts';
import { adminClient, type TestApp } from './app.ts';
import { checkoutCompleted, deliver } from './stripe.ts';

/** A browser's user agent (not a bot): clicks carrying it are recorded. */
export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

export interface Shop {
  app: TestApp;
  program: CreatedProgram;
  admin: ReturnType<typeof adminClient>;
  /** The program's website origin (clicks come from it). */
  website: string;
  /** Its Stripe webhook signing secret. */
  secret: string;
}

let shops = 0;
/** A program with a Stripe webhook secret, and its admin client. */
export async function openShop(
  app: TestApp,
  opts: { website?: string; secret?: string; name?: string } = {},
): Promise<Shop> {
  shops++;
  const website = opts.website ?? 'https://acme.test';
  const secret = opts.secret ?? `whsec_fixture_shop_${shops}_${Date.now()}`;
  const program = await app.services.programs.create({
    name: opts.name ?? 'Acme',
    website,
    stripeWebhookSecret: secret,
  });
  return { app, program, admin: adminClient(app, program.apiKey), website, secret };
}

let affiliates = 0;
/**
 * A new approved affiliate created through the admin API, with its set-password link: created `approved` at once,
 * or with `approve: true` created `pending` (as an application is) and then approved, as a merchant does.
 */
export async function approvedAffiliate(
  shop: Pick<Shop, 'admin'>,
  opts: { email?: string; name?: string; code?: string; approve?: boolean } = {},
): Promise<{ id: string; code: string; email: string; setPasswordUrl: string }> {
  affiliates++;
  const email = opts.email ?? `affiliate${affiliates}-${Date.now()}@partners.test`;
  const res = await shop.admin.post('/api/v1/affiliates', {
    email,
    name: opts.name ?? email.split('@')[0],
    ...(opts.approve ? {} : { status: 'approved' }),
    ...(opts.code ? { code: opts.code } : {}),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  if (!opts.approve) return { ...res.body.affiliate, setPasswordUrl: res.body.setPasswordUrl };
  const approved = await shop.admin.post(`/api/v1/affiliates/${res.body.affiliate.id}/approve`);
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  return { ...approved.body.affiliate, setPasswordUrl: approved.body.setPasswordUrl };
}

let visitors = 0;
/**
 * Headers of a visitor never seen before: its own browser and address (from the IPv6 documentation range, so there
 * are enough; the app must trust `X-Forwarded-For`, `TRUST_PROXY=on`, for the address to count).
 */
export function newVisitor(): Record<string, string> {
  visitors++;
  return {
    'user-agent': `${BROWSER_UA} visitor-${visitors}`,
    'x-forwarded-for': `2001:db8:f1::${visitors.toString(16)}`,
  };
}

/**
 * The snippet's click request for `code` on the shop's site, from a new visitor unless `headers` say otherwise.
 * @returns the answer's status and body (`{ referral }`; `referral: null` for an unknown or unapproved code)
 */
export async function sendClick(
  shop: Pick<Shop, 'app' | 'program' | 'website'>,
  code: string,
  opts: { headers?: Record<string, string>; body?: Record<string, unknown> } = {},
): Promise<{ status: number; body: { referral: string | null } & Record<string, unknown> }> {
  const res = await shop.app.request('/api/v1/track/click', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: shop.website, ...newVisitor(), ...opts.headers },
    body: JSON.stringify({
      key: shop.program.publicKey,
      code,
      url: `${shop.website}/?ref=${encodeURIComponent(code)}`,
      ...opts.body,
    }),
  });
  return { status: res.status, body: await res.json() };
}

/** `sendClick` that must make a referral: its id. */
export async function clickReferral(shop: Pick<Shop, 'app' | 'program' | 'website'>, code: string): Promise<string> {
  const res = await sendClick(shop, code);
  expect(res.status).toBe(200);
  expect(res.body.referral).toEqual(expect.any(String));
  return res.body.referral!;
}

/**
 * A signed `checkout.session.completed` for `referral` (`amountTotal` in minor units) delivered to the shop's
 * webhook route; resolves once its conversion is stored. `edit` changes the event before it is signed.
 */
export async function checkoutSale(
  shop: Pick<Shop, 'app' | 'program' | 'secret'>,
  referral: string,
  amountTotal: number,
  opts: { currency?: string; created?: number; edit?: (event: any) => void } = {},
): Promise<void> {
  const event = checkoutCompleted({ referral, amountTotal, currency: opts.currency ?? 'usd', created: opts.created });
  // A variant of the real payload (test mode, the customer's e-mail...), changed before it is signed.
  opts.edit?.(event);
  const res = await deliver(shop.app.url, shop.program.id, event, shop.secret);
  expect(res.status).toBe(200);
  // vi.waitFor, not expect.poll: set-up hooks (beforeAll) make sales too.
  await vi.waitFor(
    async () =>
      expect(
        await shop.app.db.selectFrom('conversions').select('id').where('referral_id', '=', referral).execute(),
      ).toHaveLength(1),
    { timeout: 10_000 },
  );
}

/** The password `loggedInPartner` sets. */
export const PARTNER_PASSWORD = 'correct horse battery staple';

/**
 * An affiliate who opened their set-password link (`setPasswordUrl`, as the admin API or an invite returns it),
 * chose `PARTNER_PASSWORD` and is logged in: the session cookie and CSRF token as request headers.
 */
export async function loggedInPartner(
  app: TestApp,
  setPasswordUrl: string,
): Promise<{ headers: { cookie: string; 'x-csrf-token': string }; password: string }> {
  const token = new URL(setPasswordUrl).hash.replace(/^#set-password=/, '');
  const res = await app.request('/api/v1/partner/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: PARTNER_PASSWORD }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { headers: { cookie, 'x-csrf-token': JSON.parse(text).csrfToken }, password: PARTNER_PASSWORD };
}
