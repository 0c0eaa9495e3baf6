/**
 * The public shapes of yearly earnings: the merchant's export (`GET /api/v1/earnings/yearly`) and the partner's
 * summary (`GET /api/v1/partner/earnings`), and the partner's Stripe status (`GET /api/v1/partner/stripe-connect`).
 * The dashboard's types are taken from these (`dashboard/src/types.ts`).
 */
import { z } from 'zod';
import { currencyOut, minorAmount, sameShape } from '../lib/schemas.ts';
import type { ConnectAccountStatus } from './connect-onboarding.ts';
import type { PartnerYear, YearlyEarningsRow } from './earnings.ts';

export const yearlyEarningsRowShape = z.strictObject({
  affiliateId: z.string(),
  name: z.string(),
  email: z.string(),
  legalName: z.string().nullable(),
  country: z.string().nullable(),
  /** Masked: `•••• 6789`. */
  taxId: z.string().nullable(),
  currency: currencyOut,
  totalPaid: minorAmount,
  payouts: z.int(),
});
sameShape<z.output<typeof yearlyEarningsRowShape>, YearlyEarningsRow>(true);

export const partnerYearShape = z.strictObject({
  year: z.int(),
  data: z.array(
    z.strictObject({
      currency: currencyOut,
      paid: minorAmount,
      payouts: z.int(),
      pending: minorAmount,
      approved: minorAmount,
    }),
  ),
});
sameShape<z.output<typeof partnerYearShape>, PartnerYear>(true);

export const connectStatusShape = z.strictObject({
  status: z.enum(['none', 'ready', 'needs_information', 'restricted']),
  available: z.boolean(),
  accountId: z.string().nullable(),
  country: z.string().nullable(),
  requirementsDue: z.array(z.string()),
});
sameShape<z.output<typeof connectStatusShape>, ConnectAccountStatus>(true);

export const earningsResponses = {
  yearly: z.strictObject({ year: z.int(), data: z.array(yearlyEarningsRowShape) }),
  partnerYear: partnerYearShape,
  connectStatus: connectStatusShape,
};
