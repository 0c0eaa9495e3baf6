/** SQL for commission rules. Every query is scoped by program id. */
import type { Insertable, Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { CommissionRulesTable } from '../db/schema.ts';

export function insertRule(db: DbOrTrx, row: Insertable<CommissionRulesTable>) {
  return db.insertInto('commission_rules').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findRule(db: DbOrTrx, programId: string, id: string) {
  return db
    .selectFrom('commission_rules')
    .selectAll()
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Rules in evaluation order (ascending priority, then oldest first); archived ones only when asked. */
export function listRules(
  db: DbOrTrx,
  programId: string,
  opts: { event?: 'sale' | 'lead'; includeArchived?: boolean } = {},
) {
  let q = db.selectFrom('commission_rules').selectAll().where('program_id', '=', programId);
  if (!opts.includeArchived) q = q.where('archived_at', 'is', null);
  if (opts.event) q = q.where('event', '=', opts.event);
  return q.orderBy('priority').orderBy('created_at').orderBy('id').execute();
}

export function updateRule(db: DbOrTrx, programId: string, id: string, patch: Updateable<CommissionRulesTable>) {
  return db
    .updateTable('commission_rules')
    .set(patch)
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('archived_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}
