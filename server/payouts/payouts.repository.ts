/**
 * SQL for payouts and balances. Every query is scoped by program id.
 *
 * What a payout can settle ("unsettled"): commissions with no `payout_id` that are `approved`, plus outstanding
 * clawbacks (negative amounts, `pending` or `approved`), which every payout nets. Commissions stay `approved` with
 * `payout_id` set while their payout is open, become `paid` when it completes, and lose `payout_id` if it fails.
 */
import { sql, type Insertable, type Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import { commissionBalances, type BalanceRow } from '../commissions/balances.ts';
import type { CommissionEventsTable, PayoutMethod, PayoutsTable, PayoutStatus } from '../db/schema.ts';

export type { BalanceRow } from '../commissions/balances.ts';

/**
 * Balances of a program (optionally one affiliate, one currency), largest balance first. The buckets are
 * defined once, in `commissions/balances.ts`.
 */
export async function balances(
  db: DbOrTrx,
  programId: string,
  opts: { affiliateId?: string; currency?: string } = {},
): Promise<BalanceRow[]> {
  const rows = await commissionBalances(db, { programId, ...opts });
  return rows.sort(
    (a, b) =>
      b.balance - a.balance || a.affiliate_id.localeCompare(b.affiliate_id) || a.currency.localeCompare(b.currency),
  );
}

/** Unsettled commissions of one affiliate in one currency, locked, oldest first (clawbacks included). */
export function lockUnsettled(db: DbOrTrx, programId: string, affiliateId: string, currency: string) {
  return db
    .selectFrom('commissions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('affiliate_id', '=', affiliateId)
    .where('currency', '=', currency)
    .where('payout_id', 'is', null)
    .where((eb) => eb.or([eb('status', '=', 'approved'), eb.and([eb('amount', '<', 0), eb('status', '=', 'pending')])]))
    .orderBy(sql`coalesce(approved_at, created_at)`)
    .orderBy('created_at')
    .orderBy('id')
    .forUpdate()
    .execute();
}

export function findPayoutByKey(db: DbOrTrx, programId: string, affiliateId: string, currency: string, key: string) {
  return db
    .selectFrom('payouts')
    .selectAll()
    .where('program_id', '=', programId)
    .where('affiliate_id', '=', affiliateId)
    .where('currency', '=', currency)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

export function countOpenPayouts(db: DbOrTrx, programId: string, affiliateId: string, currency: string) {
  return db
    .selectFrom('payouts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('program_id', '=', programId)
    .where('affiliate_id', '=', affiliateId)
    .where('currency', '=', currency)
    .where('status', 'in', ['pending', 'processing'])
    .executeTakeFirstOrThrow();
}

/** Insert a payout; a clash on its idempotency key inserts nothing and returns undefined. */
export function insertPayout(db: DbOrTrx, row: Insertable<PayoutsTable>) {
  return db
    .insertInto('payouts')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['program_id', 'affiliate_id', 'currency', 'idempotency_key'])
        .where('idempotency_key', 'is not', null)
        .doNothing(),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Point unsettled commissions at a payout. @returns the ids actually attached (those still unsettled). */
export async function attachCommissions(
  db: DbOrTrx,
  payoutId: string,
  commissionIds: string[],
  at: Date,
): Promise<string[]> {
  if (commissionIds.length === 0) return [];
  const rows = await db
    .updateTable('commissions')
    .set({ payout_id: payoutId, updated_at: at })
    .where('id', 'in', commissionIds)
    .where('payout_id', 'is', null)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export function insertPayoutItems(db: DbOrTrx, items: { payout_id: string; commission_id: string; amount: number }[]) {
  if (items.length === 0) return Promise.resolve();
  return db.insertInto('payout_items').values(items).execute();
}

export function insertCommissionEvents(db: DbOrTrx, events: Insertable<CommissionEventsTable>[]) {
  if (events.length === 0) return Promise.resolve();
  return db.insertInto('commission_events').values(events).execute();
}

export function lockPayout(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('payouts')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export function findPayout(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('payouts')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function updatePayout(db: DbOrTrx, id: string, patch: Updateable<PayoutsTable>) {
  return db.updateTable('payouts').set(patch).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Commissions currently in a payout, locked. */
export function lockPayoutCommissions(db: DbOrTrx, payoutId: string) {
  return db
    .selectFrom('commissions')
    .selectAll()
    .where('payout_id', '=', payoutId)
    .orderBy('created_at')
    .orderBy('id')
    .forUpdate()
    .execute();
}

/** What a payout covered (kept after a failure), with each commission's current status. */
export function payoutItems(db: DbOrTrx, payoutId: string) {
  return db
    .selectFrom('payout_items')
    .innerJoin('commissions', 'commissions.id', 'payout_items.commission_id')
    .select(['payout_items.commission_id', 'payout_items.amount', 'commissions.kind', 'commissions.status'])
    .where('payout_items.payout_id', '=', payoutId)
    .orderBy('commissions.created_at')
    .orderBy('commissions.id')
    .execute();
}

export function listPayouts(
  db: DbOrTrx,
  programId: string,
  opts: {
    status?: PayoutStatus;
    affiliateId?: string;
    batchId?: string;
    currency?: string;
    method?: PayoutMethod;
    limit: number;
    offset: number;
  },
) {
  let q = db
    .selectFrom('payouts')
    .innerJoin('affiliates', 'affiliates.id', 'payouts.affiliate_id')
    .selectAll('payouts')
    .select(['affiliates.name as affiliate_name', 'affiliates.email as affiliate_email'])
    .where('payouts.program_id', '=', programId);
  if (opts.status) q = q.where('payouts.status', '=', opts.status);
  if (opts.affiliateId) q = q.where('payouts.affiliate_id', '=', opts.affiliateId);
  if (opts.batchId) q = q.where('payouts.batch_id', '=', opts.batchId);
  if (opts.currency) q = q.where('payouts.currency', '=', opts.currency);
  if (opts.method) q = q.where('payouts.method', '=', opts.method);
  return q.orderBy('payouts.created_at', 'desc').orderBy('payouts.id').limit(opts.limit).offset(opts.offset).execute();
}

/** Every program with its payout schedule (the `generate-payouts` job decides which are due). */
export function listProgramsForPayouts(db: DbOrTrx, programId?: string) {
  let q = db.selectFrom('programs').selectAll();
  if (programId) q = q.where('id', '=', programId);
  return q.orderBy('id').execute();
}

/** Record that the schedule occurrence `at` was paid out (never moves backwards). */
export function markPayoutsGenerated(db: DbOrTrx, programId: string, at: Date) {
  return db
    .updateTable('programs')
    .set({ payouts_generated_for: at })
    .where('id', '=', programId)
    .where((eb) => eb.or([eb('payouts_generated_for', 'is', null), eb('payouts_generated_for', '<', at)]))
    .execute();
}

/** The payout a Stripe transfer paid (`stripe_transfer_id`), locked; undefined when none. */
export function lockPayoutByTransfer(db: DbOrTrx, programId: string, transferId: string) {
  return db
    .selectFrom('payouts')
    .selectAll()
    .where('program_id', '=', programId)
    .where('stripe_transfer_id', '=', transferId)
    .forUpdate()
    .executeTakeFirst();
}

/** Open `stripe_connect` payouts of a program (oldest first): what pay-all sends to Stripe. */
export function openStripePayouts(db: DbOrTrx, programId: string, currency?: string) {
  let q = db
    .selectFrom('payouts')
    .selectAll()
    .where('program_id', '=', programId)
    .where('method', '=', 'stripe_connect')
    .where('status', 'in', ['pending', 'processing']);
  if (currency) q = q.where('currency', '=', currency);
  return q.orderBy('created_at').orderBy('id').execute();
}
