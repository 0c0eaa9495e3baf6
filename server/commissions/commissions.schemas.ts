/** The public shapes of commissions and commission rules (what the admin API answers), for the OpenAPI document. */
import { z } from 'zod';
import { currencyOut, isoInstant, minorAmount, perCurrency, sameShape } from '../lib/schemas.ts';
import { conversionShape } from '../conversions/conversions.schemas.ts';
import type { BulkDecisionResult, Commission, CommissionEvent } from './commissions.service.ts';
import type { CommissionDetail, StripeObjectLink } from './commission-detail.ts';
import type { CommissionPreview, CommissionRule } from './commission-rules.service.ts';

export const commissionStatus = z.enum(['pending', 'on_hold', 'approved', 'paid', 'rejected', 'reversed']);
export const commissionKind = z.enum(['sale', 'recurring', 'lead', 'clawback']);

export const commissionShape = z.strictObject({
  id: z.string(),
  affiliateId: z.string(),
  conversionId: z.string().nullable(),
  kind: commissionKind,
  amount: minorAmount,
  currency: currencyOut,
  rateBps: z.int().nullable(),
  ruleId: z.string().nullable(),
  ruleReason: z.string().nullable(),
  paymentMonth: z.int().nullable(),
  status: commissionStatus,
  holdReason: z.string().nullable(),
  payableAt: isoInstant,
  approvedAt: isoInstant.nullable(),
  paidAt: isoInstant.nullable(),
  payoutId: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: isoInstant,
});
sameShape<z.output<typeof commissionShape>, Commission>(true);

export const commissionEventShape = z.strictObject({
  from: commissionStatus.nullable(),
  to: commissionStatus,
  amount: minorAmount,
  actor: z.enum(['system', 'merchant', 'affiliate', 'stripe']),
  reason: z.string().nullable(),
  at: isoInstant,
});
sameShape<z.output<typeof commissionEventShape>, CommissionEvent>(true);

export const commissionRuleShape = z.strictObject({
  id: z.string(),
  name: z.string(),
  priority: z.int(),
  event: z.enum(['sale', 'lead']),
  affiliateId: z.string().nullable(),
  stripeProductId: z.string().nullable(),
  stripePriceId: z.string().nullable(),
  type: z.enum(['percentage', 'flat']),
  rateBps: z.int().nullable(),
  flatAmounts: perCurrency.nullable(),
  minAmounts: perCurrency,
  maxAmounts: perCurrency,
  recurring: z.enum(['first_payment', 'months', 'lifetime']),
  recurringMonths: z.int().nullable(),
  rateAfterBps: z.int().nullable(),
  createdAt: isoInstant,
  updatedAt: isoInstant,
  archivedAt: isoInstant.nullable(),
});
sameShape<z.output<typeof commissionRuleShape>, CommissionRule>(true);

export const stripeObjectLinkShape = z.strictObject({
  kind: z.enum([
    'payment_intent',
    'charge',
    'invoice',
    'checkout_session',
    'customer',
    'subscription',
    'dispute',
    'event',
  ]),
  id: z.string(),
  dashboardUrl: z.url().nullable(),
});
sameShape<z.output<typeof stripeObjectLinkShape>, StripeObjectLink>(true);

export const commissionDetailShape = commissionShape.extend({
  events: z.array(commissionEventShape),
  rule: commissionRuleShape.nullable(),
  conversion: conversionShape.nullable(),
  stripe: z.strictObject({ livemode: z.boolean().nullable(), objects: z.array(stripeObjectLinkShape) }),
});
sameShape<z.output<typeof commissionDetailShape>, CommissionDetail>(true);

export const bulkDecisionResultShape = z.strictObject({
  id: z.string(),
  outcome: z.enum(['changed', 'unchanged', 'error']),
  commission: commissionShape.nullable(),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
});
sameShape<z.output<typeof bulkDecisionResultShape>, BulkDecisionResult>(true);

export const commissionResponses = {
  list: z.strictObject({ data: z.array(commissionShape) }),
  one: z.strictObject({ commission: commissionShape }),
  detail: z.strictObject({ commission: commissionDetailShape }),
  bulk: z.strictObject({ results: z.array(bulkDecisionResultShape) }),
};
/** `POST /api/v1/commission-rules/preview`: what a conversion would earn, and by which rule. */
export const commissionPreviewShape = z.strictObject({
  ruleId: z.string().nullable(),
  ruleName: z.string().nullable(),
  rateBps: z.int().nullable(),
  commission: z.strictObject({ amount: minorAmount, currency: currencyOut }),
  reason: z.string(),
  explanation: z.string(),
});
sameShape<z.output<typeof commissionPreviewShape>, CommissionPreview>(true);

export const ruleResponses = {
  list: z.strictObject({ data: z.array(commissionRuleShape) }),
  one: z.strictObject({ rule: commissionRuleShape }),
  preview: commissionPreviewShape,
};
