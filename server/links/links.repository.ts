/** SQL for tracking links. */
import type { Insertable, Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { LinksTable } from '../db/schema.ts';

export function insertLink(db: DbOrTrx, row: Insertable<LinksTable>) {
  return db.insertInto('links').values(row).returningAll().executeTakeFirstOrThrow();
}

/** How many links the affiliate has (the dashboard's per-affiliate cap). */
export function countLinks(db: DbOrTrx, affiliateId: string) {
  return db
    .selectFrom('links')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('affiliate_id', '=', affiliateId)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n ?? 0));
}

export function listLinks(
  db: DbOrTrx,
  programId: string,
  opts: { affiliateId?: string; status: 'active' | 'archived'; limit: number; offset: number },
) {
  let q = db
    .selectFrom('links')
    .selectAll()
    .where('program_id', '=', programId)
    .where('archived_at', opts.status === 'active' ? 'is' : 'is not', null);
  if (opts.affiliateId) q = q.where('affiliate_id', '=', opts.affiliateId);
  return q.orderBy('created_at', 'desc').orderBy('id').limit(opts.limit).offset(opts.offset).execute();
}

/** A link by its global slug, with what a redirect needs (its program's site, to check the destination again). */
export function findLinkBySlug(db: DbOrTrx, slug: string) {
  return db
    .selectFrom('links')
    .innerJoin('affiliates', 'affiliates.id', 'links.affiliate_id')
    .innerJoin('programs', 'programs.id', 'links.program_id')
    .select([
      'links.id',
      'links.program_id',
      'links.affiliate_id',
      'links.slug',
      'links.destination_url',
      'links.archived_at',
      'affiliates.code',
      'affiliates.status as affiliate_status',
      'programs.website',
      'programs.allowed_domains',
    ])
    .where('links.slug', '=', slug)
    .executeTakeFirst();
}

/** Change a link of the program; undefined when it is not one. */
export function updateLink(db: DbOrTrx, programId: string, id: string, patch: Updateable<LinksTable>) {
  return db
    .updateTable('links')
    .set(patch)
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export function findLink(db: DbOrTrx, programId: string, id: string) {
  return db.selectFrom('links').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}
