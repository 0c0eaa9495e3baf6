/**
 * Clicks and referrals. A click is one visit that carried an affiliate's code; the referral is the visitor
 * attributed to an affiliate (`visitor → lead → customer`), whose id the snippet keeps in its cookie and hands
 * to Stripe as `client_reference_id`. Attribution rules and the write path are in `click-ingest.ts`.
 *
 * On the request path, before anything is written: the program (by public key) and the affiliate (by code)
 * come from short-lived caches; the `Origin` must be the program's site; known bots (by user agent, `isbot`)
 * are dropped; each IP may send `CLICKS_PER_IP_PER_MINUTE` clicks. A visitor without a cookie is recognised
 * for `CLICK_DEDUPE_MINUTES` by IP + user agent, so reloading a `?ref=` page is not a new click.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { BoundedRateLimiter } from '../lib/bounded-rate-limiter.ts';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { ForbiddenError, NotFoundError, RateLimitedError } from '../lib/errors.ts';
import { idText, parseInput } from '../lib/validate.ts';
import * as affiliatesRepo from '../affiliates/affiliates.repository.ts';
import * as programsRepo from '../programs/programs.repository.ts';
import { isMerchantUrl } from '../links/links.service.ts';
import { findLinkBySlug } from '../links/links.repository.ts';
import { CLICK_DEDUPE_MINUTES, createClickIngest, type ClickRequest } from './click-ingest.ts';
import * as repo from './tracking.repository.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';

/** Referral ids are valid Stripe `client_reference_id` values (ARCHITECTURE.md). */
export const REFERRAL_ID = /^[A-Za-z0-9_-]{1,200}$/;
export const CLICKS_PER_IP_PER_MINUTE = 60;
/**
 * Addresses the per-IP click limit remembers at most (the least recently seen is forgotten first). Enough: an
 * address can only pass the limit by clicking at least once a second, so it stays among the most recent 50,000
 * unless more than 50,000 other addresses click within that second.
 */
export const CLICK_LIMITER_MAX_IPS = 50_000;
/** How long a program or an approved affiliate is cached: a suspension takes at most this long to apply. */
const CACHE_TTL_MS = 10_000;

/**
 * Text PostgreSQL can store, at most `max` UTF-16 units, or undefined when empty: NUL bytes are dropped
 * (PostgreSQL text cannot hold them) and lone surrogates become U+FFFD (not valid UTF-8). Without this one
 * hostile click failed its whole batch.
 */
export function storableText(value: string, max: number): string | undefined {
  const text = (value.includes('\0') ? value.replaceAll('\0', '') : value).slice(0, max);
  return (text as unknown as { toWellFormed(): string }).toWellFormed() || undefined;
}

export const clickInput = z.object({
  key: idText,
  code: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an affiliate code'),
  referral: z.string().regex(REFERRAL_ID).optional(),
  // Long landing URLs (many tracking parameters) are cut, never refused: the click still counts.
  url: z
    .string()
    .max(16_384)
    .transform((u) => storableText(u, 2048))
    .optional(),
  // An empty document.referrer means "none": stored as NULL.
  referrer: z
    .string()
    .max(16_384)
    .transform((u) => storableText(u, 2048))
    .optional(),
});

