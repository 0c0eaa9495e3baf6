/**
 * `GET /api/v1/stats`: the merchant's program at a glance. Clicks, referrals and sales cover the last `days`
 * days (all time when omitted); commissions are the current balances per currency (minor units), with the
 * same buckets the payouts engine and the partner dashboard use (`commissions/balances.ts`).
 */
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { idFilter, parseInput } from '../lib/validate.ts';
import { commissionBalances } from '../commissions/balances.ts';
import * as repo from './stats.repository.ts';

export const statsInput = z.object({ days: z.coerce.number().int().min(1).max(3650).optional() });

/** `GET /api/v1/stats`: `statsInput`, and `affiliateId` to count one affiliate's clicks, funnel, sales, commissions. */
export const programStatsInput = statsInput.extend({ affiliateId: idFilter });

const BUCKETS = ['pending', 'on_hold', 'approved', 'clawbacks', 'in_payouts', 'paid', 'balance'] as const;

export function createStatsService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    /**
     * With `affiliateId` (the console's affiliate page) clicks, funnel, sales and commissions are that affiliate's
     * (zeros for an id not in the program); `affiliates` still counts the program's.
     * @throws ValidationError on a bad `days` or `affiliateId`
     */
    async stats(program: ProgramRow, query: unknown) {
      const { days, affiliateId: filter } = parseInput(programStatsInput, query);
      const affiliateId = filter || undefined;
      const since = days ? new Date(now().getTime() - days * 86_400_000) : null;
      const [funnel, affiliates, sales, balances] = await Promise.all([
        repo.funnel(db, program.id, since, affiliateId),
        repo.affiliatesByStatus(db, program.id),
        repo.salesByCurrency(db, program.id, since, affiliateId),
        commissionBalances(db, { programId: program.id, affiliateId }),
      ]);
      const commissions = new Map<string, Record<(typeof BUCKETS)[number], number> & { currency: string }>();
      for (const b of balances) {
        const c = commissions.get(b.currency) ?? {
          currency: b.currency,
          pending: 0,
          on_hold: 0,
          approved: 0,
          clawbacks: 0,
          in_payouts: 0,
          paid: 0,
          balance: 0,
        };
        for (const k of BUCKETS) c[k] += b[k];
        commissions.set(b.currency, c);
      }
      return {
        period: { days: days ?? null, since: since?.toISOString() ?? null },
        affiliates: Object.fromEntries(affiliates.map((a) => [a.status, Number(a.n)])),
        ...funnel,
        conversionRate: funnel.clicks > 0 ? funnel.customers / funnel.clicks : 0,
        sales,
        commissions: [...commissions.values()]
          .sort((a, b) => a.currency.localeCompare(b.currency))
          .map((c) => ({
            currency: c.currency,
            pending: c.pending,
            onHold: c.on_hold,
            approved: c.approved,
            clawbacks: c.clawbacks,
            inPayouts: c.in_payouts,
            paid: c.paid,
            balance: c.balance,
          })),
      };
    },

    /**
     * Per UTC day over the last `days` (default 30, today included): clicks, leads, sales, and revenue and
     * commissions per currency (minor units), with the top affiliates and the top tracking links of the period
     * (`GET /api/v1/stats/daily`).
     * @throws ValidationError on a bad `days`
     */
    async daily(program: ProgramRow, query: unknown): Promise<DailyStats> {
      const days = parseInput(statsInput, query).days ?? 30;
      const today = Date.UTC(now().getUTCFullYear(), now().getUTCMonth(), now().getUTCDate());
      const dates = Array.from({ length: days }, (_, i) =>
        new Date(today - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
      );
      const since = new Date(`${dates[0]}T00:00:00Z`);
      const [clicks, conversions, commissions, top, links] = await Promise.all([
        repo.clicksPerDay(db, program.id, dates[0]!),
        repo.conversionsPerDay(db, program.id, since),
        repo.commissionsPerDay(db, program.id, since),
        repo.topAffiliates(db, program.id, since, dates[0]!, 10),
        repo.topLinks(db, program.id, since, 10),
      ]);
      const index = new Map(dates.map((d, i) => [d, i]));
      const zeros = () => dates.map(() => 0);
      const out: DailyStats = {
        days,
        dates,
        clicks: zeros(),
        leads: zeros(),
        sales: zeros(),
        revenue: [],
        commissions: [],
        topAffiliates: top,
        topLinks: links,
      };
      const perCurrency = (list: DailyStats['revenue'], currency: string) => {
        let entry = list.find((e) => e.currency === currency);
        if (!entry) {
          entry = { currency, amounts: zeros() };
          list.push(entry);
        }
        return entry.amounts;
      };
      for (const c of clicks) if (index.has(c.day)) out.clicks[index.get(c.day)!]! += c.n;
      for (const c of conversions) {
        const i = index.get(c.day);
        if (i === undefined) continue;
        out.leads[i]! += c.leads;
        out.sales[i]! += c.sales;
        if (c.sales > 0) perCurrency(out.revenue, c.currency)[i]! += c.revenue;
      }
      for (const c of commissions) {
        const i = index.get(c.day);
        if (i !== undefined) perCurrency(out.commissions, c.currency)[i]! += c.amount;
      }
      out.revenue.sort((a, b) => a.currency.localeCompare(b.currency));
      out.commissions.sort((a, b) => a.currency.localeCompare(b.currency));
      return out;
    },
  };
}

/** What `GET /api/v1/stats/daily` answers: series aligned with `dates` (UTC days, oldest first). */
export interface DailyStats {
  days: number;
  dates: string[];
  clicks: number[];
  leads: number[];
  sales: number[];
  revenue: { currency: string; amounts: number[] }[];
  commissions: { currency: string; amounts: number[] }[];
  topAffiliates: { id: string; name: string; code: string; clicks: number; sales: number }[];
  /**
   * The 10 tracking links with the most sales in the period (then clicks): clicks through the link, sales of the
   * referrals it brought, and their revenue per currency (minor units).
   */
  topLinks: {
    id: string;
    slug: string;
    campaign: string | null;
    affiliate: { id: string; name: string };
    clicks: number;
    sales: number;
    revenue: { currency: string; amount: number }[];
  }[];
}
export type StatsService = ReturnType<typeof createStatsService>;
