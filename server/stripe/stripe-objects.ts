/**
 * zod schemas for the parts of Stripe objects we read. Events are signed by Stripe, but we still validate:
 * a payload of an unexpected shape (another API version, a hand-made test event) is recorded as ignored
 * with the reason, never a crash. Unknown fields pass through.
 *
 * Both payload generations are accepted, because a merchant's endpoint may be pinned to either:
 * - before API 2025-03-31 ("basil"): `invoice.subscription`, `invoice.charge`, `invoice.payment_intent`,
 *   `invoice.discount`, `charge.invoice`;
 * - since: `invoice.parent.subscription_details.{subscription,metadata}`, payments as `invoice_payment` objects
 *   (`invoice.payments`, or `GET /v1/invoice_payments`), `invoice.discounts`, `invoice.total_taxes`.
 * Fields we only use when present (discounts, line items, payments) fall back to null when their shape is
 * unexpected (`.catch`): a strange extra never blocks a sale.
 * Sources: https://docs.stripe.com/api/events/object, https://docs.stripe.com/changelog/basil
 */
import { z } from 'zod';
import { currencyCode } from '../lib/schemas.ts';

/** An expandable reference: an id string, or the expanded object with an `id`. */
export const stripeRef = z
  .union([z.string(), z.looseObject({ id: z.string() })])
  .nullish()
  .transform((v) => (v == null ? null : typeof v === 'string' ? v : v.id));

export const stripeMetadata = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});

/** Metadata inside an object the payload carries: null or unreadable reads as none. */
const carriedMetadata = z
  .record(z.string(), z.string())
  .nullish()
  .catch(null)
  .transform((m) => m ?? {});

/** Minor units (Stripe's integer amounts; zero-decimal currencies are whole units). */
export const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** ISO 4217, stored lower-case as Stripe writes it (`lib/schemas.ts`). */
export { currencyCode };
/** Unix seconds, within a sane range (a garbage timestamp must not become an invalid Date). */
export const unixSeconds = z.number().int().min(0).max(32_503_680_000);

/** Text PostgreSQL can store in a `text` column (no NUL, no other control characters). */
const storableText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule this regex exists for is "no control characters"
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

/** The event envelope. `data.object` is validated by each handler for its own type. */
export const stripeEventEnvelope = z.looseObject({
  id: storableText(255),
  object: z.literal('event').optional(),
  type: storableText(255),
  created: unixSeconds,
  api_version: storableText(100).nullish(),
  livemode: z.boolean().optional().default(false),
  data: z.looseObject({ object: z.looseObject({}) }),
});
export type StripeEventEnvelope = z.infer<typeof stripeEventEnvelope>;

/** A discount as Checkout Sessions (`discounts[]`) and expanded invoice discounts carry it. */
const promotionCodeHolder = z.looseObject({ promotion_code: stripeRef.optional() });
const promotionCodeList = z
  .array(z.union([z.string(), promotionCodeHolder]))
  .nullish()
  .catch(null)
  .transform((list) =>
    (list ?? []).flatMap((d) => (typeof d === 'string' ? [] : d.promotion_code ? [d.promotion_code] : [])),
  );

export const checkoutSession = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('checkout.session'),
  mode: z.enum(['payment', 'subscription', 'setup']).nullish(),
  payment_status: z.enum(['paid', 'unpaid', 'no_payment_required']),
  client_reference_id: z.string().nullish(),
  metadata: stripeMetadata,
  amount_total: minorUnits.nullish(),
  amount_subtotal: minorUnits.nullish(),
  currency: currencyCode.nullish(),
  total_details: z.looseObject({ amount_tax: minorUnits.nullish() }).nullish(),
  customer: stripeRef,
  customer_email: z.string().max(512).nullish(),
  customer_details: z
    .looseObject({ email: z.string().max(512).nullish() })
    .nullish()
    .catch(null),
  payment_intent: stripeRef,
  invoice: stripeRef,
  subscription: stripeRef,
  discounts: promotionCodeList,
  line_items: z
    .looseObject({
      data: z.array(z.looseObject({ price: z.looseObject({ id: z.string(), product: stripeRef }).nullish() })),
    })
    .nullish()
    .catch(null),
  created: unixSeconds.optional(),
});
export type CheckoutSession = z.infer<typeof checkoutSession>;

const invoiceLine = z.looseObject({
  subscription: stripeRef.optional(),
  price: z.looseObject({ id: z.string(), product: stripeRef }).nullish().catch(null),
  pricing: z
    .looseObject({ price_details: z.looseObject({ price: stripeRef, product: stripeRef.optional() }).nullish() })
    .nullish()
    .catch(null),
  parent: z
    .looseObject({ subscription_item_details: z.looseObject({ subscription: stripeRef }).nullish() })
    .nullish()
    .catch(null),
});

const invoicePaymentRef = z.looseObject({
  payment: z
    .looseObject({ type: z.string().nullish(), payment_intent: stripeRef.optional(), charge: stripeRef.optional() })
    .nullish(),
  status: z.string().nullish(),
});

