/**
 * Tracking links: `<PUBLIC_URL>/r/<slug>` records a server-side click and redirects to a destination on
 * the merchant's own site (its website or allowed domains), never elsewhere (no open redirect).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { getDomain } from 'tldts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { LinkRow, ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { parseInput } from '../http/input.ts';
import * as affiliatesRepo from '../affiliates/affiliates.repository.ts';
import * as repo from './links.repository.ts';

export const createLinkInput = z.object({
  affiliateId: z.string().min(1).max(100),
  slug: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .optional(),
  destinationUrl: z.url({ protocol: /^https?$/ }).optional(),
  campaign: z.string().trim().min(1).max(100).optional(),
});

export const listLinksInput = z.object({
  affiliateId: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export interface Link {
  id: string;
  affiliateId: string;
  slug: string;
  url: string;
  destinationUrl: string;
  campaign: string | null;
  createdAt: string;
}

/**
 * True when `url` is on the program's own site: same registrable domain as its website or as one of its
 * allowed domains (so `www.`, `app.` and `shop.` of the merchant all count).
 */
export function isMerchantUrl(program: Pick<ProgramRow, 'website' | 'allowed_domains'>, url: string): boolean {
  let host: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return false;
    host = u.hostname;
  } catch {
    return false;
  }
  const own = [new URL(program.website).hostname, ...program.allowed_domains].map((h) => getDomain(h) ?? h);
  return own.includes(getDomain(host) ?? host);
}

export function createLinksService(deps: { db: Db; config: Config }) {
  const { db, config } = deps;
  const toLink = (l: LinkRow): Link => ({
    id: l.id,
    affiliateId: l.affiliate_id,
    slug: l.slug,
    url: `${config.publicUrl}/r/${l.slug}`,
    destinationUrl: l.destination_url,
    campaign: l.campaign,
    createdAt: l.created_at.toISOString(),
  });
  return {
    /**
     * Create a link for an affiliate of `program`. Destination defaults to the program's website.
     * @throws NotFoundError (affiliate); ValidationError `destination_not_allowed`; ConflictError `slug_taken`
     */
    async create(program: ProgramRow, input: unknown): Promise<Link> {
      const data = parseInput(createLinkInput, input);
      const affiliate = await affiliatesRepo.findAffiliate(db, program.id, data.affiliateId);
      if (!affiliate) throw new NotFoundError('Affiliate');
      const destination = data.destinationUrl ?? program.website;
      if (!isMerchantUrl(program, destination)) {
        throw new ValidationError(
          "destinationUrl must be on the program's website or allowed domains",
          'destination_not_allowed',
        );
      }
      try {
        const row = await repo.insertLink(db, {
          id: newId('lnk'),
          program_id: program.id,
          affiliate_id: affiliate.id,
          slug: data.slug ?? randomBytes(6).toString('base64url'),
          destination_url: destination,
          campaign: data.campaign ?? null,
        });
        return toLink(row);
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw new ConflictError('This slug is already taken', 'slug_taken');
        throw err;
      }
    },

    async list(program: ProgramRow, query: unknown): Promise<Link[]> {
      const q = parseInput(listLinksInput, query);
      return (await repo.listLinks(db, program.id, q)).map(toLink);
    },
  };
}
export type LinksService = ReturnType<typeof createLinksService>;
