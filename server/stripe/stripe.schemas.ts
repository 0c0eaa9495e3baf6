/** The public shapes of the Stripe events inbox and promotion codes (what the admin API answers), for OpenAPI. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { StripeEvent, StripeEventReplay } from './stripe-events.service.ts';
import type { PromotionCode, StripeKeyStatus } from './stripe-settings.service.ts';
import type { StripeKeyTest } from './stripe-api.ts';

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

const eventWithoutPayload = stripeEventShape.omit({ payload: true });
export const stripeEventReplayShape = z.strictObject({
  before: stripeEventShape.shape.status,
  event: eventWithoutPayload,
});
sameShape<z.output<typeof stripeEventReplayShape>, StripeEventReplay>(true);

export const stripeKeyStatusShape = z.strictObject({
  set: z.boolean(),
  mode: z.enum(['test', 'live']).nullable(),
  permissions: z.array(z.strictObject({ permission: z.string(), use: z.string(), checked: z.boolean() })),
});
sameShape<z.output<typeof stripeKeyStatusShape>, StripeKeyStatus>(true);

export const stripeKeyTestShape = z.strictObject({
  ok: z.boolean(),
  mode: z.enum(['test', 'live']),
  message: z.string(),
  checks: z.array(
    z.strictObject({
      permission: z.string(),
      use: z.string(),
      ok: z.boolean().nullable(),
      error: z.string().nullable(),
    }),
  ),
});
sameShape<z.output<typeof stripeKeyTestShape>, StripeKeyTest>(true);

export const stripeResponses = {
  events: z.strictObject({ data: z.array(stripeEventShape.omit({ payload: true })) }),
  event: z.strictObject({ event: stripeEventShape.required({ payload: true }) }),
  promotionCodes: z.strictObject({ data: z.array(promotionCodeShape) }),
  promotionCode: z.strictObject({ promotionCode: promotionCodeShape }),
  replay: stripeEventReplayShape,
  keyStatus: z.strictObject({ stripeKey: stripeKeyStatusShape }),
  keyTest: z.strictObject({ test: stripeKeyTestShape }),
};
