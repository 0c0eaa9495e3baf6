/**
 * Partner dashboard: what an affiliate's application says (website, how they promote), where
 * they want to be paid (payout method settings), a per-account lockout after repeated failed logins, and the
 * indexes the dashboard's reads need. (Runs after 0002 on a fresh database: it indexes `refunded_amount`.)
 *
 * Payout details are jsonb whose shape depends on the method (validated by zod in `partner.service.ts`):
 * - `paypal`:          `{ "email": "..." }`
 * - `bank_transfer`:   `{ "accountHolder", "iban" | "accountNumber", "bic" | "routingNumber", "bankName"?, "country" }`
 * - `stripe_connect`:  `{ "accountId": "acct_..." }`
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE affiliates
      ADD COLUMN website                text CHECK (char_length(website) <= 2048),
      ADD COLUMN promotion_method       text CHECK (char_length(promotion_method) <= 2000),
      -- set when the affiliate applied through the public page; null for merchant-created affiliates
      ADD COLUMN applied_at             timestamptz,
      ADD COLUMN payout_method          text CHECK (payout_method IN ('paypal', 'bank_transfer', 'stripe_connect')),
      ADD COLUMN payout_details         jsonb,
      ADD COLUMN payout_updated_at      timestamptz,
      -- consecutive failed logins and the lockout they caused (reset by a successful login or a new password)
      ADD COLUMN failed_logins          integer NOT NULL DEFAULT 0,
      ADD COLUMN locked_until           timestamptz,
      ADD CONSTRAINT affiliates_payout_details_check CHECK ((payout_method IS NULL) = (payout_details IS NULL));

    -- The reset-password form looks tokens up by affiliate to revoke older ones.
    CREATE INDEX partner_tokens_affiliate_idx ON partner_tokens (affiliate_id);
    -- Per-link numbers: clicks and referrals of one link.
    CREATE INDEX clicks_link_idx ON clicks (link_id) WHERE link_id IS NOT NULL;
    CREATE INDEX referrals_link_idx ON referrals (link_id) WHERE link_id IS NOT NULL;
    -- The overview reads one affiliate's leads/customers, sales and commission sums: partial and covering
    -- indexes make each an index(-only) scan of that affiliate's rows, never of mere visitors.
    CREATE INDEX referrals_affiliate_funnel_idx ON referrals (affiliate_id, status) WHERE status IN ('lead', 'customer');
    CREATE INDEX conversions_affiliate_sales_idx ON conversions (affiliate_id, currency)
      INCLUDE (amount, refunded_amount, occurred_at) WHERE kind = 'sale';
    CREATE INDEX commissions_affiliate_money_idx ON commissions (affiliate_id, currency)
      INCLUDE (status, amount, payout_id, payable_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX commissions_affiliate_money_idx;
    DROP INDEX conversions_affiliate_sales_idx;
    DROP INDEX referrals_affiliate_funnel_idx;
    DROP INDEX referrals_link_idx;
    DROP INDEX clicks_link_idx;
    DROP INDEX partner_tokens_affiliate_idx;
    ALTER TABLE affiliates
      DROP CONSTRAINT affiliates_payout_details_check,
      DROP COLUMN locked_until,
      DROP COLUMN failed_logins,
      DROP COLUMN payout_updated_at,
      DROP COLUMN payout_details,
      DROP COLUMN payout_method,
      DROP COLUMN applied_at,
      DROP COLUMN promotion_method,
      DROP COLUMN website;
  `.execute(db);
}
