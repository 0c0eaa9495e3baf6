/**
 * The partner portal's summary reads: who is logged in (`me`), the affiliate's numbers (`overview`) and its daily
 * series (`stats`). Overview and stats are coalesced: concurrent callers for the same affiliate (and period) share
 * one computation. Every read takes the affiliate from the authenticated session (`AuthenticatedPartner`).
 */
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { ProgramRow } from '../../db/schema.ts';
import { UnauthorizedError } from '../../lib/errors.ts';
import { parseInput } from '../../lib/validate.ts';
import { coalesced } from '../../lib/coalesce.ts';
import { referralLink } from '../../affiliates/affiliates.service.ts';
import { leadCount } from '../../programs/stats.repository.ts';
import { toBranding } from '../../programs/branding.ts';
import { minimumPayout } from '../../payouts/payouts.service.ts';
import { requireAffiliate, requireProgram, type AuthenticatedPartner } from '../access/access.service.ts';
import * as queries from './portal.queries.ts';

const DAY_MS = 86_400_000;
/** How far ahead "becomes payable soon" looks in the next-payout estimate. */
export const MATURING_DAYS = 30;
/** Above this many clicks in the chart's period, days are UTC days from the rollup instead of local days. */
export const LOCAL_DAYS_MAX_CLICKS = 50_000;

