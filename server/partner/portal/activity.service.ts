/**
 * What the partner portal lists for the logged-in affiliate: its links (and creating one, through
 * `links.createForAffiliate`), referred customers, commissions (also as CSV rows) and payouts. Every read takes the
 * affiliate from the authenticated session (`AuthenticatedPartner`) and every query filters on it; an id that
 * belongs to another affiliate is answered like an unknown one (404).
 */
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { CommissionKind, CommissionStatus, PayoutMethod, PayoutStatus } from '../../db/schema.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { parseInput } from '../../lib/validate.ts';
import { referralLink } from '../../affiliates/affiliates.service.ts';
import {
  createLinkInput as adminCreateLinkInput,
  MAX_LINKS_PER_AFFILIATE,
  type LinksService,
} from '../../links/links.service.ts';
import { requireAffiliate, requireProgram, type AuthenticatedPartner } from '../access/access.service.ts';
import { payoutSummary } from '../payout-settings.service.ts';
import { commissionRule, formatDecimal, maskEmail, type CommissionRule } from './partner.format.ts';
import { maturingUntil, nextPayoutRun, payoutBalances } from './portal.service.ts';
import { moneyByCurrency } from './portal.queries.ts';
import * as queries from './activity.queries.ts';

/** Rows in one CSV export. */
export const CSV_EXPORT_LIMIT = 50_000;

/** A link as the affiliate writes it: the admin API's input without `affiliateId` (that comes from the session). */
export const createLinkInput = adminCreateLinkInput.omit({ affiliateId: true });

export const pageInput = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const COMMISSION_STATUSES = ['pending', 'on_hold', 'approved', 'paid', 'rejected', 'reversed'] as const;
export const listCommissionsInput = pageInput.extend({
  /** One status or a comma-separated list. */
  status: z
    .string()
    .max(100)
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(COMMISSION_STATUSES)))
    .optional(),
});

/** A commission as the affiliate sees it. Amounts in minor units of `currency`. */
export interface PartnerCommission {
  id: string;
  amount: number;
  currency: string;
  kind: CommissionKind;
  status: CommissionStatus;
  rule: CommissionRule;
  /** The referred customer's e-mail, masked (`ja•••@e•••.com`), or null. */
  customer: string | null;
  saleAt: string | null;
  /** When the hold period ends and the commission becomes payable (ISO 8601). */
  payableAt: string;
  approvedAt: string | null;
  paidAt: string | null;
  payoutId: string | null;
  reason: string | null;
  createdAt: string;
}

/** What an affiliate sees of a payout (no batch or transfer internals). */
function toPartnerPayout(p: {
  id: string;
  amount: number;
  currency: string;
  status: PayoutStatus;
  method: PayoutMethod;
  reference: string | null;
  failure_reason: string | null;
  created_at: Date;
  completed_at: Date | null;
}) {
  return {
    id: p.id,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    method: p.method,
    reference: p.reference,
    failureReason: p.failure_reason,
    createdAt: p.created_at.toISOString(),
    completedAt: p.completed_at?.toISOString() ?? null,
  };
}

type CommissionJoinRow = Awaited<ReturnType<typeof queries.listCommissions>>['rows'][number];

function toPartnerCommission(c: CommissionJoinRow): PartnerCommission {
  return {
    id: c.id,
    amount: c.amount,
    currency: c.currency,
    kind: c.kind,
    status: c.status,
    rule: commissionRule(c),
    customer: maskEmail(c.customer_email ?? c.referral_email),
    saleAt: c.sale_at?.toISOString() ?? null,
    payableAt: c.payable_at.toISOString(),
    approvedAt: c.approved_at?.toISOString() ?? null,
    paidAt: c.paid_at?.toISOString() ?? null,
    payoutId: c.payout_id,
    reason: c.reason,
    createdAt: c.created_at.toISOString(),
  };
}

