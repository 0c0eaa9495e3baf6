/** The public shapes of the Stripe events inbox and promotion codes (what the admin API answers), for OpenAPI. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { StripeEvent } from './stripe-events.service.ts';
import type { PromotionCode } from './stripe-settings.service.ts';

export const stripeEventShape = z.strictObject({
  id: z.string(),
  type: z.string(),
  status: z.enum(['received', 'processed', 'ignored', 'retrying', 'failed']),
  error: z.string().nullable(),
  attempts: z.int(),
  receivedAt: isoInstant,
  processedAt: isoInstant.nullable(),
  nextAttemptAt: isoInstant.nullable(),
  /** The stored event as Stripe sent it (one event only). */
  payload: z.unknown().optional(),
});
sameShape<z.output<typeof stripeEventShape>, StripeEvent>(true);

export const promotionCodeShape = z.strictObject({
  id: z.string(),
  affiliateId: z.string(),
  stripePromotionCodeId: z.string(),
  code: z.string().nullable(),
  createdAt: isoInstant,
});
sameShape<z.output<typeof promotionCodeShape>, PromotionCode>(true);

export const stripeResponses = {
  events: z.strictObject({ data: z.array(stripeEventShape.omit({ payload: true })) }),
  event: z.strictObject({ event: stripeEventShape.required({ payload: true }) }),
  promotionCodes: z.strictObject({ data: z.array(promotionCodeShape) }),
  promotionCode: z.strictObject({ promotionCode: promotionCodeShape }),
};
