/** SQL for partner tokens and sessions, and the affiliate's own numbers. */
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';

export function insertToken(
  db: DbOrTrx,
  row: { token_hash: string; affiliate_id: string; purpose: 'set_password' | 'reset_password'; expires_at: Date },
) {
  return db.insertInto('partner_tokens').values(row).execute();
}

/** Lock an unused, unexpired token (one-time use under concurrency). */
export function lockUsableToken(db: DbOrTrx, tokenHash: string, now: Date) {
  return db
    .selectFrom('partner_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .forUpdate()
    .executeTakeFirst();
}

export function markTokenUsed(db: DbOrTrx, tokenHash: string, now: Date) {
  return db.updateTable('partner_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash).execute();
}

export function insertSession(
  db: DbOrTrx,
  row: { id_hash: string; affiliate_id: string; csrf_token: string; ip: string | null; user_agent: string | null; expires_at: Date },
) {
  return db.insertInto('partner_sessions').values(row).execute();
}

/** The session and its affiliate, when unexpired and the affiliate may still log in. */
export function findSession(db: DbOrTrx, idHash: string, now: Date) {
  return db
    .selectFrom('partner_sessions as s')
    .innerJoin('affiliates as a', 'a.id', 's.affiliate_id')
    .select(['s.id_hash', 's.csrf_token', 's.expires_at', 'a.id as affiliate_id', 'a.program_id', 'a.status'])
    .where('s.id_hash', '=', idHash)
    .where('s.expires_at', '>', now)
    .executeTakeFirst();
}

export function deleteSession(db: DbOrTrx, idHash: string) {
  return db.deleteFrom('partner_sessions').where('id_hash', '=', idHash).execute();
}

export function deleteAffiliateSessions(db: DbOrTrx, affiliateId: string) {
  return db.deleteFrom('partner_sessions').where('affiliate_id', '=', affiliateId).execute();
}

/** Clicks and sale conversions of one affiliate. */
export async function countActivity(db: DbOrTrx, affiliateId: string) {
  const row = await db
    .selectNoFrom((eb) => [
      eb.selectFrom('clicks').select(eb.fn.countAll<number>().as('n')).where('affiliate_id', '=', affiliateId).as('clicks'),
      eb
        .selectFrom('conversions')
        .select(eb.fn.countAll<number>().as('n'))
        .where('affiliate_id', '=', affiliateId)
        .where('kind', '=', 'sale')
        .as('conversions'),
    ])
    .executeTakeFirstOrThrow();
  return { clicks: Number(row.clicks ?? 0), conversions: Number(row.conversions ?? 0) };
}

/** Commission totals of one affiliate per currency and status (minor units). */
export function commissionTotals(db: DbOrTrx, affiliateId: string) {
  return db
    .selectFrom('commissions')
    .select(['currency', 'status', sql<number>`coalesce(sum(amount), 0)::bigint`.as('total')])
    .where('affiliate_id', '=', affiliateId)
    .groupBy(['currency', 'status'])
    .execute();
}
