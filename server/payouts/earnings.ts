/**
 * Statements and yearly earnings (issue 22, "statements and tax"):
 * - a partner's statement of one payout (its commissions with their conversion dates, amounts and currency, the
 *   payout's dates, the program's name), as CSV rows and as the data of a printable page (`statement-html.ts`);
 * - a partner's yearly summary per currency: paid in the year (payouts completed in it), and the commissions of the
 *   year not paid yet (pending, approved);
 * - the merchant's yearly export per affiliate and currency: legal name, country, masked tax id, e-mail, total paid
 *   (what a US merchant files a 1099-NEC with: https://www.irs.gov/forms-pubs/about-form-1099-nec).
 * Years are calendar years in UTC: `[YYYY-01-01T00:00Z, YYYY+1-01-01T00:00Z)`; a payout belongs to the year it was
 * completed in. Amounts are minor units of their currency; nothing is converted between currencies.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { PayoutMethod, PayoutStatus } from '../db/schema.ts';
import { NotFoundError } from '../lib/errors.ts';
import { parseInput } from '../lib/validate.ts';
import { toDecimalString } from '../commissions/money.ts';
import { requireAffiliate, requireProgram, type AuthenticatedPartner } from '../partner/access/access.service.ts';
import * as activity from '../partner/portal/activity.queries.ts';
import { commissionRule } from '../partner/portal/partner.format.ts';
import { maskTaxId, type TaxInfoService } from '../partner/tax-info.service.ts';

/** `?year=YYYY`; default: the current year (UTC). */
export const yearInput = z.object({ year: z.coerce.number().int().min(2000).max(2100).optional() });

/** The UTC bounds of a calendar year: `[from, to)`. */
export function yearBounds(year: number): { from: Date; to: Date } {
  return { from: new Date(Date.UTC(year, 0, 1)), to: new Date(Date.UTC(year + 1, 0, 1)) };
}

/** One commission line of a statement. Amount in minor units of `currency`. */
export interface StatementLine {
  commissionId: string;
  kind: string;
  description: string;
  /** When the sale (the conversion) happened, ISO 8601; null for a commission without one. */
  conversionAt: string | null;
  amount: number;
  currency: string;
}

/** A payout statement: who was paid what, for which commissions. */
export interface Statement {
  program: { name: string };
  affiliate: { name: string; email: string; legalName: string | null; country: string | null; taxId: string | null };
  payout: {
    id: string;
    amount: number;
    currency: string;
    status: PayoutStatus;
    method: PayoutMethod;
    reference: string | null;
    createdAt: string;
    completedAt: string | null;
  };
  lines: StatementLine[];
}

/** A partner's year, per currency (minor units). */
export interface PartnerYear {
  year: number;
  data: {
    currency: string;
    /** Payouts completed in the year. */
    paid: number;
    payouts: number;
    /** Commissions created in the year still in their hold period (or held). */
    pending: number;
    /** Commissions created in the year approved, not paid yet (in a payout on its way, or not yet in one). */
    approved: number;
  }[];
}

/** One row of the merchant's yearly export. */
export interface YearlyEarningsRow {
  affiliateId: string;
  name: string;
  email: string;
  legalName: string | null;
  country: string | null;
  /** Masked (`•••• 6789`), or null when the partner gave none. */
  taxId: string | null;
  currency: string;
  /** Minor units paid in the year (payouts completed in it). */
  totalPaid: number;
  payouts: number;
}

