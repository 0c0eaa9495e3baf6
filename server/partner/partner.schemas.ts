/**
 * The public shapes of the partner API (what `/api/v1/partner/...` answers), for the OpenAPI document and for the
 * partner dashboard, which takes its types from here (`dashboard/src/types.ts`) instead of a copy of its own.
 *
 * This file is imported by browser code: it may import only `zod` and `lib/schemas.ts` (no service, no Node
 * module), so the dashboard's compiler never walks into the server. That each shape is exactly what the services
 * return is checked at compile time in `partner.schemas.check.ts`. Money: integer minor units + currency.
 */
import { z } from 'zod';
import { brandingShape, currencyOut, isoInstant, minorAmount } from '../lib/schemas.ts';

const money = z.strictObject({ amount: minorAmount, currency: currencyOut });
const commissionStatus = z.enum(['pending', 'on_hold', 'approved', 'paid', 'rejected', 'reversed']);
const commissionKind = z.enum(['sale', 'recurring', 'lead', 'clawback']);
const partnerPayoutMethod = z.enum(['paypal', 'bank_transfer', 'stripe_connect']);
const page = { total: z.int(), limit: z.int(), offset: z.int() };

/** `GET /api/v1/partner/me`: who is logged in, the program's terms, the default link and the CSRF token. */
export const meShape = z.strictObject({
  affiliate: z.strictObject({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    code: z.string(),
    status: z.enum(['pending', 'approved', 'rejected', 'suspended']),
    website: z.string().nullable(),
    payoutMethod: partnerPayoutMethod.nullable(),
  }),
  program: z.strictObject({
    id: z.string(),
    name: z.string(),
    website: z.string(),
    currency: currencyOut,
    minPayoutAmount: minorAmount,
    defaultRateBps: z.int(),
    holdDays: z.int(),
    cookieDays: z.int(),
    branding: brandingShape,
  }),
  referralLink: z.string(),
  linkBase: z.string(),
  csrfToken: z.string(),
});

/** Commission sums in one currency, as the payouts engine counts them. */
export const earningsShape = z.strictObject({
  currency: currencyOut,
  /** In the hold period. */
  pending: minorAmount,
  /** Held by a fraud check or a dispute. */
  onHold: minorAmount,
  /** Approved, not yet in a payout. */
  approved: minorAmount,
  /** Outstanding clawbacks (≤ 0), netted into the next payout. */
  clawbacks: minorAmount,
  /** In a payout on its way. */
  inPayouts: minorAmount,
  paid: minorAmount,
});

/** What a payout may take now in one currency, what matures soon, and the minimum there. */
export const payoutBalanceShape = z.strictObject({
  currency: currencyOut,
  amount: minorAmount,
  maturing: minorAmount,
  minimum: minorAmount,
  reachesMinimum: z.boolean(),
});

/** `GET /api/v1/partner/overview`. `conversionRate`: customers ÷ clicks (0..1), null without clicks. */
export const overviewShape = z.strictObject({
  clicks: z.int(),
  leads: z.int(),
  customers: z.int(),
  conversions: z.int(),
  conversionRate: z.number().nullable(),
  revenue: z.array(money),
  earnings: z.array(earningsShape),
  nextPayout: z.array(payoutBalanceShape),
  /** The program's next scheduled payout run (ISO 8601), or null. */
  nextPayoutDate: isoInstant.nullable(),
});

/** `GET /api/v1/partner/stats`: arrays aligned with `dates` (local days in `timeZone`). */
export const statsShape = z.strictObject({
  days: z.int(),
  timeZone: z.string(),
  dates: z.array(z.string()),
  clicks: z.array(z.int()),
  sales: z.array(z.int()),
  earnings: z.array(z.strictObject({ currency: currencyOut, amounts: z.array(minorAmount) })),
});

export const partnerLinkShape = z.strictObject({
  id: z.string(),
  slug: z.string(),
  url: z.string(),
  destinationUrl: z.string(),
  campaign: z.string().nullable(),
  clicks: z.int(),
  conversions: z.int(),
  createdAt: isoInstant,
});

/** `GET /api/v1/partner/links`: the default `?ref=` link and the tracking links. */
export const linksShape = z.strictObject({
  defaultLink: z.strictObject({ url: z.string(), clicks: z.int(), conversions: z.int() }),
  links: z.array(partnerLinkShape),
  maxLinks: z.int(),
});

