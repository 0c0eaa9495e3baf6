/** The public shapes of conversions (what the admin API answers), for the OpenAPI document and its tests. */
import { z } from 'zod';
import { currencyOut, isoInstant, minorAmount, sameShape } from '../lib/schemas.ts';
import type { Conversion, ConversionCommission } from './conversions.service.ts';

export const conversionShape = z.strictObject({
  id: z.string(),
  affiliateId: z.string(),
  referralId: z.string().nullable(),
  kind: z.enum(['sale', 'lead']),
  amount: minorAmount,
  currency: currencyOut,
  source: z.enum(['stripe', 'api']),
  sequence: z.int().min(1),
  attributedBy: z.string().nullable(),
  refundedAmount: minorAmount,
  disputeStatus: z.enum(['open', 'won', 'lost']).nullable(),
  stripeCheckoutSessionId: z.string().nullable(),
  stripePaymentIntentId: z.string().nullable(),
  stripeChargeId: z.string().nullable(),
  stripeInvoiceId: z.string().nullable(),
  stripeSubscriptionId: z.string().nullable(),
  stripeCustomerId: z.string().nullable(),
  externalId: z.string().nullable(),
  subscriptionEndedAt: isoInstant.nullable(),
  occurredAt: isoInstant,
});
sameShape<z.output<typeof conversionShape>, Conversion>(true);

export const conversionCommissionShape = z.strictObject({
  id: z.string(),
  kind: z.string(),
  amount: minorAmount,
  currency: currencyOut,
  status: z.string(),
});
sameShape<z.output<typeof conversionCommissionShape>, ConversionCommission>(true);

export const conversionResponses = {
  list: z.strictObject({ data: z.array(conversionShape) }),
  created: z.strictObject({
    conversion: conversionShape,
    commission: conversionCommissionShape.nullable(),
    duplicate: z.boolean(),
  }),
};
