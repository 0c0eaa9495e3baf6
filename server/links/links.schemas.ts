/** The public shapes of tracking links (what the admin API answers), for the OpenAPI document and its tests. */
import { z } from 'zod';
import { isoInstant, sameShape } from '../lib/schemas.ts';
import type { Link } from './links.service.ts';

export const linkShape = z.strictObject({
  id: z.string(),
  affiliateId: z.string(),
  slug: z.string(),
  url: z.url(),
  destinationUrl: z.url(),
  campaign: z.string().nullable(),
  createdAt: isoInstant,
  archivedAt: isoInstant.nullable(),
});
sameShape<z.output<typeof linkShape>, Link>(true);

export const linkResponses = {
  list: z.strictObject({ data: z.array(linkShape) }),
  one: z.strictObject({ link: linkShape }),
};
