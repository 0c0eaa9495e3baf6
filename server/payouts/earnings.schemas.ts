/** The public shape of the merchant's yearly earnings export (`GET /api/v1/earnings/yearly`). */
import { z } from 'zod';
import { currencyOut, minorAmount, sameShape } from '../lib/schemas.ts';
import type { YearlyEarningsRow } from './earnings.ts';

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

export const earningsResponses = {
  yearly: z.strictObject({ year: z.int(), data: z.array(yearlyEarningsRowShape) }),
};
