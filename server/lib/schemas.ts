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
