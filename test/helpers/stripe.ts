/**
 * Real Stripe payloads from `../shared/fixtures/stripe/`, with fresh ids and our overrides, signed exactly as
 * Stripe signs them (`Stripe.webhooks.generateTestHeaderString`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

/** `shared/fixtures/stripe` beside the checkout (CI and sessions put `shared/` next to the repository). */
function findFixtures(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'shared', 'fixtures', 'stripe');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('shared/fixtures/stripe not found beside the repository');
}
export const FIXTURES = findFixtures();

/** A fixture event envelope from stripe-sync-engine (API 2020-03-02 shapes), deep-copied. */
export function loadEvent(name: string): any {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'stripe-sync-engine', `${name}.json`), 'utf8'));
}

export const freshId = (prefix: string) => `${prefix}_test${randomBytes(8).toString('hex')}`;

/**
 * A `checkout.session.completed` event from the real fixture for `referral`, amount in minor units.
 */
export function checkoutCompleted(opts: { referral?: string | null; amountTotal?: number; tax?: number; currency?: string; metadataReferral?: string; created?: number }) {
  const event = loadEvent('checkout_session_completed');
  event.id = freshId('evt');
  event.created = opts.created ?? Math.floor(Date.now() / 1000);
  const s = event.data.object;
  s.id = freshId('cs');
  s.client_reference_id = opts.referral ?? null;
  s.payment_intent = freshId('pi');
  if (s.invoice) s.invoice = freshId('in');
  s.customer = freshId('cus');
  s.payment_status = 'paid';
  if (opts.amountTotal !== undefined) s.amount_total = opts.amountTotal;
  if (opts.currency) s.currency = opts.currency;
  s.total_details = { ...(s.total_details ?? {}), amount_tax: opts.tax ?? 0 };
  if (opts.metadataReferral) s.metadata = { ...(s.metadata ?? {}), partnerkit_referral: opts.metadataReferral };
  return event;
}

/** Sign `payload` as Stripe would for `secret`; `timestamp` in seconds defaults to now. */
export function sign(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/** POST a signed event to the program's webhook route. */
export async function deliver(baseUrl: string, programId: string, event: unknown, secret: string, opts: { signature?: string } = {}) {
  const payload = JSON.stringify(event);
  const res = await fetch(`${baseUrl}/api/v1/webhooks/stripe/${programId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': opts.signature ?? sign(payload, secret) },
    body: payload,
  });
  return { status: res.status, body: await res.json() };
}