/** A referred person (e-mail masked) with their sales and the commission each earned. */
export const referralShape = z.strictObject({
  id: z.string(),
  status: z.enum(['visitor', 'lead', 'customer']),
  customer: z.string().nullable(),
  since: isoInstant,
  revenue: z.array(money),
  sales: z.array(
    z.strictObject({
      id: z.string(),
      amount: minorAmount,
      currency: currencyOut,
      occurredAt: isoInstant,
      commission: z
        .strictObject({ id: z.string(), amount: minorAmount, currency: currencyOut, status: commissionStatus })
        .nullable(),
    }),
  ),
});

/** A commission as the affiliate sees it; `rule` says how the amount was computed. */
export const partnerCommissionShape = z.strictObject({
  id: z.string(),
  amount: minorAmount,
  currency: currencyOut,
  kind: commissionKind,
  status: commissionStatus,
  rule: z.strictObject({
    kind: commissionKind,
    /** The merchant's name of the rule that set the amount; null = the program's default rate. */
    name: z.string().nullable(),
    rateBps: z.int().nullable(),
    base: money.nullable(),
    description: z.string(),
  }),
  /** The referred customer's e-mail, masked (`ja•••@e•••.com`), or null. */
  customer: z.string().nullable(),
  saleAt: isoInstant.nullable(),
  /** When the hold period ends. */
  payableAt: isoInstant,
  approvedAt: isoInstant.nullable(),
  paidAt: isoInstant.nullable(),
  payoutId: z.string().nullable(),
  reason: z.string().nullable(),
  createdAt: isoInstant,
});

/** `GET /api/v1/partner/commissions/:id`: one commission and its status history. */
export const commissionDetailShape = z.strictObject({
  commission: partnerCommissionShape,
  history: z.array(
    z.strictObject({
      from: commissionStatus.nullable(),
      to: commissionStatus,
      amount: minorAmount,
      actor: z.enum(['system', 'merchant', 'affiliate', 'stripe']),
      reason: z.string().nullable(),
      at: isoInstant,
    }),
  ),
});

/** A payout as the affiliate sees it (no batch or transfer internals). */
export const partnerPayoutShape = z.strictObject({
  id: z.string(),
  amount: minorAmount,
  currency: currencyOut,
  status: z.enum(['pending', 'processing', 'completed', 'failed']),
  method: z.enum(['paypal', 'bank_transfer', 'store_credit', 'check', 'stripe_connect']),
  reference: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: isoInstant,
  completedAt: isoInstant.nullable(),
});

/** `GET /api/v1/partner/payouts`: history, balances, the next run, the method on file, whether one can be asked. */
export const payoutsShape = z.strictObject({
  data: z.array(partnerPayoutShape.extend({ commissions: z.int() })),
  ...page,
  balance: z.array(payoutBalanceShape),
  minimum: money,
  nextPayoutDate: isoInstant.nullable(),
  payoutMethod: z.strictObject({ method: partnerPayoutMethod, summary: z.string() }).nullable(),
  openPayouts: z.int(),
  canRequest: z.boolean(),
});

/** `GET /api/v1/partner/payouts/:id`: one payout with the commissions it settles. */
export const payoutDetailShape = z.strictObject({
  payout: partnerPayoutShape,
  commissions: z.array(partnerCommissionShape),
});

/** `GET|PUT /api/v1/partner/payout-settings`: the payout method (details as entered), or all null when none is set. */
export const payoutSettingsShape = z.union([
  z.strictObject({ method: z.null(), details: z.null(), summary: z.null(), updatedAt: z.null() }),
  z.strictObject({
    method: partnerPayoutMethod,
    details: z.record(z.string(), z.string()),
    summary: z.string(),
    updatedAt: isoInstant.nullable(),
  }),
]);

/** `GET /api/v1/partner/programs/:id`: what the apply page shows of a program. */
export const publicProgramShape = z.strictObject({
  id: z.string(),
  name: z.string(),
  website: z.string(),
  currency: currencyOut,
  defaultRateBps: z.int(),
  cookieDays: z.int(),
  branding: brandingShape,
});

/** Every partner answer, by operation (`method path` as in the OpenAPI document). */
export const partnerResponses = {
  me: meShape,
  overview: overviewShape,
  stats: statsShape,
  links: linksShape,
  link: z.strictObject({ link: partnerLinkShape }),
  referrals: z.strictObject({ data: z.array(referralShape), ...page }),
  commissions: z.strictObject({ data: z.array(partnerCommissionShape), ...page }),
  commission: commissionDetailShape,
  payouts: payoutsShape,
  payout: payoutDetailShape,
  payoutSettings: payoutSettingsShape,
  program: z.strictObject({ program: publicProgramShape }),
};
