/** The public shapes of payouts and balances (what the admin API answers), for the OpenAPI document and its tests. */
import { z } from 'zod';
import { currencyOut, isoInstant, minorAmount, sameShape } from '../lib/schemas.ts';
import type { Balance, Payout } from './payouts.service.ts';
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

export const payoutResponses = {
  list: z.strictObject({ data: z.array(payoutShape) }),
  one: z.strictObject({ payout: payoutShape }),
  detail: z.strictObject({ payout: payoutDetail }),
  balances: z.strictObject({ data: z.array(balanceShape) }),
};
