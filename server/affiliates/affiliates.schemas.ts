/** The public shapes of affiliates (what the admin API answers), for the OpenAPI document and its tests. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { Affiliate, ImportResult } from './affiliates.service.ts';

export const affiliateShape = z.strictObject({
  id: z.string(),
  code: z.string(),
  email: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'suspended']),
  referralLink: z.url(),
  hasPassword: z.boolean(),
  rejectionReason: z.string().nullable(),
  payoutMethod: z.enum(['paypal', 'bank_transfer', 'stripe_connect']).nullable(),
  createdAt: isoInstant,
});
sameShape<z.output<typeof affiliateShape>, Affiliate>(true);

/** What an affiliate's application said (null for affiliates the merchant created). */
export const applicationShape = z
  .strictObject({ website: z.string().nullable(), promotionMethod: z.string().nullable(), appliedAt: isoInstant })
  .nullable();
const affiliateWithApplication = affiliateShape.extend({ application: applicationShape });

/** `POST /api/v1/affiliates/import`: counts and one result per row of the file. */
export const importResultShape = z.strictObject({
  created: z.number().int(),
  skipped: z.number().int(),
  errors: z.number().int(),
  rows: z.array(
    z.discriminatedUnion('result', [
      z.strictObject({ row: z.number().int(), result: z.literal('created'), affiliate: affiliateShape }),
      z.strictObject({
        row: z.number().int(),
        result: z.literal('skipped'),
        email: z.string(),
        reason: z.enum(['duplicate_email', 'duplicate_code', 'duplicate_in_file']),
      }),
      z.strictObject({ row: z.number().int(), result: z.literal('error'), email: z.string(), reason: z.string() }),
    ]),
  ),
});
sameShape<z.output<typeof importResultShape>, ImportResult>(true);

export const affiliateResponses = {
  list: z.strictObject({ data: z.array(affiliateWithApplication) }),
  one: z.strictObject({ affiliate: affiliateWithApplication }),
  /** Created or approved: an approved affiliate without a password also gets a one-time set-password link. */
  withLink: z.strictObject({
    affiliate: affiliateShape,
    setPasswordUrl: z.url().optional(),
    emailSent: z.boolean().optional(),
  }),
  plain: z.strictObject({ affiliate: affiliateShape }),
  invited: z.strictObject({ affiliate: affiliateShape, setPasswordUrl: z.url(), emailSent: z.boolean() }),
  imported: importResultShape,
};