export function createActivityService(deps: {
  db: Db;
  config: Config;
  links: Pick<LinksService, 'createForAffiliate'>;
  now?: () => Date;
}) {
  const { db, config, links } = deps;
  const now = deps.now ?? (() => new Date());
  const linkUrl = (slug: string) => `${config.publicUrl}/r/${slug}`;

  return {
    /** The default `?ref=` link and the affiliate's tracking links, each with clicks and sale conversions. */
    async links(partner: AuthenticatedPartner) {
      const [a, p, rows, def] = await Promise.all([
        requireAffiliate(db, partner),
        requireProgram(db, partner),
        queries.listLinksWithStats(db, partner.affiliateId),
        queries.defaultLinkStats(db, partner.affiliateId),
      ]);
      return {
        defaultLink: { url: referralLink(p.website, a.code), clicks: def.clicks, conversions: def.conversions },
        links: rows.map((l) => ({
          id: l.id,
          slug: l.slug,
          url: linkUrl(l.slug),
          destinationUrl: l.destination_url,
          campaign: l.campaign,
          clicks: Number(l.clicks ?? 0),
          conversions: Number(l.conversions ?? 0),
          createdAt: l.created_at.toISOString(),
        })),
        maxLinks: MAX_LINKS_PER_AFFILIATE,
      };
    },

    /**
     * Create a tracking link `<PUBLIC_URL>/r/<slug>` to a page of the merchant's own site (default: its
     * website), with an optional campaign / sub-id: `links.createForAffiliate` with the affiliate as actor.
     * @throws ValidationError (`destination_not_allowed` off-site); ConflictError `slug_taken`, `too_many_links`
     */
    async createLink(partner: AuthenticatedPartner, input: unknown) {
      const data = parseInput(createLinkInput, input);
      const program = await requireProgram(db, partner);
      const link = await links.createForAffiliate({
        actor: { kind: 'affiliate', affiliateId: partner.affiliateId },
        program,
        affiliateId: partner.affiliateId,
        ...data,
      });
      return {
        id: link.id,
        slug: link.slug,
        url: link.url,
        destinationUrl: link.destinationUrl,
        campaign: link.campaign,
        clicks: 0,
        conversions: 0,
        createdAt: link.createdAt,
      };
    },

    /**
     * Referred visitors who became leads or customers (e-mail masked), newest first, each with their sales
     * and the commission each sale earned.
     */
    async referrals(partner: AuthenticatedPartner, query: unknown) {
      const page = parseInput(pageInput, query);
      const { rows, total } = await queries.listReferrals(db, partner.affiliateId, page);
      const sales = await queries.salesOfReferrals(
        db,
        partner.affiliateId,
        rows.map((r) => r.id),
      );
      return {
        data: rows.map((r) => {
          const own = sales.filter((s) => s.referral_id === r.id);
          const revenue = new Map<string, number>();
          for (const s of own) revenue.set(s.currency, (revenue.get(s.currency) ?? 0) + s.amount);
          return {
            id: r.id,
            status: r.status,
            customer: maskEmail(r.email ?? own.find((s) => s.customer_email)?.customer_email ?? null),
            since: r.created_at.toISOString(),
            revenue: [...revenue.entries()].map(([currency, amount]) => ({ currency, amount })),
            sales: own.map((s) => ({
              id: s.id,
              amount: s.amount,
              currency: s.currency,
              occurredAt: s.occurred_at.toISOString(),
              commission:
                s.commission_id === null
                  ? null
                  : {
                      id: s.commission_id,
                      amount: s.commission_amount!,
                      currency: s.commission_currency!,
                      status: s.commission_status!,
                    },
            })),
          };
        }),
        total,
        limit: page.limit,
        offset: page.offset,
      };
    },

    /** The affiliate's commissions, newest first; `status` filters (`pending` or `pending,approved`). */
    async commissions(partner: AuthenticatedPartner, query: unknown) {
      const q = parseInput(listCommissionsInput, query);
      const { rows, total } = await queries.listCommissions(db, partner.affiliateId, {
        statuses: q.status,
        limit: q.limit,
        offset: q.offset,
      });
      return { data: rows.map(toPartnerCommission), total, limit: q.limit, offset: q.offset };
    },

    /** One commission with its history. @throws NotFoundError (absent or another affiliate's) */
    async commission(partner: AuthenticatedPartner, id: string) {
      const row = id.length <= 100 ? await queries.findCommission(db, partner.affiliateId, id) : undefined;
      if (!row) throw new NotFoundError('Commission');
      const events = await queries.commissionEvents(db, row.id);
      return {
        commission: toPartnerCommission(row),
        history: events.map((e) => ({
          from: e.from_status,
          to: e.to_status,
          amount: e.amount,
          actor: e.actor,
          reason: e.reason,
          at: e.created_at.toISOString(),
        })),
      };
    },

    /**
     * Every commission of the affiliate as CSV rows (header first), oldest first, at most `CSV_EXPORT_LIMIT`.
     * Amounts appear twice: as a decimal string in the currency (`19.99`) and in minor units (`1999`).
     */
    async commissionsCsvRows(partner: AuthenticatedPartner): Promise<string[][]> {
      const rows = await queries.allCommissions(db, partner.affiliateId, CSV_EXPORT_LIMIT);
      const header = [
        'id',
        'created_at',
        'status',
        'kind',
        'rule',
        'sale_amount',
        'amount',
        'currency',
        'amount_minor',
        'payable_at',
        'paid_at',
        'payout_id',
        'customer',
      ];
      return [
        header,
        ...rows.map((r) => {
          const c = toPartnerCommission(r);
          return [
            c.id,
            c.createdAt,
            c.status,
            c.kind,
            c.rule.description,
            r.sale_amount === null ? '' : formatDecimal(r.sale_amount, r.sale_currency ?? c.currency),
            formatDecimal(c.amount, c.currency),
            c.currency.toUpperCase(),
            String(c.amount),
            c.payableAt,
            c.paidAt ?? '',
            c.payoutId ?? '',
            c.customer ?? '',
          ];
        }),
      ];
    },

    /**
     * Payout history (newest first), the balance that can be paid out per currency (as in `overview`), the
     * next scheduled payout run, the payout method on file, and whether a payout can be requested now (a
     * method on file and, in some currency, a balance ≥ the minimum with no payout already open).
     */
    async payouts(partner: AuthenticatedPartner, query: unknown) {
      const page = parseInput(pageInput, query);
      const at = now();
      const [a, program, list, money, open] = await Promise.all([
        requireAffiliate(db, partner),
        requireProgram(db, partner),
        queries.listPayouts(db, partner.affiliateId, page),
        moneyByCurrency(db, partner.affiliateId, maturingUntil(at)),
        queries.openPayoutsByCurrency(db, partner.affiliateId),
      ]);
      const balance = payoutBalances(program, money);
      const openIn = new Set(open.map((o) => o.currency));
      return {
        data: list.rows.map((p) => ({ ...toPartnerPayout(p), commissions: Number(p.commissions ?? 0) })),
        total: list.total,
        limit: page.limit,
        offset: page.offset,
        balance,
        minimum: { amount: program.min_payout_amount, currency: program.currency },
        nextPayoutDate: nextPayoutRun(program, at),
        payoutMethod: a.payout_method
          ? { method: a.payout_method, summary: payoutSummary(a.payout_method, a.payout_details ?? {}) }
          : null,
        openPayouts: open.reduce((n, o) => n + o.n, 0),
        canRequest: a.payout_method !== null && balance.some((b) => b.reachesMinimum && !openIn.has(b.currency)),
      };
    },

    /** One payout of the affiliate with the commissions it settles. @throws NotFoundError */
    async payout(partner: AuthenticatedPartner, id: string) {
      const p = id.length <= 100 ? await queries.findPayout(db, partner.affiliateId, id) : undefined;
      if (!p) throw new NotFoundError('Payout');
      const commissions = await queries.commissionsOfPayout(db, partner.affiliateId, p.id);
      return {
        payout: toPartnerPayout(p),
        commissions: commissions.map(toPartnerCommission),
      };
    },
  };
}
export type ActivityService = ReturnType<typeof createActivityService>;
