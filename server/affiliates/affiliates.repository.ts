/** SQL for affiliates. Every query is scoped by program id. */
import { sql, type Insertable, type Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { AffiliatesTable, AffiliateStatus, PartnerPayoutMethod } from '../db/schema.ts';

export function insertAffiliate(db: DbOrTrx, row: Insertable<AffiliatesTable>) {
  return db.insertInto('affiliates').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAffiliate(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('affiliates')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function findAffiliateByCode(db: DbOrTrx, programId: string, code: string) {
  return db
    .selectFrom('affiliates')
    .selectAll()
    .where('program_id', '=', programId)
    .where('code', '=', code)
    .executeTakeFirst();
}

export function findAffiliateById(db: DbOrTrx, id: string) {
  return db.selectFrom('affiliates').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Affiliates with this e-mail (case-insensitive) across programs, optionally in one program. */
export function findAffiliatesByEmail(db: DbOrTrx, email: string, programId?: string) {
  let q = db
    .selectFrom('affiliates')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()));
  if (programId) q = q.where('program_id', '=', programId);
  return q.limit(20).execute();
}

/**
 * An affiliate's earnings (`AFFILIATE_EARNINGS`, for `sort=earnings` and the CSV export): the sum (minor units) of its commissions that are pending, approved
 * or paid (clawbacks included, rejected and reversed ones not) in `currency`, from the `affiliate_commission_totals`
 * rollup (migration 0007), so sorting never scans commissions.
 */
const earningsOf = (currency: string) => sql<number>`coalesce((
    SELECT sum(t.amount) FROM affiliate_commission_totals t
     WHERE t.affiliate_id = affiliates.id AND t.currency = ${currency} AND t.status IN ('pending', 'approved', 'paid')
  ), 0)`;

export function listAffiliates(
  db: DbOrTrx,
  programId: string,
  opts: {
    status?: AffiliateStatus;
    search?: string;
    ids?: string[];
    sort?: 'created_at' | 'name' | 'earnings';
    order?: 'asc' | 'desc';
    /** The currency `sort=earnings` counts (the program's). */
    currency?: string;
    limit: number;
    offset: number;
  },
) {
  let q = db.selectFrom('affiliates').selectAll().where('program_id', '=', programId);
  if (opts.status) q = q.where('status', '=', opts.status);
  if (opts.ids) q = q.where('id', 'in', opts.ids);
  if (opts.search) {
    // A substring of the name, e-mail or code, any case; LIKE's own wildcards in the search are literal.
    const pattern = `%${opts.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or([eb('name', 'ilike', pattern), eb('email', 'ilike', pattern), eb('code', 'ilike', pattern)]),
    );
  }
  const sort = opts.sort ?? 'created_at';
  const order = opts.order ?? (sort === 'name' ? 'asc' : 'desc');
  if (sort === 'name') q = q.orderBy(sql`lower(name)`, order);
  else if (sort === 'earnings') q = q.orderBy(earningsOf(opts.currency ?? 'usd'), order).orderBy('created_at', 'desc');
  else q = q.orderBy('created_at', order);
  return q.orderBy('id').limit(opts.limit).offset(opts.offset).execute();
}

export function updateAffiliate(db: DbOrTrx, programId: string, id: string, patch: Updateable<AffiliatesTable>) {
  return db
    .updateTable('affiliates')
    .set(patch)
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Lock the affiliate row for a status change (serialises concurrent approve/suspend). */
export function lockAffiliate(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('affiliates')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** Where the affiliate is paid (set by the affiliate in the partner dashboard); `details` without empty fields. */
export function updatePayoutSettings(
  db: DbOrTrx,
  affiliateId: string,
  method: PartnerPayoutMethod,
  details: Record<string, string>,
  now: Date,
) {
  return db
    .updateTable('affiliates')
    .set({ payout_method: method, payout_details: JSON.stringify(details), payout_updated_at: now })
    .where('id', '=', affiliateId)
    .execute();
}

/**
 * Whether anything was ever recorded for the affiliate (a click, a referral, a conversion, a commission, a payout):
 * such an affiliate is kept (suspended, not deleted), because its money history must stay whole.
 */
export async function hasActivity(db: DbOrTrx, affiliateId: string): Promise<boolean> {
  const { rows } = await sql<{ active: boolean }>`
    SELECT EXISTS (SELECT 1 FROM clicks WHERE affiliate_id = ${affiliateId})
        OR EXISTS (SELECT 1 FROM referrals WHERE affiliate_id = ${affiliateId})
        OR EXISTS (SELECT 1 FROM conversions WHERE affiliate_id = ${affiliateId})
        OR EXISTS (SELECT 1 FROM commissions WHERE affiliate_id = ${affiliateId})
        OR EXISTS (SELECT 1 FROM payouts WHERE affiliate_id = ${affiliateId}) AS active
  `.execute(db);
  return rows[0]!.active;
}

/** Delete the affiliate row (links, sessions, tokens and its rule overrides go with it: ON DELETE CASCADE). */
export function deleteAffiliate(db: DbOrTrx, programId: string, id: string) {
  return db.deleteFrom('affiliates').where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

/** `AFFILIATE_EARNINGS` (see `earningsOf`) of each of `ids` in `currency`, minor units; absent ids earned 0. */
export async function earningsOfAffiliates(db: DbOrTrx, ids: string[], currency: string): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('affiliate_commission_totals')
    .select(['affiliate_id', (eb) => eb.fn.sum<string>('amount').as('amount')])
    .where('affiliate_id', 'in', ids)
    .where('currency', '=', currency)
    .where('status', 'in', ['pending', 'approved', 'paid'])
    .groupBy('affiliate_id')
    .execute();
  return new Map(rows.map((r) => [r.affiliate_id, Number(r.amount)]));
}