export const leadInput = z.object({
  key: idText,
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

/** The click answer for a code that sends no one (unknown, or of an affiliate not approved): the snippet keeps nothing. */
export const NO_REFERRAL = Object.freeze({ referral: null });

export function createTrackingService(deps: { db: Db; now?: () => Date; logger?: Logger; metrics?: Metrics | null }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const ingest = createClickIngest({ db, now, logger: deps.logger, metrics: deps.metrics });
  // Each cached program carries the verdicts on the origins seen for it (parsing a URL and looking up its
  // registrable domain on every click was ~2 % of the click path); they expire with the program.
  const programs = new LRUCache<string, { program: ProgramRow; origins: Map<string, boolean> }>({
    max: 10_000,
    ttl: CACHE_TTL_MS,
  });
  // Visitors' user agents repeat; isbot's one large regular expression was ~3 % of the click path.
  const botVerdicts = new LRUCache<string, boolean>({
    max: 10_000,
    maxSize: 2_000_000,
    sizeCalculation: (_v, ua) => ua.length || 1,
  });
  const affiliates = new LRUCache<string, { id: string; code: string }>({ max: 100_000, ttl: CACHE_TTL_MS });
  // Cookieless visitors seen lately, by a SHA-1 of program, affiliate, IP and user agent (27 characters instead
  // of ~200: ~260 B per visitor instead of ~460). The most recent 100,000 are kept: at peak that is the last
  // minutes, when reloads happen; older repeats count as new clicks.
  const visitors = new LRUCache<string, string>({ max: 100_000, ttl: CLICK_DEDUPE_MINUTES * 60_000 });
  // The IPs that clicked lately, at most CLICK_LIMITER_MAX_IPS (~11 MB): a burst of distinct visitors (or a flood of
  // forged addresses) cannot grow memory past it; an address still clicking is recent, so it keeps its count.
  const perIp = new BoundedRateLimiter({
    points: CLICKS_PER_IP_PER_MINUTE,
    duration: 60,
    maxKeys: CLICK_LIMITER_MAX_IPS,
  });

  async function programForKey(key: string, origin: string | null): Promise<ProgramRow> {
    let entry = programs.get(key);
    if (!entry) {
      const program = await programsRepo.findProgramByPublicKey(db, key);
      if (!program) throw new NotFoundError('Program', 'unknown_program');
      entry = { program, origins: new Map() };
      programs.set(key, entry);
    }
    // Browsers always send Origin on cross-origin POSTs; requests without one are server-side calls.
    if (origin) {
      let allowed = entry.origins.get(origin);
      if (allowed === undefined) {
        allowed = isMerchantUrl(entry.program, origin);
        if (entry.origins.size < 100) entry.origins.set(origin, allowed);
      }
      if (!allowed) throw new ForbiddenError(`Origin ${origin} is not allowed for this program`, 'origin_not_allowed');
    }
    return entry.program;
  }

  /** An approved affiliate of the program by code, or null (no such code, or not approved); only approved ones are cached. */
  async function approvedAffiliate(programId: string, code: string) {
    const key = `${programId}|${code}`;
    const hit = affiliates.get(key);
    if (hit) return hit;
    const row = await affiliatesRepo.findAffiliateByCode(db, programId, code);
    if (row?.status !== 'approved') return null;
    const found = { id: row.id, code: row.code };
    affiliates.set(key, found);
    return found;
  }

  function isBot(userAgent: string): boolean {
    let verdict = botVerdicts.get(userAgent);
    if (verdict === undefined) {
      verdict = isbot(userAgent);
      botVerdicts.set(userAgent, verdict);
    }
    return verdict;
  }

  async function limitIp(ip: string | null): Promise<void> {
    if (!ip) return;
    try {
      await perIp.consume(ip);
    } catch (res) {
      if (res instanceof RateLimiterRes)
        throw new RateLimitedError('Too many clicks from this address', Math.ceil(res.msBeforeNext / 1000));
      throw res;
    }
  }

  /** Submit to the group commit, recognising a cookieless repeat visitor by IP + user agent. */
  async function submit(req: ClickRequest) {
    const visitorKey = req.ip
      ? hash('sha1', `${req.programId}|${req.affiliateId}|${req.ip}|${req.userAgent ?? ''}`, 'base64url')
      : null;
    if (!req.existingReferral && visitorKey) req.existingReferral = visitors.get(visitorKey);
    const attribution = await ingest.submit(req);
    if (visitorKey) visitors.set(visitorKey, attribution.referral);
    return attribution;
  }

  return {
    /**
     * Record a click sent by the snippet. Known bots get `{ ignored: 'bot' }`; a code that sends no one (unknown,
     * or of an affiliate not approved) gets `{ referral: null }`: the visitor's page reached the right endpoint,
     * so it is an answer, not an error (an error status is a red console line on the merchant's page). In that
     * order, after the program and `Origin` checks, so an unknown code costs the IP a click of its limit like any
     * other (guessing codes is no cheaper than clicking). Nothing is stored for either.
     * @throws ValidationError; NotFoundError `unknown_program`; ForbiddenError `origin_not_allowed`;
     *   RateLimitedError. Nothing is stored on error.
     */
    async recordClick(
      input: unknown,
      ctx: ClickContext,
    ): Promise<ClickResult | { ignored: 'bot' } | typeof NO_REFERRAL> {
      const data = parseInput(clickInput, input);
      const program = await programForKey(data.key, ctx.origin);
      if (ctx.userAgent && isBot(ctx.userAgent)) return { ignored: 'bot' };
      await limitIp(ctx.ip);
      const affiliate = await approvedAffiliate(program.id, data.code);
      if (!affiliate) return NO_REFERRAL;
      const a = await submit({
        programId: program.id,
        cookieDays: program.cookie_days,
        attributionModel: program.attribution_model,
        affiliateId: affiliate.id,
        affiliateCode: affiliate.code,
        existingReferral: data.referral,
        linkId: null,
        url: data.url ?? null,
        referrer: data.referrer ?? null,
        ip: ctx.ip,
        userAgent: ctx.userAgent ? (storableText(ctx.userAgent, 500) ?? null) : null,
      });
      // Days left on the referral the visitor keeps (a first-click referral may be older than this click).
      const cookieDays = Math.max(1, Math.ceil((a.expiresAt.getTime() - now().getTime()) / 86_400_000));
      return { referral: a.referral, affiliate: a.affiliateCode, cookieDays, attribution: program.attribution_model };
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
     * destination (checked when the link was made, and again here: a link stored before the shared-hosting check
     * may point at a sibling site such as `evil.myshopify.com`; the program's website is used then) with `ref=<code>` and
     * `pk_ref=<referral>` so the snippet there keeps the same referral. A link of a non-approved affiliate,
     * a retired (archived) link, a bot, or a rate-limited IP still redirects, without a code and without a click.
     * @throws NotFoundError `unknown_link`
     */
    async followLink(
      slug: string,
      ctx: ClickContext & { referer: string | null; existingReferral?: string },
    ): Promise<string> {
      const link = await findLinkBySlug(db, slug);
      if (!link) throw new NotFoundError('Link', 'unknown_link');
      const destination = new URL(isMerchantUrl(link, link.destination_url) ? link.destination_url : link.website);
      if (link.archived_at || link.affiliate_status !== 'approved' || (ctx.userAgent && isBot(ctx.userAgent)))
        return destination.toString();
      try {
        await limitIp(ctx.ip);
      } catch {
        return destination.toString();
      }
      const program = (await programsRepo.findProgramById(db, link.program_id))!;
      const a = await submit({
        programId: program.id,
        cookieDays: program.cookie_days,
        attributionModel: program.attribution_model,
        affiliateId: link.affiliate_id,
        affiliateCode: link.code,
        existingReferral:
          ctx.existingReferral && REFERRAL_ID.test(ctx.existingReferral) ? ctx.existingReferral : undefined,
        linkId: link.id,
        url: link.destination_url,
        referrer: ctx.referer ? (storableText(ctx.referer, 2048) ?? null) : null,
        ip: ctx.ip,
        userAgent: ctx.userAgent ? (storableText(ctx.userAgent, 500) ?? null) : null,
      });
      destination.searchParams.set('ref', a.affiliateCode);
      destination.searchParams.set('pk_ref', a.referral);
      return destination.toString();
    },

    /** Write every queued click (call before closing the pool). */
    close: () => ingest.close(),
  };
}
export type TrackingService = ReturnType<typeof createTrackingService>;
