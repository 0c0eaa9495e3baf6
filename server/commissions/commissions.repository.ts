/**
 * SQL for commissions and their append-only history (`commission_events`).
 *
 * Every change of a commission goes through `transitionCommission` / `insertCommissionEvent` (or, for bulk
 * changes, one statement that writes the events with the rows, like `approveDue`), inside the transaction that
 * changes it: who (`actor`), what (from → to, amount), when, why (`reason`).
 */
import { sql, type Insertable, type Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type {
  CommissionEventsTable,
  CommissionRow,
  CommissionsTable,
  CommissionStatus,
  ConversionRow,
} from '../db/schema.ts';

export type CommissionActor = CommissionEventsTable['actor'];

export function insertCommission(db: DbOrTrx, row: Insertable<CommissionsTable>) {
  return db.insertInto('commissions').values(row).returningAll().executeTakeFirstOrThrow();
}

/**
 * Insert a new commission (`row.id` set by the caller) and its first history entry (`from` null, `to` its
 * status) in ONE statement: a round trip less on every sale (the history row's foreign key is checked at the
 * end of the statement, when the commission exists).
 * @returns the commission row
 */
export function insertCommissionWithFirstEvent(
  db: DbOrTrx,
  row: Insertable<CommissionsTable> & { id: string; status: CommissionStatus; amount: number },
  e: { actor: CommissionActor; reason: string | null; at: Date },
) {
  return db
    .with('inserted', (qb) => qb.insertInto('commissions').values(row).returningAll())
    .with('first_event', (qb) =>
      qb.insertInto('commission_events').values({
        commission_id: row.id,
        program_id: row.program_id,
        from_status: null,
        to_status: row.status,
        amount: row.amount,
        actor: e.actor,
        reason: e.reason,
        created_at: e.at,
      }),
    )
    .selectFrom('inserted')
    .selectAll()
    .executeTakeFirstOrThrow();
}

/** The orders a commission list can be sorted in (`-` = descending); ties are broken by id. */
export const COMMISSION_SORTS = [
  '-created_at',
  'created_at',
  '-amount',
  'amount',
  '-payable_at',
  'payable_at',
] as const;
export type CommissionSort = (typeof COMMISSION_SORTS)[number];

export interface CommissionFilter {
  status?: CommissionStatus;
  affiliateId?: string;
  payoutId?: string;
  /** A substring of the affiliate's name, e-mail or code, any case. */
  search?: string;
}

/** The program's commissions matching `filter` (a query to order and page). */
function filteredCommissions(db: DbOrTrx, programId: string, filter: CommissionFilter) {
  let q = db.selectFrom('commissions').where('commissions.program_id', '=', programId);
  if (filter.status) q = q.where('commissions.status', '=', filter.status);
  if (filter.affiliateId) q = q.where('commissions.affiliate_id', '=', filter.affiliateId);
  if (filter.payoutId) q = q.where('commissions.payout_id', '=', filter.payoutId);
  if (filter.search) {
    // LIKE's own wildcards in the search are literal.
    const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where('commissions.affiliate_id', 'in', (eb) =>
      eb
        .selectFrom('affiliates')
        .select('affiliates.id')
        .where('affiliates.program_id', '=', programId)
        .where((w) =>
          w.or([
            w('affiliates.name', 'ilike', pattern),
            w('affiliates.email', 'ilike', pattern),
            w('affiliates.code', 'ilike', pattern),
          ]),
        ),
    );
  }
  return q;
}

export function listCommissions(
  db: DbOrTrx,
  programId: string,
  opts: CommissionFilter & { sort?: CommissionSort; limit: number; offset: number },
) {
  const sort = opts.sort ?? '-created_at';
  const column = sort.replace(/^-/, '') as 'created_at' | 'amount' | 'payable_at';
  return filteredCommissions(db, programId, opts)
    .selectAll('commissions')
    .orderBy(`commissions.${column}`, sort.startsWith('-') ? 'desc' : 'asc')
    .orderBy('commissions.id')
    .limit(opts.limit)
    .offset(opts.offset)
    .execute();
}

/**
 * One page of the export: matching commissions with their affiliate's e-mail and name, newest first (`created_at`
 * then `id`, both descending), after `after` (the last row of the previous page): keyset pages, so rows added
 * meanwhile neither repeat nor shift the pages.
 */
export function exportCommissionsPage(
  db: DbOrTrx,
  programId: string,
  filter: CommissionFilter,
  after: { createdAt: Date; id: string } | null,
  limit: number,
) {
  let q = filteredCommissions(db, programId, filter)
    .innerJoin('affiliates', 'affiliates.id', 'commissions.affiliate_id')
    .selectAll('commissions')
    .select(['affiliates.email as affiliate_email', 'affiliates.name as affiliate_name']);
  if (after) q = q.where(sql<boolean>`(commissions.created_at, commissions.id) < (${after.createdAt}, ${after.id})`);
  return q.orderBy('commissions.created_at', 'desc').orderBy('commissions.id', 'desc').limit(limit).execute();
}

export function findCommission(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('commissions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function lockCommission(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('commissions')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** Append one history entry (the table refuses UPDATE and DELETE). */
export function insertCommissionEvent(
  db: DbOrTrx,
  e: {
    commissionId: string;
    programId: string;
    from: CommissionStatus | null;
    to: CommissionStatus;
    amount: number;
    actor: CommissionActor;
    reason: string | null;
    at: Date;
  },
) {
  return db
    .insertInto('commission_events')
    .values({
      commission_id: e.commissionId,
      program_id: e.programId,
      from_status: e.from,
      to_status: e.to,
      amount: e.amount,
      actor: e.actor,
      reason: e.reason,
      created_at: e.at,
    })
    .execute();
}

/**
 * Move one (locked) commission to `to`, with `patch` for other columns, and record the change.
 * Sets `approved_at` / `paid_at` when entering those states.
 * @returns the updated row
 */
export async function transitionCommission(
  db: DbOrTrx,
  c: CommissionRow,
  to: CommissionStatus,
  opts: { at: Date; actor: CommissionActor; reason: string | null; patch?: Updateable<CommissionsTable> },
): Promise<CommissionRow> {
  const row = await db
    .updateTable('commissions')
    .set({
      ...opts.patch,
      status: to,
      updated_at: opts.at,
      ...(to === 'approved' && c.status !== 'approved' ? { approved_at: opts.at } : {}),
      ...(to === 'paid' ? { paid_at: opts.at } : {}),
    })
    .where('id', '=', c.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await insertCommissionEvent(db, {
    commissionId: c.id,
    programId: c.program_id,
    from: c.status,
    to,
    amount: row.amount,
    actor: opts.actor,
    reason: opts.reason,
    at: opts.at,
  });
  return row;
}

/**
 * Approve every pending commission whose hold period ended by `at` (or all pending ones when `skipHold`),
 * optionally in one program, writing one history entry per commission in the same statement. Held
 * (`on_hold`), reversed and rejected commissions are not pending, so they are never approved here.
 * Safe when two workers run it at once: a row changes (and is recorded) once.
 * @returns number of commissions approved
 */
export async function approveDue(db: DbOrTrx, at: Date, opts: { programId?: string; skipHold?: boolean }) {
  const result = await db
    .with('moved', (qb) => {
      let q = qb
        .updateTable('commissions')
        .set({ status: 'approved', approved_at: at, updated_at: at })
        .where('status', '=', 'pending');
      if (!opts.skipHold) q = q.where('payable_at', '<=', at);
      if (opts.programId) q = q.where('program_id', '=', opts.programId);
      return q.returning(['id', 'program_id', 'amount']);
    })
    .insertInto('commission_events')
    .columns(['commission_id', 'program_id', 'from_status', 'to_status', 'amount', 'actor', 'reason', 'created_at'])
    .expression((eb) =>
      eb
        .selectFrom('moved')
        .select((s) => [
          'moved.id',
          'moved.program_id',
          sql.lit('pending').as('from_status'),
          sql.lit('approved').as('to_status'),
          'moved.amount',
          sql.lit('system').as('actor'),
          sql.lit(opts.skipHold ? 'approved_without_hold' : 'hold_period_ended').as('reason'),
          s.val(at).as('created_at'),
        ]),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/** A commission's history, oldest first. */
export function listCommissionEvents(db: DbOrTrx, programId: string, commissionId: string) {
  return db
    .selectFrom('commission_events')
    .selectAll()
    .where('program_id', '=', programId)
    .where('commission_id', '=', commissionId)
    .orderBy('id')
    .execute();
}

/** What a new commission needs from its conversion's history (see `commissionFactsParts`). */
export interface CommissionFacts {
  firstPaidAt: Date | undefined;
  clickedFromLoginIp: boolean;
  conversionsFromIp: number;
}

export type FactsConversion = Pick<
  ConversionRow,
  'id' | 'program_id' | 'affiliate_id' | 'kind' | 'referral_id' | 'stripe_subscription_id' | 'occurred_at'
>;

/** The facts as the query returns them (`first_paid_at`, `clicked_from_login_ip`, `conversions_from_ip`). */
export interface CommissionFactsColumns {
  first_paid_at: Date | null;
  clicked_from_login_ip: boolean;
  conversions_from_ip: number | string | null;
}

/**
 * What a new commission needs from its conversion's history, as parts of ONE query (a Stripe sale is counted in
 * round trips): the derived table `f` and the three columns, to run alone (`commissionFacts`) or inside the
 * statement that inserts the conversion (`insertConversionOnce` with `facts`).
 * - `first_paid_at`, sales only: when the customer first paid — the earliest other sale of the same referral (or,
 *   without a referral, of the same Stripe subscription) at or before `occurred_at`; null = this is the first payment;
 * - `clicked_from_login_ip`: whether a click of the conversion's referral came from an IP its affiliate logged in from;
 * - `conversions_from_ip`, when `ipWindowFrom` is given: the affiliate's conversions of this kind in
 *   `(ipWindowFrom, occurred_at]`, this one included, recorded with the same `click_ip` as this one (the IP of its
 *   referral's latest click that had one, set when it was inserted; 0 when it has none; 0 for a sale that is not the
 *   customer's first, which the check ignores). `conversionStored`: whether the conversion's row is visible to the
 *   query; inside its own INSERT statement it is not: its IP is then read from that statement's `inserted` row, and
 *   it is added to the count when it has one.
 * Null when nothing needs reading (no referral, not a sale with a subscription).
 */
export function commissionFactsParts(
  db: DbOrTrx,
  c: FactsConversion,
  opts: { ipWindowFrom?: Date; conversionStored: boolean },
) {
  const askFirstPayment = c.kind === 'sale' && (c.referral_id !== null || c.stripe_subscription_id !== null);
  if (!askFirstPayment && c.referral_id === null) return null;
  const countFromIp = opts.ipWindowFrom !== undefined && c.referral_id !== null;
  const earlier = db
    .selectFrom('conversions')
    .select('occurred_at')
    .where('program_id', '=', c.program_id)
    .where('kind', '=', 'sale')
    .where('id', '!=', c.id)
    .where('occurred_at', '<=', c.occurred_at);
  const firstPaid = (
    c.referral_id !== null
      ? earlier.where('referral_id', '=', c.referral_id)
      : earlier.where('stripe_subscription_id', '=', c.stripe_subscription_id)
  )
    .orderBy('occurred_at')
    .limit(1);
  const loginIpClick = db
    .selectFrom('clicks')
    .innerJoin('affiliate_login_ips', (j) =>
      j.onRef('affiliate_login_ips.ip', '=', 'clicks.ip').on('affiliate_login_ips.affiliate_id', '=', c.affiliate_id),
    )
    .select('clicks.id')
    .where('clicks.referral_id', '=', c.referral_id);
  // The IP this conversion was recorded with: from its row, or from the statement inserting it.
  const ip = opts.conversionStored
    ? sql<string | null>`(${db.selectFrom('conversions').select('click_ip').where('id', '=', c.id)})`
    : sql.ref<string | null>('inserted.click_ip');
  // One range of conversions_click_ip_idx (migration 0009).
  const fromIp = db
    .selectFrom('conversions')
    .select((e) =>
      (opts.conversionStored ? e.fn.countAll<number>() : sql<number>`count(*) + (${ip} IS NOT NULL)::int`).as('n'),
    )
    .where('affiliate_id', '=', c.affiliate_id)
    .where('click_ip', '=', ip)
    .where('kind', '=', c.kind)
    .where('occurred_at', '>', opts.ipWindowFrom ?? c.occurred_at)
    .where('occurred_at', '<=', c.occurred_at);
  // The first payment is looked up once (derived table `f`; `OFFSET 0` keeps the planner from pulling it up, which
  // copied the look-up into every reference); the per-IP count reads it and runs only when there is no earlier
  // sale (renewals skip it; a lead has none).
  const f = db
    .selectNoFrom([
      askFirstPayment ? firstPaid.as('first_paid_at') : sql<Date | null>`NULL::timestamptz`.as('first_paid_at'),
    ])
    .offset(0)
    .as('f');
  return {
    f,
    columns: [
      sql.ref<Date | null>('f.first_paid_at').as('first_paid_at'),
      (c.referral_id !== null ? sql<boolean>`exists (${loginIpClick})` : sql<boolean>`false`).as(
        'clicked_from_login_ip',
      ),
      (countFromIp ? sql<number>`CASE WHEN f.first_paid_at IS NULL THEN (${fromIp}) ELSE 0 END` : sql<number>`0`).as(
        'conversions_from_ip',
      ),
    ] as const,
  };
}

/** The facts from their columns (absent columns: the facts of a conversion with nothing to read). */
export function toCommissionFacts(row: Partial<CommissionFactsColumns> | undefined): CommissionFacts {
  return {
    firstPaidAt: row?.first_paid_at ?? undefined,
    clickedFromLoginIp: row?.clicked_from_login_ip === true,
    conversionsFromIp: Number(row?.conversions_from_ip ?? 0),
  };
}

/** `commissionFactsParts` run on their own, for a stored conversion. */
export async function commissionFacts(
  db: DbOrTrx,
  c: FactsConversion,
  opts: { ipWindowFrom?: Date } = {},
): Promise<CommissionFacts> {
  const parts = commissionFactsParts(db, c, { ...opts, conversionStored: true });
  if (!parts) return toCommissionFacts(undefined);
  return toCommissionFacts(await db.selectFrom(parts.f).select(parts.columns).executeTakeFirstOrThrow());
}