export const statsInput = z.object({
  days: z.coerce
    .number()
    .pipe(z.union([z.literal(7), z.literal(30), z.literal(90)], { error: 'must be 7, 30 or 90' }))
    .default(30),
  tz: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_+\-/]+$/, 'must be an IANA time zone')
    .refine(isTimeZone, 'must be an IANA time zone')
    .default('UTC'),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Per currency: what a payout may take now (`amount`), what matures within `MATURING_DAYS`, and the minimum
 * payout in that currency (the payouts engine's `minimumPayout`). Currencies with nothing are left out, except
 * the program's own. Money in minor units.
 */
export function payoutBalances(program: ProgramRow, money: queries.MoneyRow[]) {
  return money
    .map((m) => {
      const amount = m.balance;
      const minimum = minimumPayout(program, m.currency);
      return {
        currency: m.currency,
        amount,
        maturing: m.maturing,
        minimum,
        reachesMinimum: amount > 0 && amount >= minimum,
      };
    })
    .filter((b) => b.amount !== 0 || b.maturing !== 0 || b.currency === program.currency);
}

/** The next run of the program's payout schedule (cron, UTC) after `at`, ISO 8601, or null when unreadable. */
export function nextPayoutRun(program: ProgramRow, at: Date): string | null {
  try {
    return CronExpressionParser.parse(program.payout_schedule, { currentDate: at, tz: 'UTC' })
      .next()
      .toDate()
      .toISOString();
  } catch {
    return null;
  }
}

/** The end of the "maturing" window of the next-payout estimate, from `at`. */
export const maturingUntil = (at: Date) => new Date(at.getTime() + MATURING_DAYS * DAY_MS);

export function createPortalService(deps: { db: Db; config: Config; now?: () => Date }) {
  const { db, config } = deps;
  const now = deps.now ?? (() => new Date());

  /**
   * Daily series of one affiliate (see `stats`), key `affiliateId|days|tz`; concurrent callers share one
   * computation. Outside UTC, clicks are counted from the clicks themselves; above `LOCAL_DAYS_MAX_CLICKS` in
   * the period that is too slow, so the days fall back to UTC days (from the rollup) and `timeZone` says so.
   */
  const statsOf = coalesced(async (key: string) => {
    const [affiliateId, daysText, tz] = key.split('|') as [string, string, string];
    const days = Number(daysText);
    const at = now();
    const zone =
      tz !== 'UTC' && (await queries.recentRollupClicks(db, affiliateId, at, days)) > LOCAL_DAYS_MAX_CLICKS
        ? 'UTC'
        : tz;
    const { counts, earnings } = await queries.dailySeries(db, affiliateId, at, days, zone);
    const dates = counts.map((r) => r.day);
    const index = new Map(dates.map((d, i) => [d, i]));
    const perCurrency = new Map<string, number[]>();
    for (const e of earnings) {
      let arr = perCurrency.get(e.currency);
      if (!arr) {
        arr = dates.map(() => 0);
        perCurrency.set(e.currency, arr);
      }
      arr[index.get(e.day)!] = e.amount;
    }
    return {
      days,
      timeZone: zone,
      dates,
      clicks: counts.map((r) => Number(r.clicks)),
      sales: counts.map((r) => Number(r.sales)),
      earnings: [...perCurrency.entries()]
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([currency, amounts]) => ({ currency, amounts })),
    };
  });

  /** The overview of one affiliate (see `overview`); concurrent callers share one computation. */
  const overviewOf = coalesced(async (affiliateId: string) => {
    const at = now();
    // Independent reads on separate connections: the overview takes as long as the slowest, not the sum.
    const [program, funnel, leads, sales, money] = await Promise.all([
      queries.programOfAffiliate(db, affiliateId),
      queries.funnelCounts(db, affiliateId),
      // The same function as the admin API's `/api/v1/stats`: one definition of a lead.
      leadCount(db, { affiliateId }),
      queries.salesByCurrency(db, affiliateId),
      queries.moneyByCurrency(db, affiliateId, maturingUntil(at)),
    ]);
    if (!program) throw new UnauthorizedError('Log in first', 'not_logged_in');
    return {
      clicks: funnel.clicks,
      leads,
      customers: funnel.customers,
      conversions: sales.reduce((sum, x) => sum + x.n, 0),
      conversionRate: funnel.clicks > 0 ? funnel.customers / funnel.clicks : null,
      revenue: sales.map((x) => ({ currency: x.currency, amount: x.revenue })),
      earnings: money.map((m) => ({
        currency: m.currency,
        pending: m.pending,
        onHold: m.on_hold,
        approved: m.approved,
        clawbacks: m.clawbacks,
        inPayouts: m.in_payouts,
        paid: m.paid,
      })),
      nextPayout: payoutBalances(program, money),
      nextPayoutDate: nextPayoutRun(program, at),
    };
  });

  return {
    /** Who is logged in: affiliate, program (with its terms), default referral link and the CSRF token. */
    async me(partner: AuthenticatedPartner) {
      const [a, p] = await Promise.all([requireAffiliate(db, partner), requireProgram(db, partner)]);
      return {
        affiliate: {
          id: a.id,
          name: a.name,
          email: a.email,
          code: a.code,
          status: a.status,
          website: a.website,
          payoutMethod: a.payout_method,
        },
        program: {
          id: p.id,
          name: p.name,
          website: p.website,
          currency: p.currency,
          minPayoutAmount: p.min_payout_amount,
          defaultRateBps: p.default_rate_bps,
          holdDays: p.hold_days,
          cookieDays: p.cookie_days,
          branding: toBranding(p),
        },
        referralLink: referralLink(p.website, a.code),
        linkBase: `${config.publicUrl}/r/`,
        csrfToken: partner.csrfToken,
      };
    },

    /**
     * The affiliate's numbers (counts; money in minor units per currency):
     * - `clicks`; `leads` (referred visitors who signed up, once per person: `leadCount` in `programs/stats.repository.ts`,
     *   the admin API's definition too); `customers` (referrals with status
     *   `customer`); `conversions` (sale conversions);
     * - `conversionRate` = customers ÷ clicks (0..1), null without clicks;
     * - `revenue`: referred sales net of refunds;
     * - `earnings`: `pending` (hold period), `onHold` (fraud check or dispute), `approved` (not yet in a payout),
     *   `clawbacks` (outstanding, ≤ 0), `inPayouts` (in an open payout), `paid` — as the payouts engine counts;
     * - `nextPayout`: what a payout may take now (`amount` = approved + clawbacks), what becomes payable within
     *   `MATURING_DAYS` days (`maturing`), the minimum payout in that currency, and whether it is reached;
     *   `nextPayoutDate`: the program's next scheduled payout run (UTC), or null.
     */
    async overview(partner: AuthenticatedPartner) {
      return overviewOf(partner.affiliateId);
    },

    /**
     * Clicks, sale conversions and earnings (commissions not rejected or reversed, on the day of their sale)
     * per local day for the last 7, 30 or 90 days in the time zone `tz` (default UTC; UTC days when the
     * period has more than `LOCAL_DAYS_MAX_CLICKS` clicks — `timeZone` tells which).
     * @returns `{ days, timeZone, dates[], clicks[], sales[], earnings: [{ currency, amounts[] }] }`, arrays aligned with `dates`
     */
    async stats(partner: AuthenticatedPartner, query: unknown) {
      const q = parseInput(statsInput, query);
      return statsOf(`${partner.affiliateId}|${q.days}|${q.tz}`);
    },
  };
}
export type PortalService = ReturnType<typeof createPortalService>;
