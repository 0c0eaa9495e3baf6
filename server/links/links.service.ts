/**
 * Tracking links: `<PUBLIC_URL>/r/<slug>` records a server-side click and redirects to a destination on
 * the merchant's own site (its website or allowed domains), never elsewhere (no open redirect).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { LinkRow, ProgramRow } from '../db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { idFilter, idText, isStorableText, NOT_STORABLE, parseInput, storableText } from '../lib/validate.ts';
import { isUrlOnSites } from '../lib/registrable-domain.ts';
import { isUniqueViolation } from '../lib/schemas.ts';
import * as affiliatesRepo from '../affiliates/affiliates.repository.ts';
import * as repo from './links.repository.ts';

/** Whether the URL carries no userinfo (`user:pass@`). Unparsable URLs pass here: `z.url` refuses them. */
function withoutUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username === '' && u.password === '';
  } catch {
    return true;
  }
}

/**
 * zod: a link destination as a merchant or an affiliate writes it — an http(s) URL of at most 2,048 characters,
 * storable (`isStorableText`), without userinfo: `https://user:pass@acme.test` would hand credentials to every
 * visitor, and `https://acme.test@evil.test` is a phishing pattern. Whether it is on the merchant's site is
 * `isMerchantUrl`'s question.
 */
export const destinationUrlInput = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048)
  .refine(isStorableText, NOT_STORABLE)
  .refine(withoutUserinfo, 'must not contain a user name or password');

export const createLinkInput = z.object({
  affiliateId: idText,
  slug: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .optional(),
  destinationUrl: destinationUrlInput.optional(),
  campaign: storableText().trim().min(1).max(100).optional(),
});

