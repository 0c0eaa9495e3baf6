/** The public shapes of affiliates (what the admin API answers), for the OpenAPI document and its tests. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { Affiliate } from './affiliates.service.ts';

export const affiliateShape = z.strictObject({
  id: z.string(),
  code: z.string(),
  email: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'suspended']),
  referralLink: z.url(),
  hasPassword: z.boolean(),
  createdAt: isoInstant,
});
sameShape<z.output<typeof affiliateShape>, Affiliate>(true);

/** What an affiliate's application said (null for affiliates the merchant created). */
export const applicationShape = z
  .strictObject({ website: z.string().nullable(), promotionMethod: z.string().nullable(), appliedAt: isoInstant })
  .nullable();
const affiliateWithApplication = affiliateShape.extend({ application: applicationShape });

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
};
