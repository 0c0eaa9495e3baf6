/**
 * Kysely table types, one interface per table of `migrations/`. Row types stay inside services:
 * routes answer with the public shapes the services return.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';

/** A timestamptz: read as Date, written as Date or ISO string. */
/** Optional on insert: columns with a default, or set by the service. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** Required on insert. */
type RequiredTimestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type AttributionModel = 'first_click' | 'last_click';
export type AffiliateStatus = 'pending' | 'approved' | 'rejected' | 'suspended';
export type ReferralStatus = 'visitor' | 'lead' | 'customer';
export type CommissionStatus = 'pending' | 'on_hold' | 'approved' | 'paid' | 'rejected' | 'reversed';
export type CommissionKind = 'sale' | 'recurring' | 'lead' | 'clawback';
export type PayoutStatus = 'pending' | 'processing' | 'completed' | 'failed';
export type PayoutMethod = 'paypal' | 'bank_transfer' | 'store_credit' | 'check' | 'stripe_connect';
/** Where an affiliate wants to be paid (migration 0004); a subset of `PayoutMethod`. */
export type PartnerPayoutMethod = 'paypal' | 'bank_transfer' | 'stripe_connect';
/** `retrying`: the last attempt failed or waited for a sale; `failed`: retries exhausted (migration 0002). */
export type StripeEventStatus = 'received' | 'processed' | 'ignored' | 'retrying' | 'failed';