export const listLinksInput = z.object({
  affiliateId: idFilter,
  /** `active` (default) or `archived` (retired with DELETE). */
  status: z.enum(['active', 'archived']).default('active'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `PATCH /api/v1/links/:id`: where it leads and its campaign (`null` clears it). The slug is the URL already out
 * there and does not change. */
export const updateLinkInput = z
  .object({
    destinationUrl: destinationUrlInput,
    campaign: storableText().trim().min(1).max(100).nullable(),
  })
  .partial()
  .strict()
  .refine((d) => Object.keys(d).length > 0, 'give destinationUrl and/or campaign');

export interface Link {
  id: string;
  affiliateId: string;
  slug: string;
  url: string;
  destinationUrl: string;
  campaign: string | null;
  createdAt: string;
  /** When it was retired (`DELETE`); its URL then redirects without recording a click. */
  archivedAt: string | null;
}

/**
 * True when `url` is on the program's own site: same registrable domain (`lib/registrable-domain.ts`, Public
 * Suffix List with its private section) as its website or as one of its allowed domains, so `www.`, `app.` and
 * `shop.` of the merchant count, and a sibling on shared hosting (`evil.myshopify.com` for a merchant on
 * `acme.myshopify.com`) does not.
 */
export function isMerchantUrl(program: Pick<ProgramRow, 'website' | 'allowed_domains'>, url: string): boolean {
  return isUrlOnSites(url, [new URL(program.website).hostname, ...program.allowed_domains]);
}

/** Links an affiliate may create itself in the partner dashboard (slugs are global; this bounds squatting). */
export const MAX_LINKS_PER_AFFILIATE = 200;

/**
 * Who creates a link: the merchant (admin API, for any affiliate of its program) or the affiliate itself (partner
 * dashboard, from its session; at most `MAX_LINKS_PER_AFFILIATE` links).
 */
export type LinkActor = { kind: 'merchant' } | { kind: 'affiliate'; affiliateId: string };

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
    archivedAt: l.archived_at?.toISOString() ?? null,
  });
  /** @throws ValidationError `destination_not_allowed` unless `url` is on the program's site (`isMerchantUrl`) */
  const checkDestination = (program: ProgramRow, url: string) => {
    if (isMerchantUrl(program, url)) return;
    const others = program.allowed_domains.length ? ` or of ${program.allowed_domains.join(', ')}` : '';
    throw new ValidationError(
      `destinationUrl must be a page of ${program.website}${others}`,
      'destination_not_allowed',
    );
  };
  const service = {
    /**
     * Create a link for an affiliate of `program`. Destination defaults to the program's website.
     * @throws NotFoundError (affiliate); ValidationError `destination_not_allowed`; ConflictError `slug_taken`
     */
    async create(program: ProgramRow, input: unknown): Promise<Link> {
      const { affiliateId, ...data } = parseInput(createLinkInput, input);
      const affiliate = await affiliatesRepo.findAffiliate(db, program.id, affiliateId);
      if (!affiliate) throw new NotFoundError('Affiliate');
      return service.createForAffiliate({ actor: { kind: 'merchant' }, program, affiliateId: affiliate.id, ...data });
    },

    /**
     * The one way a link is created (admin API and partner dashboard): `<PUBLIC_URL>/r/<slug>` (slug random when
     * not given) for `affiliateId`, an affiliate of `program` the caller has established, to `destinationUrl` on
     * the merchant's site (`isMerchantUrl`; default: the program's website). An `affiliate` actor may create
     * links only for itself and at most `MAX_LINKS_PER_AFFILIATE`.
     * @throws ValidationError `destination_not_allowed`; ConflictError `slug_taken`, `too_many_links` (affiliate)
     */
    async createForAffiliate(args: {
      actor: LinkActor;
      program: ProgramRow;
      affiliateId: string;
      slug?: string;
      destinationUrl?: string;
      campaign?: string;
    }): Promise<Link> {
      const { actor, program, affiliateId } = args;
      if (actor.kind === 'affiliate' && actor.affiliateId !== affiliateId) throw new NotFoundError('Affiliate');
      const destination = args.destinationUrl ?? program.website;
      checkDestination(program, destination);
      if (actor.kind === 'affiliate' && (await repo.countLinks(db, affiliateId)) >= MAX_LINKS_PER_AFFILIATE) {
        throw new ConflictError(`You can have at most ${MAX_LINKS_PER_AFFILIATE} links`, 'too_many_links');
      }
      try {
        const row = await repo.insertLink(db, {
          id: newId('lnk'),
          program_id: program.id,
          affiliate_id: affiliateId,
          slug: args.slug ?? randomBytes(6).toString('base64url'),
          destination_url: destination,
          campaign: args.campaign ?? null,
        });
        return toLink(row);
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError('This slug is already taken', 'slug_taken');
        throw err;
      }
    },

    /**
     * Change a link's destination (on the merchant's site, as at creation) or campaign.
     * @throws ValidationError (`destination_not_allowed`); NotFoundError
     */
    async update(program: ProgramRow, id: string, input: unknown): Promise<Link> {
      const data = parseInput(updateLinkInput, input);
      if (data.destinationUrl !== undefined) checkDestination(program, data.destinationUrl);
      const row = await repo.updateLink(db, program.id, id, {
        ...(data.destinationUrl !== undefined ? { destination_url: data.destinationUrl } : {}),
        ...(data.campaign !== undefined ? { campaign: data.campaign } : {}),
      });
      if (!row) throw new NotFoundError('Link');
      return toLink(row);
    },

    /**
     * Retire a link: kept (its clicks and referrals point at it; the slug stays taken), listed under
     * `status=archived`, gone from the partner dashboard; its URL still redirects to its destination, without
     * recording a click (a visitor is never stranded). Retiring it again changes nothing.
     * @throws NotFoundError
     */
    async archive(program: ProgramRow, id: string): Promise<Link> {
      const existing = await repo.findLink(db, program.id, id);
      if (!existing) throw new NotFoundError('Link');
      if (existing.archived_at) return toLink(existing);
      return toLink((await repo.updateLink(db, program.id, id, { archived_at: new Date() }))!);
    },

    async list(program: ProgramRow, query: unknown): Promise<Link[]> {
      const q = parseInput(listLinksInput, query);
      return (await repo.listLinks(db, program.id, q)).map(toLink);
    },
  };
  return service;
}
export type LinksService = ReturnType<typeof createLinksService>;
