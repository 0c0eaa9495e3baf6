/**
 * SQL for what the partner portal lists: the affiliate's links, referrals, commissions and payouts. Every query is
 * scoped by `affiliate_id` (taken from the session, never from the request), so one affiliate cannot reach another's
 * rows.
 */
import type { DbOrTrx } from '../../db/database.ts';
import type { CommissionStatus } from '../../db/schema.ts';

const n = (v: unknown) => Number(v ?? 0);

// ---------------------------------------------------------------------------------------------------------
// Links

/** The affiliate's links with their clicks, referred visitors and sale conversions. */
export function listLinksWithStats(db: DbOrTrx, affiliateId: string) {
  return db
    .selectFrom('links as l')
    .select((eb) => [
      'l.id',
      'l.slug',
      'l.destination_url',
      'l.campaign',
      'l.created_at',
      eb
        .selectFrom('clicks as c')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('c.link_id', '=', 'l.id')
        .where('c.affiliate_id', '=', affiliateId)
        .as('clicks'),
      eb
        .selectFrom('conversions as v')
        .innerJoin('referrals as r', 'r.id', 'v.referral_id')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('r.link_id', '=', 'l.id')
        .where('v.affiliate_id', '=', affiliateId)
        .where('v.kind', '=', 'sale')
        .as('conversions'),
    ])
    .where('l.affiliate_id', '=', affiliateId)
    .where('l.archived_at', 'is', null)
    .orderBy('l.created_at', 'desc')
    .orderBy('l.id')
    .execute();
}

/** Clicks and sale conversions that came through the default `?ref=` link (no tracking link). */
export async function defaultLinkStats(db: DbOrTrx, affiliateId: string) {
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .selectFrom('clicks')
        .select(eb.fn.countAll<number>().as('n'))
        .where('affiliate_id', '=', affiliateId)
        .where('link_id', 'is', null)
        .as('clicks'),
      eb
        .selectFrom('conversions as v')
        .innerJoin('referrals as r', 'r.id', 'v.referral_id')
        .select(eb.fn.countAll<number>().as('n'))
        .where('v.affiliate_id', '=', affiliateId)
        .where('v.kind', '=', 'sale')
        .where('r.link_id', 'is', null)
        .as('conversions'),
    ])
    .executeTakeFirstOrThrow();
  return { clicks: n(row.clicks), conversions: n(row.conversions) };
}

// ---------------------------------------------------------------------------------------------------------
// Referrals, commissions, payouts

