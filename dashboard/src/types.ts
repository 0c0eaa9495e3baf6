/** Shapes of the partner API (`server/partner/partner.service.ts`). Money: integer minor units + currency. */

export interface Money {
  amount: number;
  currency: string;
}

export interface Me {
  affiliate: {
    id: string;
    name: string;
    email: string;
    code: string;
    status: string;
    website: string | null;
    payoutMethod: string | null;
  };
  program: {
    id: string;
    name: string;
    website: string;
    currency: string;
    minPayoutAmount: number;
    defaultRateBps: number;
    holdDays: number;
    cookieDays: number;
  };
  referralLink: string;
  linkBase: string;
  csrfToken: string;
}

/** Commission sums per currency, as the payouts engine counts them. */
export interface Earnings {
  currency: string;
  /** In the hold period. */
  pending: number;
  /** Held by a fraud check or a dispute. */
  onHold: number;
  /** Approved, not yet in a payout. */
  approved: number;
  /** Outstanding clawbacks (≤ 0), netted into the next payout. */
  clawbacks: number;
  /** In a payout on its way. */
  inPayouts: number;
  paid: number;
}

/** What a payout may take now in one currency. */
export interface Balance {
  currency: string;
  amount: number;
  maturing: number;
  minimum: number;
  reachesMinimum: boolean;
}

export interface Overview {
  clicks: number;
  leads: number;
  customers: number;
  conversions: number;
  conversionRate: number | null;
  revenue: Money[];
  earnings: Earnings[];
  nextPayout: Balance[];
  /** The program's next scheduled payout run (ISO 8601), or null. */
  nextPayoutDate: string | null;
}

export interface Stats {
  days: number;
  timeZone: string;
  dates: string[];
  clicks: number[];
  sales: number[];
  earnings: { currency: string; amounts: number[] }[];
}

export interface Link {
  id: string;
  slug: string;
  url: string;
  destinationUrl: string;
  campaign: string | null;
  clicks: number;
  conversions: number;
  createdAt: string;
}

export interface Links {
  defaultLink: { url: string; clicks: number; conversions: number };
  links: Link[];
  maxLinks: number;
}

export interface Page<T> {
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Referral {
  id: string;
  status: 'lead' | 'customer';
  customer: string | null;
  since: string;
  revenue: Money[];
  sales: {
    id: string;
    amount: number;
    currency: string;
    occurredAt: string;
    commission: { id: string; amount: number; currency: string; status: string } | null;
  }[];
}

export interface Commission {
  id: string;
  amount: number;
  currency: string;
  kind: string;
  status: string;
  rule: { kind: string; rateBps: number | null; base: Money | null; description: string };
  customer: string | null;
  saleAt: string | null;
  payableAt: string;
  approvedAt: string | null;
  paidAt: string | null;
  payoutId: string | null;
  reason: string | null;
  createdAt: string;
}

export interface Payout {
  id: string;
  amount: number;
  currency: string;
  status: string;
  method: string;
  reference: string | null;
  failureReason: string | null;
  commissions: number;
  createdAt: string;
  completedAt: string | null;
}

export interface Payouts extends Page<Payout> {
  balance: Balance[];
  minimum: Money;
  nextPayoutDate: string | null;
  payoutMethod: { method: string; summary: string } | null;
  openPayouts: number;
  canRequest: boolean;
}

export interface PayoutSettings {
  method: 'paypal' | 'bank_transfer' | 'stripe_connect' | null;
  details: Record<string, string> | null;
  summary: string | null;
  updatedAt: string | null;
}

export interface PublicProgram {
  id: string;
  name: string;
  website: string;
  currency: string;
  defaultRateBps: number;
  cookieDays: number;
}

/** `GET /earnings?year=`: paid in the year (payouts completed in it, UTC) and not yet paid, per currency. */
export interface YearEarnings {
  year: number;
  data: { currency: string; paid: number; payouts: number; pending: number; approved: number }[];
}

/** `GET /tax-info`: the tax id is always masked (`•••• 6789`). */
export interface TaxInfo {
  legalName: string | null;
  country: string | null;
  taxId: string | null;
  updatedAt: string | null;
}

/** `GET /stripe-connect`. */
export interface StripeConnectStatus {
  status: 'none' | 'ready' | 'needs_information' | 'restricted';
  /** Whether the program pays through Stripe (onboarding is offered only then). */
  available: boolean;
  accountId: string | null;
  country: string | null;
  requirementsDue: string[];
}
