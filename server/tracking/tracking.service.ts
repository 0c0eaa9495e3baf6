/**
 * Clicks and referrals. A click is one visit that carried an affiliate's code; the referral is the visitor
 * attributed to an affiliate (`visitor → lead → customer`), whose id the snippet keeps in its cookie and hands
 * to Stripe as `client_reference_id`.
 *
 * Attribution within the program's cookie window (days):
 * - `last_click`: a click with another affiliate's code starts a new referral for that affiliate;
 * - `first_click`: an unexpired referral keeps the visitor; the click is still counted for the affiliate who
 *   sent it, with no referral.
 * A repeat click of the same visitor for the same affiliate within `CLICK_DEDUPE_MINUTES` is not a new click.
 */
import { z } from 'zod';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { ProgramRow, ReferralRow } from '../db/schema.ts';
import { ForbiddenError, NotFoundError, UnprocessableError } from '../errors.ts';
import { newId } from '../ids.ts';
import { parseInput } from '../http/input.ts';
import * as affiliatesRepo from '../affiliates/affiliates.repository.ts';
import * as programsRepo from '../programs/programs.repository.ts';
import { isMerchantUrl } from '../links/links.service.ts';
import { findLinkBySlug } from '../links/links.repository.ts';
import * as repo from './tracking.repository.ts';

const DAY_MS = 86_400_000;
export const CLICK_DEDUPE_MINUTES = 30;
/** Referral ids are valid Stripe `client_reference_id` values (ARCHITECTURE.md). */
export const REFERRAL_ID = /^[A-Za-z0-9_-]{1,200}$/;

export const clickInput = z.object({
  key: z.string().min(1).max(100),
  code: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an affiliate code'),
  referral: z.string().regex(REFERRAL_ID).optional(),
  url: z.string().max(2048).optional(),
  referrer: z.string().max(2048).optional(),
});

export const leadInput = z.object({
  key: z.string().min(1).max(100),
  referral: z.string().regex(REFERRAL_ID),
  email: z.email().max(320),
});

export interface ClickContext {
  ip: string | null;
  userAgent: string | null;
  /** The `Origin` header, when the browser sent one. */
  origin: string | null;
}

/** What the snippet gets back: the referral to keep in its cookie and the program's settings. */
export interface ClickResult {
  referral: string;
  /** Code of the affiliate the visitor is attributed to. */
  affiliate: string;
  cookieDays: number;
  attribution: 'first_click' | 'last_click';
}

