/**
 * Per-affiliate totals for the partner overview (the requirement "dashboards instant at millions of clicks"), so it
 * reads a handful of rows instead of summing every sale and commission of the affiliate.
 *
 * - `affiliate_sales_totals`: per affiliate and currency, the number of sale conversions and the sums of their
 *   `amount` and `refunded_amount` (minor units).
 * - `affiliate_commission_totals`: per affiliate and the grouping that `commissions/balances.ts` folds into
 *   balance buckets (currency, status, in a payout?, negative?), the number of commissions and the sum of
 *   `amount` (minor units).
 * - `affiliate_referral_totals`: per affiliate, the number of referrals in status `lead` and in `customer`.
 *
 * The first two are kept by statement-level AFTER triggers on `conversions` / `commissions`, inside the statement that
 * changes the rows, so they commit or roll back with them and no write path (services, jobs, CLI, SQL by hand,
 * the benchmark's bulk seed) can forget them. Each trigger folds the statement's transition tables (new rows
 * added, old rows subtracted) into one delta per key and applies the deltas with one upsert in key order:
 * - exact under concurrency: `x = t.x + excluded.x` runs under the row lock, so concurrent writers of the same
 *   affiliate wait for each other and add to the committed value (READ COMMITTED);
 * - a statement takes its totals locks in one order (key order), after its row locks;
 * - keys whose delta is zero (an update that moved no money between groups, e.g. `updated_at`, `approved_at`,
 *   a dispute status) are skipped and take no lock.
 * A key whose count drops to zero keeps its row (count 0, sum 0); readers ignore such rows. (No CHECK on the
 * counts: PostgreSQL checks the proposed row of an upsert, here a negative delta, before finding the conflict.)
 *
 * Referrals are the click ingest's table, written in batches of mere visitors at thousands per second: their
 * totals use row-level triggers whose WHEN clause lets those rows through untouched (a visitor inserted, an
 * UPDATE that does not set `status`) and fire only when a referral enters or leaves `lead`/`customer` (a lead
 * recorded, a sale binding its customer): one upsert per such referral, in the same statement.
 *
 * What depends on time (which pending commissions mature by a date) is not stored: readers compute it from
 * the commissions with `commissions_affiliate_pending_idx`. No foreign keys, like `affiliate_daily_clicks`:
 * only these triggers write the rows (deleting a program cascades to its commissions and conversions, whose
 * triggers bring the totals to zero).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE affiliate_sales_totals (
      affiliate_id     text NOT NULL,
      currency         text NOT NULL,
      sales            bigint NOT NULL,
      amount           bigint NOT NULL,
      refunded_amount  bigint NOT NULL,
      PRIMARY KEY (affiliate_id, currency)
    );

    CREATE TABLE affiliate_commission_totals (
      affiliate_id  text NOT NULL,
      currency      text NOT NULL,
      status        text NOT NULL,
      in_payout     boolean NOT NULL,
      negative      boolean NOT NULL,
      commissions   bigint NOT NULL,
      amount        bigint NOT NULL,
      PRIMARY KEY (affiliate_id, currency, status, in_payout, negative)
    );

    CREATE TABLE affiliate_referral_totals (
      affiliate_id  text NOT NULL,
      status        text NOT NULL CHECK (status IN ('lead', 'customer')),
      referrals     bigint NOT NULL,
      PRIMARY KEY (affiliate_id, status)
    );

    -- Transition tables exist only for the events that have them (no old_rows on INSERT, no new_rows on
    -- DELETE), so one query per event: a query naming a table its trigger lacks would fail to plan.
    CREATE FUNCTION affiliate_sales_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM affiliate_sales_totals;
      ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO affiliate_sales_totals AS t (affiliate_id, currency, sales, amount, refunded_amount)
        SELECT affiliate_id, currency, count(*), sum(amount), sum(refunded_amount)
        FROM new_rows WHERE kind = 'sale'
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (affiliate_id, currency) DO UPDATE SET
          sales = t.sales + excluded.sales, amount = t.amount + excluded.amount,
          refunded_amount = t.refunded_amount + excluded.refunded_amount;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO affiliate_sales_totals AS t (affiliate_id, currency, sales, amount, refunded_amount)
        SELECT affiliate_id, currency, -count(*), -sum(amount), -sum(refunded_amount)
        FROM old_rows WHERE kind = 'sale'
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (affiliate_id, currency) DO UPDATE SET
          sales = t.sales + excluded.sales, amount = t.amount + excluded.amount,
          refunded_amount = t.refunded_amount + excluded.refunded_amount;
      ELSE -- UPDATE
        INSERT INTO affiliate_sales_totals AS t (affiliate_id, currency, sales, amount, refunded_amount)
        SELECT affiliate_id, currency, sum(n), sum(amount), sum(refunded_amount)
        FROM (
          SELECT affiliate_id, currency, 1 AS n, amount, refunded_amount FROM new_rows WHERE kind = 'sale'
          UNION ALL
          SELECT affiliate_id, currency, -1, -amount, -refunded_amount FROM old_rows WHERE kind = 'sale'
        ) d
        GROUP BY 1, 2
        HAVING sum(n) <> 0 OR sum(amount) <> 0 OR sum(refunded_amount) <> 0
        ORDER BY 1, 2
        ON CONFLICT (affiliate_id, currency) DO UPDATE SET
          sales = t.sales + excluded.sales, amount = t.amount + excluded.amount,
          refunded_amount = t.refunded_amount + excluded.refunded_amount;
      END IF;
      RETURN NULL;
    END
    $fn$;

    CREATE FUNCTION affiliate_commission_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM affiliate_commission_totals;
      ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO affiliate_commission_totals AS t (affiliate_id, currency, status, in_payout, negative, commissions, amount)
        SELECT affiliate_id, currency, status, payout_id IS NOT NULL, amount < 0, count(*), sum(amount)
        FROM new_rows
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (affiliate_id, currency, status, in_payout, negative) DO UPDATE SET
          commissions = t.commissions + excluded.commissions, amount = t.amount + excluded.amount;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO affiliate_commission_totals AS t (affiliate_id, currency, status, in_payout, negative, commissions, amount)
        SELECT affiliate_id, currency, status, payout_id IS NOT NULL, amount < 0, -count(*), -sum(amount)
        FROM old_rows
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (affiliate_id, currency, status, in_payout, negative) DO UPDATE SET
          commissions = t.commissions + excluded.commissions, amount = t.amount + excluded.amount;
      ELSE -- UPDATE
        INSERT INTO affiliate_commission_totals AS t (affiliate_id, currency, status, in_payout, negative, commissions, amount)
        SELECT affiliate_id, currency, status, in_payout, negative, sum(n), sum(amount)
        FROM (
          SELECT affiliate_id, currency, status, payout_id IS NOT NULL AS in_payout, amount < 0 AS negative, 1 AS n, amount
          FROM new_rows
          UNION ALL
          SELECT affiliate_id, currency, status, payout_id IS NOT NULL, amount < 0, -1, -amount
          FROM old_rows
        ) d
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0 OR sum(amount) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (affiliate_id, currency, status, in_payout, negative) DO UPDATE SET
          commissions = t.commissions + excluded.commissions, amount = t.amount + excluded.amount;
      END IF;
      RETURN NULL;
    END
    $fn$;

    CREATE TRIGGER conversions_totals_insert AFTER INSERT ON conversions
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION affiliate_sales_totals_apply();
    CREATE TRIGGER conversions_totals_update AFTER UPDATE ON conversions
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION affiliate_sales_totals_apply();
    CREATE TRIGGER conversions_totals_delete AFTER DELETE ON conversions
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION affiliate_sales_totals_apply();
    CREATE TRIGGER conversions_totals_truncate AFTER TRUNCATE ON conversions
      FOR EACH STATEMENT EXECUTE FUNCTION affiliate_sales_totals_apply();

    CREATE TRIGGER commissions_totals_insert AFTER INSERT ON commissions
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION affiliate_commission_totals_apply();
    CREATE TRIGGER commissions_totals_update AFTER UPDATE ON commissions
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION affiliate_commission_totals_apply();
    CREATE TRIGGER commissions_totals_delete AFTER DELETE ON commissions
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION affiliate_commission_totals_apply();
    CREATE TRIGGER commissions_totals_truncate AFTER TRUNCATE ON commissions
      FOR EACH STATEMENT EXECUTE FUNCTION affiliate_commission_totals_apply();

    -- Referrals: -1 for the old row and +1 for the new one, each when in a counted status.
    CREATE FUNCTION affiliate_referral_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM affiliate_referral_totals;
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('lead', 'customer') THEN
        INSERT INTO affiliate_referral_totals AS t (affiliate_id, status, referrals) VALUES (OLD.affiliate_id, OLD.status, -1)
        ON CONFLICT (affiliate_id, status) DO UPDATE SET referrals = t.referrals + excluded.referrals;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN ('lead', 'customer') THEN
        INSERT INTO affiliate_referral_totals AS t (affiliate_id, status, referrals) VALUES (NEW.affiliate_id, NEW.status, 1)
        ON CONFLICT (affiliate_id, status) DO UPDATE SET referrals = t.referrals + excluded.referrals;
      END IF;
      RETURN NULL;
    END
    $fn$;

    CREATE TRIGGER referrals_totals_insert AFTER INSERT ON referrals
      FOR EACH ROW WHEN (NEW.status IN ('lead', 'customer')) EXECUTE FUNCTION affiliate_referral_totals_apply();
    CREATE TRIGGER referrals_totals_update AFTER UPDATE OF status, affiliate_id ON referrals
      FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.affiliate_id IS DISTINCT FROM NEW.affiliate_id)
      EXECUTE FUNCTION affiliate_referral_totals_apply();
    CREATE TRIGGER referrals_totals_delete AFTER DELETE ON referrals
      FOR EACH ROW WHEN (OLD.status IN ('lead', 'customer')) EXECUTE FUNCTION affiliate_referral_totals_apply();
    CREATE TRIGGER referrals_totals_truncate AFTER TRUNCATE ON referrals
      FOR EACH STATEMENT EXECUTE FUNCTION affiliate_referral_totals_apply();

    -- Backfill from the rows that exist. No write is missed or counted twice: CREATE TRIGGER waited for open
    -- writers of these tables and blocks new ones until the migration's transaction commits.
    INSERT INTO affiliate_sales_totals (affiliate_id, currency, sales, amount, refunded_amount)
      SELECT affiliate_id, currency, count(*), sum(amount), sum(refunded_amount)
      FROM conversions WHERE kind = 'sale' GROUP BY 1, 2;
    INSERT INTO affiliate_commission_totals (affiliate_id, currency, status, in_payout, negative, commissions, amount)
      SELECT affiliate_id, currency, status, payout_id IS NOT NULL, amount < 0, count(*), sum(amount)
      FROM commissions GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO affiliate_referral_totals (affiliate_id, status, referrals)
      SELECT affiliate_id, status, count(*) FROM referrals WHERE status IN ('lead', 'customer') GROUP BY 1, 2;

    -- Which pending commissions of an affiliate mature after a date: the part of the buckets that depends on
    -- time, read as a range of this index (usually empty: hold periods are shorter than the look-ahead).
    CREATE INDEX commissions_affiliate_pending_idx ON commissions (affiliate_id, payable_at)
      INCLUDE (currency, amount, payout_id) WHERE status = 'pending';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX commissions_affiliate_pending_idx;
    DROP TRIGGER referrals_totals_truncate ON referrals;
    DROP TRIGGER referrals_totals_delete ON referrals;
    DROP TRIGGER referrals_totals_update ON referrals;
    DROP TRIGGER referrals_totals_insert ON referrals;
    DROP TRIGGER commissions_totals_truncate ON commissions;
    DROP TRIGGER commissions_totals_delete ON commissions;
    DROP TRIGGER commissions_totals_update ON commissions;
    DROP TRIGGER commissions_totals_insert ON commissions;
    DROP TRIGGER conversions_totals_truncate ON conversions;
    DROP TRIGGER conversions_totals_delete ON conversions;
    DROP TRIGGER conversions_totals_update ON conversions;
    DROP TRIGGER conversions_totals_insert ON conversions;
    DROP FUNCTION affiliate_referral_totals_apply();
    DROP FUNCTION affiliate_commission_totals_apply();
    DROP FUNCTION affiliate_sales_totals_apply();
    DROP TABLE affiliate_referral_totals;
    DROP TABLE affiliate_commission_totals;
    DROP TABLE affiliate_sales_totals;
  `.execute(db);
}
