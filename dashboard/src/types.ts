/**
 * Shapes of the partner API, taken from the server's own schemas (`server/partner/partner.schemas.ts`, held to
 * the services' return types at compile time) rather than kept here by hand. Money: integer minor units + currency.
 * Type-only: nothing of the server reaches the bundle.
 */
import type { z } from 'zod';
import type {
  earningsShape,
  linksShape,
  meShape,
  overviewShape,
  partnerCommissionShape,
  partnerLinkShape,
  partnerResponses,
  payoutBalanceShape,
  payoutSettingsShape,
  publicProgramShape,
  referralShape,
  statsShape,
} from '../../server/partner/partner.schemas.ts';
import type { connectStatusShape, partnerYearShape } from '../../server/payouts/earnings.schemas.ts';
import type { taxInfoShape } from '../../server/partner/tax-info.schemas.ts';

export interface Money {
  amount: number;
  currency: string;
}

export type Me = z.output<typeof meShape>;
/** Commission sums per currency, as the payouts engine counts them. */
export type Earnings = z.output<typeof earningsShape>;
/** What a payout may take now in one currency. */
export type Balance = z.output<typeof payoutBalanceShape>;
export type Overview = z.output<typeof overviewShape>;
export type Stats = z.output<typeof statsShape>;
export type Link = z.output<typeof partnerLinkShape>;
export type Links = z.output<typeof linksShape>;
export type Referral = z.output<typeof referralShape>;
export type Commission = z.output<typeof partnerCommissionShape>;
export type Payouts = z.output<typeof partnerResponses.payouts>;
/** A payout in the history (with the number of commissions it settles). */
export type Payout = Payouts['data'][number];
export type PayoutSettings = z.output<typeof payoutSettingsShape>;
export type PublicProgram = z.output<typeof publicProgramShape>;

/** A page of a list answer. */
export interface Page<T> {
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

/** `GET /api/v1/partner/email-preferences`: one kind of e-mail and whether the partner receives it. */
export interface EmailPreference {
  kind: string;
  label: string;
  subscribed: boolean;
}
/** `GET /earnings?year=`: paid in the year (payouts completed in it, UTC) and not yet paid, per currency. */
export type YearEarnings = z.output<typeof partnerYearShape>;
/** `GET /tax-info`: the tax id is always masked (`•••• 6789`). */
export type TaxInfo = z.output<typeof taxInfoShape>;
/** `GET /stripe-connect`: the partner's Stripe account status. */
export type StripeConnectStatus = z.output<typeof connectStatusShape>;