/** Referred visitors who became leads or customers, newest first, with the total count. */
export async function listReferrals(db: DbOrTrx, affiliateId: string, opts: { limit: number; offset: number }) {
  const base = db
    .selectFrom('referrals')
    .where('affiliate_id', '=', affiliateId)
    .where('status', 'in', ['lead', 'customer']);
  const [rows, total] = await Promise.all([
    base
      .select(['id', 'status', 'email', 'created_at'])
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(opts.limit)
      .offset(opts.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: n(total.n) };
}

/** Sale conversions of these referrals, each with its (non-negative) commission when there is one. */
export function salesOfReferrals(db: DbOrTrx, affiliateId: string, referralIds: string[]) {
  if (referralIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('conversions as v')
    .leftJoin('commissions as c', (j) => j.onRef('c.conversion_id', '=', 'v.id').on('c.amount', '>=', 0))
    .select([
      'v.id',
      'v.referral_id',
      'v.amount',
      'v.currency',
      'v.customer_email',
      'v.occurred_at',
      'c.id as commission_id',
      'c.amount as commission_amount',
      'c.currency as commission_currency',
      'c.status as commission_status',
    ])
    .where('v.affiliate_id', '=', affiliateId)
    .where('v.kind', '=', 'sale')
    .where('v.referral_id', 'in', referralIds)
    .orderBy('v.occurred_at', 'desc')
    .execute();
}

function commissionsQuery(db: DbOrTrx, affiliateId: string) {
  return db
    .selectFrom('commissions as c')
    .leftJoin('conversions as v', 'v.id', 'c.conversion_id')
    .leftJoin('referrals as r', 'r.id', 'v.referral_id')
    .leftJoin('commission_rules as cr', 'cr.id', 'c.rule_id')
    .where('c.affiliate_id', '=', affiliateId);
}

const COMMISSION_COLUMNS = [
  'c.id',
  'c.amount',
  'c.currency',
  'c.kind',
  'c.rate_bps',
  'c.status',
  'c.payable_at',
  'c.approved_at',
  'c.paid_at',
  'c.payout_id',
  'c.reason',
  'c.created_at',
  'c.payment_month',
  'cr.name as rule_name',
  'v.amount as sale_amount',
  'v.currency as sale_currency',
  'v.occurred_at as sale_at',
  'v.customer_email',
  'r.email as referral_email',
] as const;

/** The affiliate's commissions, newest first, optionally of some statuses, with their sale. */
export async function listCommissions(
  db: DbOrTrx,
  affiliateId: string,
  opts: { statuses?: CommissionStatus[]; limit: number; offset: number },
) {
  let base = commissionsQuery(db, affiliateId);
  if (opts.statuses?.length) base = base.where('c.status', 'in', opts.statuses);
  const [rows, total] = await Promise.all([
    base
      .select(COMMISSION_COLUMNS)
      .orderBy('c.created_at', 'desc')
      .orderBy('c.id')
      .limit(opts.limit)
      .offset(opts.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: n(total.n) };
}

/** One commission of the affiliate (undefined when absent or someone else's). */
export function findCommission(db: DbOrTrx, affiliateId: string, id: string) {
  return commissionsQuery(db, affiliateId).select(COMMISSION_COLUMNS).where('c.id', '=', id).executeTakeFirst();
}

/** A commission's history (the append-only `commission_events`), oldest first. */
export function commissionEvents(db: DbOrTrx, commissionId: string) {
  return db
    .selectFrom('commission_events')
    .select(['from_status', 'to_status', 'amount', 'actor', 'reason', 'created_at'])
    .where('commission_id', '=', commissionId)
    .orderBy('id')
    .execute();
}

/** Every commission of the affiliate, oldest first, for the CSV export (bounded). */
export function allCommissions(db: DbOrTrx, affiliateId: string, limit: number) {
  return commissionsQuery(db, affiliateId)
    .select(COMMISSION_COLUMNS)
    .orderBy('c.created_at')
    .orderBy('c.id')
    .limit(limit)
    .execute();
}

/** The affiliate's payouts, newest first, with how many commissions each settles. */
export async function listPayouts(db: DbOrTrx, affiliateId: string, opts: { limit: number; offset: number }) {
  const base = db.selectFrom('payouts as p').where('p.affiliate_id', '=', affiliateId);
  const [rows, total] = await Promise.all([
    base
      .select((eb) => [
        'p.id',
        'p.amount',
        'p.currency',
        'p.status',
        'p.method',
        'p.reference',
        'p.failure_reason',
        'p.created_at',
        'p.completed_at',
        eb
          .selectFrom('commissions as c')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('c.payout_id', '=', 'p.id')
          .as('commissions'),
      ])
      .orderBy('p.created_at', 'desc')
      .orderBy('p.id')
      .limit(opts.limit)
      .offset(opts.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: n(total.n) };
}

export function findPayout(db: DbOrTrx, affiliateId: string, id: string) {
  return db
    .selectFrom('payouts')
    .select([
      'id',
      'amount',
      'currency',
      'status',
      'method',
      'reference',
      'failure_reason',
      'created_at',
      'completed_at',
    ])
    .where('affiliate_id', '=', affiliateId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Commissions one payout of the affiliate covered (`payout_items`, kept also after the payout failed). */
export function commissionsOfPayout(db: DbOrTrx, affiliateId: string, payoutId: string) {
  return commissionsQuery(db, affiliateId)
    .innerJoin('payout_items as pi', 'pi.commission_id', 'c.id')
    .select(COMMISSION_COLUMNS)
    .where('pi.payout_id', '=', payoutId)
    .orderBy('c.created_at')
    .orderBy('c.id')
    .execute();
}

/** Open payouts (pending or processing) of the affiliate, per currency. */
export async function openPayoutsByCurrency(db: DbOrTrx, affiliateId: string) {
  const rows = await db
    .selectFrom('payouts')
    .select((eb) => ['currency', eb.fn.countAll<number>().as('n')])
    .where('affiliate_id', '=', affiliateId)
    .where('status', 'in', ['pending', 'processing'])
    .groupBy('currency')
    .execute();
  return rows.map((r) => ({ currency: r.currency, n: n(r.n) }));
}
