/**
 * `GET /api/v1/stats`: the merchant's program at a glance. Clicks, referrals and sales cover the last `days`
 * days (all time when omitted); commissions are the current balances per currency (minor units), with the
 * same buckets the payouts engine and the partner dashboard use (`commissions/balances.ts`).
 */
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { ProgramRow } from '../db/schema.ts';
import { parseInput } from '../lib/validate.ts';
import { commissionBalances } from '../commissions/balances.ts';
import * as repo from './stats.repository.ts';

export const statsInput = z.object({ days: z.coerce.number().int().min(1).max(3650).optional() });

const BUCKETS = ['pending', 'on_hold', 'approved', 'clawbacks', 'in_payouts', 'paid', 'balance'] as const;

export function createStatsService(deps: { db: Db; now?: () => Date }) {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    /** @throws ValidationError on a bad `days` */
    async stats(program: ProgramRow, query: unknown) {
      const { days } = parseInput(statsInput, query);
      const since = days ? new Date(now().getTime() - days * 86_400_000) : null;
      const [funnel, affiliates, sales, balances] = await Promise.all([
        repo.funnel(db, program.id, since),
        repo.affiliatesByStatus(db, program.id),
        repo.salesByCurrency(db, program.id, since),
        commissionBalances(db, { programId: program.id }),
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
  };
}
export type StatsService = ReturnType<typeof createStatsService>;