export interface ProgramsTable {
  id: string;
  name: string;
  website: string;
  currency: Generated<string>;
  public_key: string;
  default_rate_bps: Generated<number>;
  cookie_days: Generated<number>;
  hold_days: Generated<number>;
  attribution_model: Generated<AttributionModel>;
  min_payout_amount: Generated<number>;
  allowed_domains: Generated<string[]>;
  created_at: Timestamp;
  /** Migration 0003: payout schedule (cron, UTC), the last occurrence paid out, fraud limit, Stripe key for transfers. */
  payout_schedule: Generated<string>;
  payouts_generated_for: NullableTimestamp;
  fraud_ip_daily_limit: ColumnType<number | null, number | null | undefined, number | null>;
  /** Sealed (`v1:…`, `lib/secrets.ts`); read it through `programs/program-secrets.ts` `apiKey`. */
  stripe_api_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0029: where the merchant team's e-mails go (null: none are sent). */
  notification_email: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0032: branding — an `https:` logo URL (≤ 2048 characters) and an accent colour `#rrggbb` (lower case). */
  logo_url: ColumnType<string | null, string | null | undefined, string | null>;
  accent_color: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ApiKeysTable {
  id: string;
  program_id: string;
  key_hash: string;
  key_prefix: string;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
  /** Migration 0025: what the merchant called it, and when it last opened the admin API (±1 minute). */
  name: string | null;
  last_used_at: NullableTimestamp;
}

export interface StripeWebhookSecretsTable {
  id: string;
  program_id: string;
  /** Sealed (`v1:…`, `lib/secrets.ts`); read through `programs/program-secrets.ts` `webhookSecrets`. */
  secret: string;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface AffiliatesTable {
  id: string;
  program_id: string;
  code: string;
  email: string;
  name: string;
  status: Generated<AffiliateStatus>;
  password_hash: string | null;
  created_at: Timestamp;
  status_changed_at: Timestamp;
  /** Migration 0004 (partner dashboard): the application, payout method settings, login lockout. */
  website: string | null;
  promotion_method: string | null;
  applied_at: NullableTimestamp;
  payout_method: PartnerPayoutMethod | null;
  payout_details: ColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  payout_updated_at: NullableTimestamp;
  failed_logins: Generated<number>;
  locked_until: NullableTimestamp;
  /** Migration 0031: why the merchant rejected the application (null unless `rejected`). */
  rejection_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface LinksTable {
  id: string;
  program_id: string;
  affiliate_id: string;
  slug: string;
  destination_url: string;
  campaign: string | null;
  created_at: Timestamp;
  /** Migration 0025: retired from the admin API; `/r/<slug>` then redirects without recording a click. */
  archived_at: NullableTimestamp;
}

export interface ReferralsTable {
  id: string;
  program_id: string;
  affiliate_id: string;
  link_id: string | null;
  status: Generated<ReferralStatus>;
  email: string | null;
  stripe_customer_id: string | null;
  created_at: Timestamp;
  last_click_at: Timestamp;
  expires_at: RequiredTimestamp;
}

export interface ClicksTable {
  id: Generated<number>;
  program_id: string;
  affiliate_id: string;
  referral_id: string | null;
  link_id: string | null;
  url: string | null;
  referrer: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
}

/** Migration 0005: clicks per affiliate per UTC day, kept by the click ingest. */
export interface AffiliateDailyClicksTable {
  affiliate_id: string;
  /** `YYYY-MM-DD` (PostgreSQL `date`). */
  day: ColumnType<string, string, string>;
  /** Which concurrent writer's row (readers sum over shards). */
  shard: Generated<number>;
  program_id: string;
  clicks: number;
}

/** Migration 0007: sale conversions per affiliate and currency, kept by triggers on `conversions`. */
export interface AffiliateSalesTotalsTable {
  affiliate_id: string;
  currency: string;
  /** Number of sale conversions (0 once every one is gone; readers skip such rows). */
  sales: number;
  /** Sums of the sales' `amount` and `refunded_amount`, minor units. */
  amount: number;
  refunded_amount: number;
}

/**
 * Migration 0007: commissions per affiliate and balance group (currency, status, in a payout?, negative?),
 * kept by triggers on `commissions`; folded into buckets by `commissions/balances.ts`.
 */
export interface AffiliateCommissionTotalsTable {
  affiliate_id: string;
  currency: string;
  status: CommissionStatus;
  in_payout: boolean;
  negative: boolean;
  /** Number of commissions in the group (0 once every one left it; readers skip such rows). */
  commissions: number;
  /** Sum of their `amount`, minor units. */
  amount: number;
}

/** Migration 0007: referrals in status `lead` / `customer` per affiliate, kept by triggers on `referrals`. */
export interface AffiliateReferralTotalsTable {
  affiliate_id: string;
  status: 'lead' | 'customer';
  referrals: number;
}

export interface ConversionsTable {
  id: string;
  program_id: string;
  affiliate_id: string;
  referral_id: string | null;
  kind: 'sale' | 'lead';
  amount: number;
  currency: string;
  source: 'stripe' | 'api';
  stripe_event_id: string | null;
  stripe_checkout_session_id: string | null;
  stripe_payment_intent_id: string | null;
  stripe_invoice_id: string | null;
  stripe_subscription_id: string | null;
  stripe_customer_id: string | null;
  external_id: string | null;
  customer_email: string | null;
  occurred_at: RequiredTimestamp;
  created_at: Timestamp;
  /** Migration 0002 (Stripe conversions): see the migration's header. */
  sequence: Generated<number>;
  gross_amount: ColumnType<number | null, number | null | undefined, number | null>;
  stripe_charge_id: ColumnType<string | null, string | null | undefined, string | null>;
  refunded_amount: Generated<number>;
  stripe_dispute_id: ColumnType<string | null, string | null | undefined, string | null>;
  dispute_status: ColumnType<
    'open' | 'won' | 'lost' | null,
    'open' | 'won' | 'lost' | null | undefined,
    'open' | 'won' | 'lost' | null
  >;
  disputed_amount: Generated<number>;
  dispute_updated_at: NullableTimestamp;
  subscription_ended_at: NullableTimestamp;
  attributed_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0009: the IP of the referral's latest click with one, when the conversion was recorded. */
  click_ip: ColumnType<string | null, string | null | undefined, string | null>;
  /** Migration 0014: the part given back by credit notes as credit or out of band (net-of-tax minor units). */
  credited_amount: Generated<number>;
}

export interface CommissionsTable {
  id: string;
  program_id: string;
  affiliate_id: string;
  conversion_id: string | null;
  amount: number;
  currency: string;
  kind: Generated<CommissionKind>;
  rate_bps: number | null;
  status: Generated<CommissionStatus>;
  hold_reason: string | null;
  reverses_commission_id: string | null;
  payable_at: RequiredTimestamp;
  approved_at: NullableTimestamp;
  paid_at: NullableTimestamp;
  payout_id: string | null;
  reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Migration 0003: the rule that set the amount (null = program default) and the customer's payment month. */
  rule_id: ColumnType<string | null, string | null | undefined, string | null>;
  payment_month: ColumnType<number | null, number | null | undefined, number | null>;
  /** Migration 0002: the part taken back in place before payment (refunds, lost disputes). */
  reversed_amount: Generated<number>;
  /** Migration 0014: why the rules saw the sale as they did (`line_items_unavailable`, `per_line_items`), or null. */
  rule_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Migration 0014: credit notes applied to a sale, once each (`credit_note.created`). */
export interface StripeCreditNotesTable {
  program_id: string;
  id: string;
  /** Null for a note voided before its `credit_note.created` was processed (migration 0019). */
  conversion_id: string | null;
  /** The share credited, in the conversion's net-of-tax minor units. */
  credited_amount: number;
  created_at: Timestamp;
  /** When `credit_note.voided` gave the credit back (migration 0019). */
  voided_at: Date | null;
}

export interface CommissionEventsTable {
  id: Generated<number>;
  commission_id: string;
  program_id: string;
  from_status: CommissionStatus | null;
  to_status: CommissionStatus;
  amount: number;
  actor: 'system' | 'merchant' | 'affiliate' | 'stripe';
  reason: string | null;
  created_at: Timestamp;
}

export interface PayoutsTable {
  id: string;
  program_id: string;
  affiliate_id: string;
  amount: number;
  currency: string;
  status: Generated<PayoutStatus>;
  method: Generated<PayoutMethod>;
  reference: string | null;
  failure_reason: string | null;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
  /** Migration 0003. */
  batch_id: ColumnType<string | null, string | null | undefined, string | null>;
  idempotency_key: ColumnType<string | null, string | null | undefined, string | null>;
  method_details: ColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  requested_by: Generated<'system' | 'merchant' | 'affiliate'>;
  processing_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  stripe_transfer_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Migration 0003: which commissions a payout covered (kept when the payout fails). */
export interface PayoutItemsTable {
  payout_id: string;
  commission_id: string;
  amount: number;
}

/** Migration 0003: a program's commission rules; amounts per currency in minor units, rates in basis points. */
export interface CommissionRulesTable {
  id: string;
  program_id: string;
  name: string;
  priority: number;
  event: 'sale' | 'lead';
  affiliate_id: string | null;
  stripe_product_id: string | null;
  stripe_price_id: string | null;
  type: 'percentage' | 'flat';
  rate_bps: number | null;
  flat_amounts: ColumnType<Record<string, number> | null, string | null, string | null>;
  min_amounts: ColumnType<Record<string, number>, string | undefined, string>;
  max_amounts: ColumnType<Record<string, number>, string | undefined, string>;
  recurring: 'first_payment' | 'months' | 'lifetime';
  recurring_months: number | null;
  rate_after_bps: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  archived_at: NullableTimestamp;
}

/** Migration 0003: IPs an affiliate logged in from (trigger on partner_sessions). */
export interface AffiliateLoginIpsTable {
  affiliate_id: string;
  ip: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface StripeEventsTable {
  program_id: string;
  id: string;
  type: string;
  api_version: string | null;
  livemode: boolean;
  payload: ColumnType<unknown, string, string>;
  status: Generated<StripeEventStatus>;
  error: string | null;
  attempts: Generated<number>;
  received_at: Timestamp;
  processed_at: NullableTimestamp;
  /** Migration 0002: retry schedule, the Stripe ids a refund/dispute waits for, the event's own `created`. */
  next_attempt_at: NullableTimestamp;
  waiting_for: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  event_created_at: NullableTimestamp;
}

/** Migration 0002: an affiliate's coupon code mapped to a Stripe promotion code. */
export interface AffiliatePromotionCodesTable {
  id: string;
  program_id: string;
  affiliate_id: string;
  stripe_promotion_code_id: string;
  code: string | null;
  created_at: Timestamp;
}

/** Migration 0002: `Idempotency-Key`s of `POST /api/v1/conversions` and the response they got. */
export interface ConversionApiRequestsTable {
  program_id: string;
  idempotency_key: string;
  request_hash: string;
  status_code: number;
  response: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

export interface PartnerTokensTable {
  token_hash: string;
  affiliate_id: string;
  purpose: 'set_password' | 'reset_password';
  expires_at: RequiredTimestamp;
  used_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface PartnerSessionsTable {
  id_hash: string;
  affiliate_id: string;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: RequiredTimestamp;
}

export interface Database {
  programs: ProgramsTable;
  api_keys: ApiKeysTable;
  stripe_webhook_secrets: StripeWebhookSecretsTable;
  affiliates: AffiliatesTable;
  links: LinksTable;
  referrals: ReferralsTable;
  clicks: ClicksTable;
  affiliate_daily_clicks: AffiliateDailyClicksTable;
  affiliate_sales_totals: AffiliateSalesTotalsTable;
  affiliate_commission_totals: AffiliateCommissionTotalsTable;
  affiliate_referral_totals: AffiliateReferralTotalsTable;
  conversions: ConversionsTable;
  commissions: CommissionsTable;
  commission_events: CommissionEventsTable;
  payouts: PayoutsTable;
  payout_items: PayoutItemsTable;
  commission_rules: CommissionRulesTable;
  affiliate_login_ips: AffiliateLoginIpsTable;
  stripe_events: StripeEventsTable;
  partner_tokens: PartnerTokensTable;
  partner_sessions: PartnerSessionsTable;
  affiliate_promotion_codes: AffiliatePromotionCodesTable;
  conversion_api_requests: ConversionApiRequestsTable;
  stripe_credit_notes: StripeCreditNotesTable;
  stripe_unreferred_payments: StripeUnreferredPaymentsTable;
  affiliate_stripe_accounts: AffiliateStripeAccountsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  email_outbox: EmailOutboxTable;
  email_unsubscribes: EmailUnsubscribesTable;
  affiliate_tax_info: AffiliateTaxInfoTable;
  console_users: ConsoleUsersTable;
  console_memberships: ConsoleMembershipsTable;
  console_tokens: ConsoleTokensTable;
  console_sessions: ConsoleSessionsTable;
  console_setup_tokens: ConsoleSetupTokensTable;
}

/** Migration 0026: a program's outgoing webhook endpoint. */
export interface WebhookEndpointsTable {
  id: string;
  program_id: string;
  url: string;
  description: string | null;
  event_types: ColumnType<string[], string[], string[]>;
  enabled: Generated<boolean>;
  /** Sealed (`v1:…`, purpose `webhook_endpoint_secret`); the plain value is `whsec_…`. */
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: NullableTimestamp;
  /** The first failed attempt since the last success (null: not failing). */
  failing_since: NullableTimestamp;
  disabled_at: NullableTimestamp;
  disabled_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Migration 0026: the outbox (written by triggers; `data` is the changed row as it was, `to_jsonb`). */
export interface WebhookEventsTable {
  id: string;
  program_id: string;
  type: string;
  object_id: string;
  data: ColumnType<Record<string, unknown>, string, string>;
  created_at: Timestamp;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** Migration 0026: one event to one endpoint. */
export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  endpoint_id: string;
  program_id: string;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: NullableTimestamp;
  last_attempt_at: NullableTimestamp;
  delivered_at: NullableTimestamp;
  created_at: Timestamp;
}

/** Migration 0026: one HTTP attempt of a delivery. */
export interface WebhookDeliveryAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  attempted_at: RequiredTimestamp;
  /** Null: no answer (timeout, connection refused, address not allowed). */
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
  manual: Generated<boolean>;
}

/** Migration 0029: one e-mail to send, written by a trigger in the transaction of the change it reports. */
export interface EmailOutboxTable {
  id: Generated<string>;
  program_id: string;
  kind: string;
  audience: 'affiliate' | 'merchant';
  affiliate_id: string | null;
  /** The commission, payout, payout batch, affiliate or Stripe event the mail is about. */
  subject_id: string | null;
  dedupe_key: string;
  /** Sealed set-password link of an approval mail (`lib/secrets.ts`, purpose `set_password_link`). */
  secret: string | null;
  status: Generated<'pending' | 'sent' | 'skipped' | 'failed'>;
  attempts: Generated<number>;
  available_at: Timestamp;
  locked_until: NullableTimestamp;
  last_error: string | null;
  recipient: string | null;
  created_at: Timestamp;
  done_at: NullableTimestamp;
}

/** Migration 0029: a person (lower-cased e-mail, per program) who turned off one kind of e-mail. */
export interface EmailUnsubscribesTable {
  program_id: string;
  email: string;
  kind: string;
  created_at: Timestamp;
  // Migration 0027: the merchant console.
}

/** Stripe ids of payments attributed to no referral (migration 0018). */
export interface StripeUnreferredPaymentsTable {
  program_id: string;
  stripe_id: string;
  event_id: string;
  recorded_at: Generated<Date>;
}

/** Migration 0021: a partner's Stripe Express account (onboarded through the program's key) and its last state. */
export interface AffiliateStripeAccountsTable {
  program_id: string;
  affiliate_id: string;
  account_id: string;
  /** ISO 3166-1 alpha-2, as given at onboarding. */
  country: string;
  transfers_active: Generated<boolean>;
  payouts_enabled: Generated<boolean>;
  details_submitted: Generated<boolean>;
  requirements_due: ColumnType<string[], string[] | undefined, string[]>;
  disabled_reason: string | null;
  /** The `created` time of the event the state comes from. */
  stripe_updated_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Migration 0028: what a merchant reports its payments to a partner with (legal name, country, tax id). */
export interface AffiliateTaxInfoTable {
  program_id: string;
  affiliate_id: string;
  legal_name: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  /** Sealed (`v1:…`, purpose `affiliate_tax_id`, bound to the affiliate id); read only by `secrets rotate`. */
  tax_id: string;
  /** The tax id's last four characters: what every answer shows (`•••• 1234`). */
  tax_id_last4: string;
  updated_at: Generated<Date>;
}

export type ProgramRow = Selectable<ProgramsTable>;
export type AffiliateRow = Selectable<AffiliatesTable>;
export type LinkRow = Selectable<LinksTable>;
export type ReferralRow = Selectable<ReferralsTable>;
export type ConversionRow = Selectable<ConversionsTable>;
export type CommissionRow = Selectable<CommissionsTable>;
export type CommissionRuleRow = Selectable<CommissionRulesTable>;
export type PayoutRow = Selectable<PayoutsTable>;

/** Migration 0027: a merchant console user (the lockout columns work as those of affiliates). */
export interface ConsoleUsersTable {
  id: string;
  email: string;
  /** argon2id PHC string; null until an invited user sets a password. */
  password_hash: string | null;
  failed_logins: Generated<number>;
  locked_until: NullableTimestamp;
  created_at: Timestamp;
}

export type ConsoleRole = 'owner' | 'admin' | 'viewer';

/** Migration 0027: a console user's role in one program. */
export interface ConsoleMembershipsTable {
  user_id: string;
  program_id: string;
  role: ConsoleRole;
  created_at: Timestamp;
}

/** Migration 0027: one-time links of console users (invitation = `set_password`). */
export interface ConsoleTokensTable {
  token_hash: string;
  user_id: string;
  purpose: 'set_password' | 'reset_password';
  expires_at: RequiredTimestamp;
  used_at: NullableTimestamp;
  created_at: Timestamp;
}

/** Migration 0027: console sessions (the cookie carries the id; we store its SHA-256). */
export interface ConsoleSessionsTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: RequiredTimestamp;
}

/** Migration 0027: the first-run setup token printed to the log (hashed). */
export interface ConsoleSetupTokensTable {
  token_hash: string;
  expires_at: RequiredTimestamp;
  used_at: NullableTimestamp;
  created_at: Timestamp;
}