export const invoice = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('invoice'),
  customer: stripeRef,
  customer_email: z.string().max(512).nullish(),
  currency: currencyCode,
  amount_paid: minorUnits,
  total: z.number().int().nullish(),
  billing_reason: z.string().nullish(),
  metadata: stripeMetadata,
  created: unixSeconds.optional(),
  status_transitions: z.looseObject({ paid_at: unixSeconds.nullish() }).nullish().catch(null),
  // pre-2025
  tax: z.number().int().nullish().catch(null),
  subscription: stripeRef.optional(),
  subscription_details: z.looseObject({ metadata: carriedMetadata }).nullish().catch(null),
  charge: stripeRef.optional(),
  payment_intent: stripeRef.optional(),
  discount: promotionCodeHolder.nullish().catch(null),
  // 2025-03-31 and later
  total_taxes: z
    .array(z.looseObject({ amount: z.number().int() }))
    .nullish()
    .catch(null),
  total_tax_amounts: z
    .array(z.looseObject({ amount: z.number().int() }))
    .nullish()
    .catch(null),
  parent: z
    .looseObject({
      subscription_details: z.looseObject({ subscription: stripeRef, metadata: carriedMetadata }).nullish(),
    })
    .nullish()
    .catch(null),
  payments: z
    .looseObject({ data: z.array(invoicePaymentRef) })
    .nullish()
    .catch(null),
  discounts: promotionCodeList,
  lines: z
    .looseObject({ data: z.array(invoiceLine).catch([]) })
    .nullish()
    .catch(null),
});
export type Invoice = z.infer<typeof invoice>;

export const invoicePayment = z.looseObject({
  id: z.string(),
  object: z.literal('invoice_payment'),
  invoice: stripeRef,
  payment: z
    .looseObject({ type: z.string().nullish(), payment_intent: stripeRef.optional(), charge: stripeRef.optional() })
    .nullish(),
  status: z.string().nullish(),
});

export const charge = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('charge'),
  amount: minorUnits,
  amount_refunded: minorUnits,
  currency: currencyCode,
  customer: stripeRef,
  payment_intent: stripeRef,
  // pre-2025 only
  invoice: stripeRef.optional(),
});
export type Charge = z.infer<typeof charge>;

export const dispute = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('dispute'),
  amount: minorUnits,
  currency: currencyCode,
  charge: stripeRef,
  payment_intent: stripeRef.optional(),
  status: z.string().min(1).max(100),
});
export type Dispute = z.infer<typeof dispute>;

export const customer = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('customer'),
  email: z.string().max(512).nullish(),
  metadata: stripeMetadata,
});
export type Customer = z.infer<typeof customer>;

export const subscription = z.looseObject({
  id: z.string().min(1).max(255),
  object: z.literal('subscription'),
  customer: stripeRef,
  metadata: stripeMetadata,
  status: z.string().nullish(),
  ended_at: unixSeconds.nullish(),
  canceled_at: unixSeconds.nullish(),
  discount: promotionCodeHolder.nullish().catch(null),
  discounts: promotionCodeList,
});
export type Subscription = z.infer<typeof subscription>;

/** The subscription an invoice belongs to, in either payload generation. */
export function invoiceSubscriptionId(inv: Invoice): string | null {
  return (
    inv.parent?.subscription_details?.subscription ??
    inv.subscription ??
    inv.lines?.data
      .map((l) => l.parent?.subscription_item_details?.subscription ?? l.subscription ?? null)
      .find((s) => s) ??
    null
  );
}

/**
 * The subscription's metadata as the invoice carries it (`parent.subscription_details` since 2025-03-31,
 * `subscription_details` since 2022-11); undefined when the payload has no such object (older versions: fetch it).
 */
export function invoiceSubscriptionMetadata(inv: Invoice): Record<string, string> | undefined {
  return inv.parent?.subscription_details?.metadata ?? inv.subscription_details?.metadata;
}

/** The payment intent and charge that paid an invoice, when the payload says (pre-2025 fields or `payments`). */
export function invoicePaymentIds(inv: Invoice): { paymentIntent: string | null; charge: string | null } {
  const paid = inv.payments?.data.find((p) => p.status === 'paid') ?? inv.payments?.data[0];
  return {
    paymentIntent: inv.payment_intent ?? paid?.payment?.payment_intent ?? null,
    charge: inv.charge ?? paid?.payment?.charge ?? null,
  };
}

/** Tax included in an invoice total: `total_taxes` (2025+), else `tax`, else `total_tax_amounts` (older). */
export function invoiceTax(inv: Invoice): number {
  if (inv.total_taxes) return inv.total_taxes.reduce((s, t) => s + Math.max(0, t.amount), 0);
  if (typeof inv.tax === 'number') return Math.max(0, inv.tax);
  if (inv.total_tax_amounts) return inv.total_tax_amounts.reduce((s, t) => s + Math.max(0, t.amount), 0);
  return 0;
}

/** Products and prices of an invoice's lines, for product / price commission rules. */
export function invoiceLineItems(inv: Invoice): { stripeProductId: string | null; stripePriceId: string | null }[] {
  return (inv.lines?.data ?? []).flatMap((l) => {
    const priceId = l.price?.id ?? l.pricing?.price_details?.price ?? null;
    const productId = l.price?.product ?? l.pricing?.price_details?.product ?? null;
    return priceId || productId ? [{ stripeProductId: productId, stripePriceId: priceId }] : [];
  });
}
