/**
 * Small zod pieces and database-error checks that several concepts share, written once.
 */
import { z } from 'zod';

/** ISO 4217 currency code as Stripe writes it: 3 letters, any case in, lower case out (`USD` → `usd`). */
export const CURRENCY_PATTERN = /^[A-Za-z]{3}$/;
export const CURRENCY_MESSAGE = 'must be a 3-letter ISO 4217 code';
export const currencyCode = z
  .string()
  .regex(CURRENCY_PATTERN, CURRENCY_MESSAGE)
  .transform((c) => c.toLowerCase());

/**
 * True when `err` is PostgreSQL's unique violation (SQLSTATE 23505), on `constraint` when one is named
 * (the constraint or unique index name node-postgres reports in `err.constraint`).
 */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null | undefined;
  return e?.code === '23505' && (!constraint || e.constraint === constraint);
}

/** zod: a Stripe webhook endpoint's signing secret as Stripe shows it (`whsec_` and a base64-ish secret). */
export const webhookSigningSecret = z
  .string()
  .max(200)
  .regex(/^whsec_[A-Za-z0-9+/=_-]+$/, 'must be the endpoint’s signing secret, whsec_…');

// ---------------------------------------------------------------------------------------------------------
// Pieces of the public (response) shapes, `<concept>/<concept>.schemas.ts`: what the API answers, documented in the
// OpenAPI document and checked against real answers by test/integration/openapi-responses.test.ts.

/** An instant as the API writes it: ISO 8601 in UTC (`Date#toISOString`). */
export const isoInstant = z.iso.datetime();
/** An amount in integer minor units of its currency (may be negative: clawbacks). */
export const minorAmount = z.int();
/** A lower-case ISO 4217 code, as the API writes currencies. */
export const currencyOut = z.string().regex(/^[a-z]{3}$/);
/** Amounts per currency (`{ "usd": 500 }`). */
export const perCurrency = z.record(z.string().regex(/^[a-z]{3}$/), z.int());

/** Whether two types are the same (both ways assignable, and no `any`). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/**
 * Compile-time check that a response schema describes exactly the service's public type: `sameShape<z.output<typeof
 * affiliateShape>, Affiliate>(true)` fails `tsc` when a field is added to one and not the other. No work at run time.
 */
export function sameShape<A, B>(_check: Same<A, B>): void {}

/**
 * A program's branding as the API answers it (admin settings, the partner dashboard's `me` and public program
 * info): `logoUrl` an `https:` URL or null, `accentColor` `#rrggbb` (lower case) or null, and `accentTextColor` the
 * text colour to draw on the accent (black or white, whichever contrasts more by WCAG), null without an accent.
 */
export const brandingShape = z.strictObject({
  logoUrl: z.url().nullable(),
  accentColor: z
    .string()
    .regex(/^#[0-9a-f]{6}$/)
    .nullable(),
  accentTextColor: z.enum(['#000000', '#ffffff']).nullable(),
});
