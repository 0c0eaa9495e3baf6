/** The public shape of an affiliate's tax details (`GET /api/v1/affiliates/:id/tax-info`); the tax id is masked. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { TaxInfo } from './tax-info.service.ts';

export const taxInfoShape = z.strictObject({
  legalName: z.string().nullable(),
  country: z.string().nullable(),
  /** Masked: `•••• 6789`. */
  taxId: z.string().nullable(),
  updatedAt: isoInstant.nullable(),
});
sameShape<z.output<typeof taxInfoShape>, TaxInfo>(true);

export const taxInfoResponses = {
  /** The admin API's answer. */
  one: z.strictObject({ taxInfo: taxInfoShape }),
  /** The partner API's answer (`GET|PUT /api/v1/partner/tax-info`). */
  partner: taxInfoShape,
};
