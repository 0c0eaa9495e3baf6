/** The public shapes of webhook endpoints and deliveries (what the admin API answers), for the OpenAPI document. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import { affiliateShape } from '../affiliates/affiliates.schemas.ts';
import { commissionShape } from '../commissions/commissions.schemas.ts';
import { conversionShape } from '../conversions/conversions.schemas.ts';
import { payoutShape } from '../payouts/payouts.schemas.ts';
import type { ReversedCommission, WebhookEventType, WebhookReferral } from './events.ts';
import type { CreatedWebhookEndpoint, WebhookDelivery, WebhookEndpoint } from './webhook-endpoints.service.ts';

export const webhookEndpointShape = z.strictObject({
  id: z.string(),
  url: z.url(),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  secretHint: z.string(),
  previousSecretExpiresAt: isoInstant.nullable(),
  failingSince: isoInstant.nullable(),
  disabledAt: isoInstant.nullable(),
  disabledReason: z.string().nullable(),
  createdAt: isoInstant,
  updatedAt: isoInstant,
});
sameShape<z.output<typeof webhookEndpointShape>, WebhookEndpoint>(true);
const createdEndpointShape = webhookEndpointShape.extend({ secret: z.string().startsWith('whsec_') });
sameShape<z.output<typeof createdEndpointShape>, CreatedWebhookEndpoint>(true);

export const webhookDeliveryShape = z.strictObject({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.int(),
  nextAttemptAt: isoInstant.nullable(),
  lastAttemptAt: isoInstant.nullable(),
  deliveredAt: isoInstant.nullable(),
  createdAt: isoInstant,
  log: z.array(
    z.strictObject({
      at: isoInstant,
      statusCode: z.int().nullable(),
      latencyMs: z.int(),
      responseExcerpt: z.string().nullable(),
      error: z.string().nullable(),
      manual: z.boolean(),
    }),
  ),
});
sameShape<z.output<typeof webhookDeliveryShape>, WebhookDelivery>(true);

export const webhookEndpointResponses = {
  list: z.strictObject({ data: z.array(webhookEndpointShape) }),
  one: z.strictObject({ webhookEndpoint: webhookEndpointShape }),
  withSecret: z.strictObject({ webhookEndpoint: createdEndpointShape }),
  deliveries: z.strictObject({ data: z.array(webhookDeliveryShape) }),
  delivery: z.strictObject({ delivery: webhookDeliveryShape }),
};

export const webhookReferralShape = z.strictObject({
  id: z.string(),
  affiliateId: z.string(),
  linkId: z.string().nullable(),
  status: z.enum(['visitor', 'lead', 'customer']),
  email: z.string().nullable(),
  stripeCustomerId: z.string().nullable(),
  createdAt: isoInstant,
  expiresAt: isoInstant,
});
sameShape<z.output<typeof webhookReferralShape>, WebhookReferral>(true);
export const reversedCommissionShape = commissionShape.extend({ reversedAmount: z.int() });
sameShape<z.output<typeof reversedCommissionShape>, ReversedCommission>(true);

/** The `data` shape of each event type (the admin API's shapes). */
export const EVENT_DATA_SHAPES: Record<WebhookEventType, z.ZodType> = {
  'affiliate.applied': affiliateShape,
  'affiliate.approved': affiliateShape,
  'affiliate.suspended': affiliateShape,
  'referral.created': webhookReferralShape,
  'lead.created': webhookReferralShape,
  'conversion.created': conversionShape,
  'commission.created': commissionShape,
  'commission.approved': commissionShape,
  'commission.reversed': reversedCommissionShape,
  'payout.created': payoutShape,
  'payout.completed': payoutShape,
  'payout.failed': payoutShape,
};

/** The whole body of an event of `type`: `{ type, timestamp, data }`. */
export const webhookPayloadShape = (type: WebhookEventType) =>
  z.strictObject({ type: z.literal(type), timestamp: isoInstant, data: EVENT_DATA_SHAPES[type] });
