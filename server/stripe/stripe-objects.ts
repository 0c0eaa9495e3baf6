/**
 * zod schemas for the parts of Stripe objects we read. Events are signed by Stripe, but we still validate:
 * a payload of an unexpected shape (another API version, a hand-made test event) is recorded as ignored
 * with the reason, never a crash. Unknown fields pass through.
 * Source: https://docs.stripe.com/api/events/object, https://docs.stripe.com/api/checkout/sessions/object
 */
import { z } from 'zod';

/** An expandable reference: an id string, or the expanded object with an `id`. */
export const stripeRef = z
  .union([z.string(), z.looseObject({ id: z.string() })])
  .nullish()
  .transform((v) => (v == null ? null : typeof v === 'string' ? v : v.id));

export const stripeMetadata = z.record(z.string(), z.string()).nullish().transform((m) => m ?? {});

/** The event envelope. */
export const stripeEventEnvelope = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('event').optional(),
  type: z.string().min(1).max(255),
  created: z.number().int(),
  api_version: z.string().nullish(),
  livemode: z.boolean().optional().default(false),
  data: z.looseObject({ object: z.looseObject({}) }),
});
export type StripeEventEnvelope = z.infer<typeof stripeEventEnvelope>;

export const checkoutSession = z.looseObject({
  id: z.string(),
  object: z.literal('checkout.session'),
  mode: z.enum(['payment', 'subscription', 'setup']).nullish(),
  payment_status: z.enum(['paid', 'unpaid', 'no_payment_required']),
  client_reference_id: z.string().nullish(),
  metadata: stripeMetadata,
  amount_total: z.number().int().nonnegative().nullish(),
  amount_subtotal: z.number().int().nonnegative().nullish(),
  currency: z.string().regex(/^[A-Za-z]{3}$/).nullish(),
  total_details: z.looseObject({ amount_tax: z.number().int().nonnegative().nullish() }).nullish(),
  customer: stripeRef,
  customer_email: z.string().nullish(),
  customer_details: z.looseObject({ email: z.string().nullish() }).nullish(),
  payment_intent: stripeRef,
  invoice: stripeRef,
  subscription: stripeRef,
  created: z.number().int().optional(),
});
export type CheckoutSession = z.infer<typeof checkoutSession>;