export function createTrackingService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());

  async function programForKey(key: string, origin: string | null): Promise<ProgramRow> {
    const program = await programsRepo.findProgramByPublicKey(db, key);
    if (!program) throw new NotFoundError('Program', 'unknown_program');
    // Browsers always send Origin on cross-origin POSTs; requests without one are server-side calls.
    if (origin && !isMerchantUrl(program, origin)) {
      throw new ForbiddenError(`Origin ${origin} is not allowed for this program`, 'origin_not_allowed');
    }
    return program;
  }

  /**
   * Decide which referral a click of `affiliateId` leaves the visitor with, and record the click.
   * Runs inside `trx`; the visitor's existing referral (if any) is locked.
   */
  async function attribute(
    trx: DbOrTrx,
    program: ProgramRow,
    affiliate: { id: string; code: string },
    existingId: string | undefined,
    click: { linkId: string | null; url: string | null; referrer: string | null; ip: string | null; userAgent: string | null },
  ): Promise<{ referral: ReferralRow; affiliateCode: string }> {
    const at = now();
    const expiresAt = new Date(at.getTime() + program.cookie_days * DAY_MS);
    const existing = existingId ? await repo.lockReferral(trx, program.id, existingId) : undefined;
    const live = existing && existing.expires_at > at ? existing : undefined;

    if (live && live.affiliate_id === affiliate.id) {
      const repeat = at.getTime() - live.last_click_at.getTime() < CLICK_DEDUPE_MINUTES * 60_000;
      await repo.touchReferral(trx, live.id, at, expiresAt);
      if (!repeat) await repo.insertClick(trx, { program_id: program.id, affiliate_id: affiliate.id, referral_id: live.id, link_id: click.linkId, url: click.url, referrer: click.referrer, ip: click.ip, user_agent: click.userAgent });
      return { referral: { ...live, last_click_at: at, expires_at: expiresAt }, affiliateCode: affiliate.code };
    }
    if (live && program.attribution_model === 'first_click') {
      await repo.insertClick(trx, { program_id: program.id, affiliate_id: affiliate.id, referral_id: null, link_id: click.linkId, url: click.url, referrer: click.referrer, ip: click.ip, user_agent: click.userAgent });
      const owner = await affiliatesRepo.findAffiliateById(trx, live.affiliate_id);
      return { referral: live, affiliateCode: owner!.code };
    }
    const referral = await repo.insertReferral(trx, {
      id: newId('ref'),
      program_id: program.id,
      affiliate_id: affiliate.id,
      link_id: click.linkId,
      expires_at: expiresAt,
      last_click_at: at,
    });
    await repo.insertClick(trx, { program_id: program.id, affiliate_id: affiliate.id, referral_id: referral.id, link_id: click.linkId, url: click.url, referrer: click.referrer, ip: click.ip, user_agent: click.userAgent });
    return { referral, affiliateCode: affiliate.code };
  }

  return {
    /**
     * Record a click sent by the snippet.
     * @throws ValidationError; NotFoundError `unknown_program` / `unknown_affiliate`;
     *   UnprocessableError `affiliate_not_approved`; ForbiddenError `origin_not_allowed`. Nothing is stored on error.
     */
    async recordClick(input: unknown, ctx: ClickContext): Promise<ClickResult> {
      const data = parseInput(clickInput, input);
      const program = await programForKey(data.key, ctx.origin);
      const affiliate = await affiliatesRepo.findAffiliateByCode(db, program.id, data.code);
      if (!affiliate) throw new NotFoundError('Affiliate code', 'unknown_affiliate');
      if (affiliate.status !== 'approved') {
        throw new UnprocessableError('This affiliate is not approved', 'affiliate_not_approved');
      }
      const { referral, affiliateCode } = await db.transaction().execute((trx) =>
        attribute(trx, program, affiliate, data.referral, {
          linkId: null,
          url: data.url ?? null,
          referrer: data.referrer ?? null,
          ip: ctx.ip,
          userAgent: ctx.userAgent?.slice(0, 500) ?? null,
        }),
      );
      return { referral: referral.id, affiliate: affiliateCode, cookieDays: program.cookie_days, attribution: program.attribution_model };
    },

    /**
     * Record a lead (the snippet's `partnerkit('lead', { email })`): the referral becomes a lead with its e-mail.
     * @throws NotFoundError `unknown_program` / `unknown_referral`; ForbiddenError `origin_not_allowed`
     */
    async recordLead(input: unknown, ctx: ClickContext): Promise<{ referral: string }> {
      const data = parseInput(leadInput, input);
      const program = await programForKey(data.key, ctx.origin);
      const referral = await repo.findReferral(db, program.id, data.referral);
      if (!referral) throw new NotFoundError('Referral', 'unknown_referral');
      await repo.markLead(db, referral.id, data.email.toLowerCase());
      return { referral: referral.id };
    },

    /**
     * A visit to `/r/:slug`: record a server-side click and return where to send the visitor: the link's
     * destination (always on the merchant's site, checked when the link was made) with `ref=<code>` and
     * `pk_ref=<referral>` so the snippet there keeps the same referral. A link of a non-approved affiliate
     * still redirects, without a code and without a click.
     * @throws NotFoundError `unknown_link`
     */
    async followLink(slug: string, ctx: ClickContext & { existingReferral?: string }): Promise<string> {
      const link = await findLinkBySlug(db, slug);
      if (!link) throw new NotFoundError('Link', 'unknown_link');
      const destination = new URL(link.destination_url);
      if (link.affiliate_status !== 'approved') return destination.toString();
      const program = (await programsRepo.findProgramById(db, link.program_id))!;
      const existing = ctx.existingReferral && REFERRAL_ID.test(ctx.existingReferral) ? ctx.existingReferral : undefined;
      const { referral, affiliateCode } = await db.transaction().execute((trx) =>
        attribute(trx, program, { id: link.affiliate_id, code: link.code }, existing, {
          linkId: link.id,
          url: link.destination_url,
          referrer: ctx.origin,
          ip: ctx.ip,
          userAgent: ctx.userAgent?.slice(0, 500) ?? null,
        }),
      );
      destination.searchParams.set('ref', affiliateCode);
      destination.searchParams.set('pk_ref', referral.id);
      return destination.toString();
    },
  };
}
export type TrackingService = ReturnType<typeof createTrackingService>;