export function createEarningsService(deps: { db: Db; taxInfo: Pick<TaxInfoService, 'taxInfo'>; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const yearOf = (query: unknown) => parseInput(yearInput, query).year ?? now().getUTCFullYear();

  const service = {
    /**
     * The statement of one payout of the logged-in partner.
     * @throws NotFoundError `payout_not_found` when it is absent or another affiliate's
     */
    async statement(partner: AuthenticatedPartner, payoutId: string): Promise<Statement> {
      const p = payoutId.length <= 100 ? await activity.findPayout(db, partner.affiliateId, payoutId) : undefined;
      if (!p) throw new NotFoundError('Payout', 'payout_not_found');
      const [a, program, tax, commissions] = await Promise.all([
        requireAffiliate(db, partner),
        requireProgram(db, partner),
        deps.taxInfo.taxInfo(partner),
        activity.commissionsOfPayout(db, partner.affiliateId, p.id),
      ]);
      return {
        program: { name: program.name },
        affiliate: { name: a.name, email: a.email, legalName: tax.legalName, country: tax.country, taxId: tax.taxId },
        payout: {
          id: p.id,
          amount: p.amount,
          currency: p.currency,
          status: p.status,
          method: p.method,
          reference: p.reference,
          createdAt: p.created_at.toISOString(),
          completedAt: p.completed_at?.toISOString() ?? null,
        },
        lines: commissions.map((c) => ({
          commissionId: c.id,
          kind: c.kind,
          description: commissionRule(c).description,
          conversionAt: c.sale_at?.toISOString() ?? null,
          amount: c.amount,
          currency: c.currency,
        })),
      };
    },

    /**
     * The statement as CSV rows (header first; cells not yet guarded against formulas: the route does that).
     * Amounts twice: decimal in the currency (`19.99`) and minor units (`1999`).
     */
    statementCsvRows(s: Statement): string[][] {
      const payoutCells = [
        s.program.name,
        s.payout.id,
        s.payout.createdAt,
        s.payout.completedAt ?? '',
        s.payout.status,
      ];
      return [
        [
          'program',
          'payout_id',
          'payout_created_at',
          'payout_completed_at',
          'payout_status',
          'commission_id',
          'conversion_at',
          'kind',
          'description',
          'amount',
          'currency',
          'amount_minor',
        ],
        ...s.lines.map((l) => [
          ...payoutCells,
          l.commissionId,
          l.conversionAt ?? '',
          l.kind,
          l.description,
          toDecimalString(l.amount, l.currency),
          l.currency.toUpperCase(),
          String(l.amount),
        ]),
        [
          ...payoutCells,
          'total',
          '',
          '',
          '',
          toDecimalString(s.payout.amount, s.payout.currency),
          s.payout.currency.toUpperCase(),
          String(s.payout.amount),
        ],
      ];
    },

    /** The logged-in partner's year: paid (by payout completion date, UTC) and not yet paid, per currency. */
    async partnerYear(partner: AuthenticatedPartner, query: unknown): Promise<PartnerYear> {
      const year = yearOf(query);
      const { from, to } = yearBounds(year);
      const [paid, open] = await Promise.all([
        db
          .selectFrom('payouts')
          .select((eb) => ['currency', sql<string>`sum(amount)`.as('paid'), eb.fn.countAll<string>().as('payouts')])
          .where('affiliate_id', '=', partner.affiliateId)
          .where('status', '=', 'completed')
          .where('completed_at', '>=', from)
          .where('completed_at', '<', to)
          .groupBy('currency')
          .execute(),
        db
          .selectFrom('commissions')
          .select([
            'currency',
            sql<string>`coalesce(sum(amount) FILTER (WHERE status IN ('pending', 'on_hold')), 0)`.as('pending'),
            sql<string>`coalesce(sum(amount) FILTER (WHERE status = 'approved'), 0)`.as('approved'),
          ])
          .where('affiliate_id', '=', partner.affiliateId)
          .where('status', 'in', ['pending', 'on_hold', 'approved'])
          .where('created_at', '>=', from)
          .where('created_at', '<', to)
          .groupBy('currency')
          .execute(),
      ]);
      const by = new Map<string, PartnerYear['data'][number]>();
      const row = (currency: string) => {
        const known = by.get(currency);
        if (known) return known;
        const r = { currency, paid: 0, payouts: 0, pending: 0, approved: 0 };
        by.set(currency, r);
        return r;
      };
      for (const p of paid) Object.assign(row(p.currency), { paid: Number(p.paid), payouts: Number(p.payouts) });
      for (const o of open)
        Object.assign(row(o.currency), { pending: Number(o.pending), approved: Number(o.approved) });
      return { year, data: [...by.values()].sort((a, b) => a.currency.localeCompare(b.currency)) };
    },

    /**
     * The program's year per affiliate and currency: what was paid (payouts completed in the year, UTC) with the
     * partner's legal name, country and masked tax id, ordered by affiliate e-mail.
     */
    async yearly(programId: string, query: unknown): Promise<{ year: number; data: YearlyEarningsRow[] }> {
      const year = yearOf(query);
      const { from, to } = yearBounds(year);
      const rows = await db
        .selectFrom('payouts as p')
        .innerJoin('affiliates as a', 'a.id', 'p.affiliate_id')
        .leftJoin('affiliate_tax_info as t', (j) =>
          j.onRef('t.affiliate_id', '=', 'p.affiliate_id').onRef('t.program_id', '=', 'p.program_id'),
        )
        .select((eb) => [
          'p.affiliate_id',
          'a.name',
          'a.email',
          't.legal_name',
          't.country',
          't.tax_id_last4',
          'p.currency',
          sql<string>`sum(p.amount)`.as('total'),
          eb.fn.countAll<string>().as('payouts'),
        ])
        .where('p.program_id', '=', programId)
        .where('p.status', '=', 'completed')
        .where('p.completed_at', '>=', from)
        .where('p.completed_at', '<', to)
        .groupBy(['p.affiliate_id', 'a.name', 'a.email', 't.legal_name', 't.country', 't.tax_id_last4', 'p.currency'])
        .orderBy('a.email')
        .orderBy('p.currency')
        .execute();
      return {
        year,
        data: rows.map((r) => ({
          affiliateId: r.affiliate_id,
          name: r.name,
          email: r.email,
          legalName: r.legal_name,
          country: r.country,
          taxId: r.tax_id_last4 === null ? null : maskTaxId(r.tax_id_last4),
          currency: r.currency,
          totalPaid: Number(r.total),
          payouts: Number(r.payouts),
        })),
      };
    },

    /** The yearly export as CSV rows (header first; the route guards cells against formulas). */
    async yearlyCsvRows(programId: string, query: unknown): Promise<{ year: number; rows: string[][] }> {
      const { year, data } = await service.yearly(programId, query);
      return {
        year,
        rows: [
          [
            'year',
            'affiliate_id',
            'legal_name',
            'country',
            'tax_id',
            'name',
            'email',
            'currency',
            'total_paid',
            'total_paid_minor',
            'payouts',
          ],
          ...data.map((r) => [
            String(year),
            r.affiliateId,
            r.legalName ?? '',
            r.country ?? '',
            r.taxId ?? '',
            r.name,
            r.email,
            r.currency.toUpperCase(),
            toDecimalString(r.totalPaid, r.currency),
            String(r.totalPaid),
            String(r.payouts),
          ]),
        ],
      };
    },
  };
  return service;
}
export type EarningsService = ReturnType<typeof createEarningsService>;
