/** The public shapes of payouts and balances (what the admin API answers), for the OpenAPI document and its tests. */
import { z } from 'zod';
import { currencyOut, isoInstant, minorAmount, sameShape } from '../lib/schemas.ts';
import type { Balance, Payout } from './payouts.service.ts';
import type { PayAllResult } from './pay-all.ts';
import { commissionKind, commissionStatus } from '../commissions/commissions.schemas.ts';

export const payoutShape = z.strictObject({
  id: z.string(),
  affiliateId: z.string(),
  amount: minorAmount,
  currency: currencyOut,
  status: z.enum(['pending', 'processing', 'completed', 'failed']),
  method: z.enum(['paypal', 'bank_transfer', 'store_credit', 'check', 'stripe_connect']),
  methodDetails: z.record(z.string(), z.string()).nullable(),
  reference: z.string().nullable(),
  failureReason: z.string().nullable(),
  batchId: z.string().nullable(),
  requestedBy: z.enum(['system', 'merchant', 'affiliate']),
  stripeTransferId: z.string().nullable(),
  createdAt: isoInstant,
  processingAt: isoInstant.nullable(),
  completedAt: isoInstant.nullable(),
  failedAt: isoInstant.nullable(),
});
sameShape<z.output<typeof payoutShape>, Payout>(true);

export const balanceShape = z.strictObject({
  affiliateId: z.string(),
  currency: currencyOut,
  pending: minorAmount,
  onHold: minorAmount,
  approved: minorAmount,
  clawbacks: minorAmount,
  inPayouts: minorAmount,
  paid: minorAmount,
  balance: minorAmount,
});
sameShape<z.output<typeof balanceShape>, Balance>(true);

/** One payout with the commissions it settles (`GET /api/v1/payouts/:id`). */
const payoutDetail = payoutShape.extend({
  commissions: z.array(
    z.strictObject({
      id: z.string(),
      amount: minorAmount,
      kind: commissionKind,
      status: commissionStatus,
    }),
  ),
});

/** One payout of a pay-all run (`payoutId` null in a dry run; `transferId` for Stripe transfers). */
const payAllLine = z.strictObject({
  payoutId: z.string().nullable(),
  affiliateId: z.string(),
  amount: minorAmount,
  currency: currencyOut,
  method: payoutShape.shape.method,
  transferId: z.string().optional(),
});

/** `POST /api/v1/payouts/pay-all`: what a run paid, exported, left to do by hand, and who was not paid and why. */
export const payAllShape = z.strictObject({
  batchId: z.string(),
  dryRun: z.boolean(),
  paid: z.array(payAllLine),
  exported: z.array(payAllLine),
  exports: z.array(
    z.strictObject({
      format: z.enum(['paypal', 'wise']),
      currency: currencyOut.nullable(),
      count: z.int(),
      url: z.string(),
    }),
  ),
  manual: z.array(payAllLine),
  notPaid: z.array(
    z.strictObject({
      affiliateId: z.string(),
      currency: currencyOut,
      amount: minorAmount,
      payoutId: z.string().nullable(),
      reason: z.string(),
      message: z.string(),
    }),
  ),
});
sameShape<z.output<typeof payAllShape>, PayAllResult>(true);

export const payoutResponses = {
  list: z.strictObject({ data: z.array(payoutShape) }),
  one: z.strictObject({ payout: payoutShape }),
  detail: z.strictObject({ payout: payoutDetail }),
  balances: z.strictObject({ data: z.array(balanceShape) }),
  payAll: payAllShape,
};
