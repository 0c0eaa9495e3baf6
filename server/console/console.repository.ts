/**
 * SQL of the merchant console: console users, their memberships (user ↔ program, role), one-time tokens,
 * sessions and the first-run setup token. The token, session and lockout functions form `consoleUserStore`, the
 * `SubjectStore` the shared access mechanism (`partner/access/access.service.ts` `createSubjectAccess`) runs on,
 * so console users get the same sessions, one-time links and lockout as partners, over their own tables.
 */
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ConsoleRole } from '../db/schema.ts';
import type { SessionRow, SubjectStore, TokenPurpose } from '../partner/access/access.repository.ts';

/** A console user's session as the look-up reads it (`subject_id` is the user id). */
export interface ConsoleSessionRow extends SessionRow {
  email: string;
}

export const consoleUserStore: SubjectStore<ConsoleSessionRow> = {
  insertToken: (db, row) => {
    const { subject_id, ...rest } = row;
    return db
      .insertInto('console_tokens')
      .values({ ...rest, user_id: subject_id })
      .execute();
  },
  async findUsableToken(db, tokenHash, now) {
    const row = await db
      .selectFrom('console_tokens as t')
      .innerJoin('console_users as u', 'u.id', 't.user_id')
      .select(['t.user_id'])
      .where('t.token_hash', '=', tokenHash)
      .where('t.used_at', 'is', null)
      .where('t.expires_at', '>', now)
      .executeTakeFirst();
    return row && { subject_id: row.user_id, can_log_in: true };
  },
  async lockUsableToken(db, tokenHash, now) {
    const row = await db
      .selectFrom('console_tokens')
      .select(['token_hash', 'user_id'])
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .forUpdate()
      .executeTakeFirst();
    return row && { token_hash: row.token_hash, subject_id: row.user_id };
  },
  markTokenUsed: (db, tokenHash, now) =>
    db.updateTable('console_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash).execute(),
  retireTokens: (db, subjectId, purpose: TokenPurpose, now) =>
    db
      .updateTable('console_tokens')
      .set({ used_at: now })
      .where('user_id', '=', subjectId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute(),
  async canLogIn(db, subjectId) {
    return !!(await db.selectFrom('console_users').select('id').where('id', '=', subjectId).executeTakeFirst());
  },
  insertSession: (db, row) => {
    const { subject_id, ...rest } = row;
    return db
      .insertInto('console_sessions')
      .values({ ...rest, user_id: subject_id })
      .execute();
  },
  findSession: (db, idHash, now) =>
    db
      .selectFrom('console_sessions as s')
      .innerJoin('console_users as u', 'u.id', 's.user_id')
      .select([
        's.id_hash',
        's.csrf_token',
        's.last_seen_at',
        'u.id as subject_id',
        'u.email',
        sql<boolean>`u.password_hash IS NOT NULL`.as('can_log_in'),
      ])
      .where('s.id_hash', '=', idHash)
      .where('s.expires_at', '>', now)
      .executeTakeFirst(),
  touchSession: (db, idHash, now) =>
    db.updateTable('console_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute(),
  deleteSession: (db, idHash) => db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute(),
  deleteSubjectSessions: (db, subjectId, exceptIdHash) => {
    let q = db.deleteFrom('console_sessions').where('user_id', '=', subjectId);
    if (exceptIdHash) q = q.where('id_hash', '!=', exceptIdHash);
    return q.execute();
  },
  setPasswordHash: (db, subjectId, passwordHash) =>
    db
      .updateTable('console_users')
      .set({ password_hash: passwordHash, failed_logins: 0, locked_until: null })
      .where('id', '=', subjectId)
      .execute(),
  // Same statement as the affiliates' (access.repository.ts `reserveLoginAttempt`), over console_users.
  async reserveLoginAttempt(db, subjectId, threshold, now, lockUntil) {
    const { rows } = await sql<{ failed_logins: number }>`
      UPDATE console_users SET
        failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END,
        locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END) >= ${threshold}::int
                            THEN ${lockUntil}::timestamptz END
      WHERE id = ${subjectId} AND (locked_until IS NULL OR locked_until <= ${now}::timestamptz)
      RETURNING failed_logins`.execute(db);
    return rows[0]?.failed_logins ?? null;
  },
  async lockedUntil(db, subjectId, now) {
    const row = await db
      .selectFrom('console_users')
      .select('locked_until')
      .where('id', '=', subjectId)
      .where('locked_until', '>', now)
      .executeTakeFirst();
    return row?.locked_until ?? null;
  },
  clearFailedLogins: (db, subjectId) =>
    db
      .updateTable('console_users')
      .set({ failed_logins: 0, locked_until: null })
      .where('id', '=', subjectId)
      .where((eb) => eb.or([eb('failed_logins', '>', 0), eb('locked_until', 'is not', null)]))
      .execute(),
};

// ---------------------------------------------------------------------------------------------------------
// Users and memberships

export function findUserByEmail(db: DbOrTrx, email: string) {
  return db
    .selectFrom('console_users')
    .selectAll()
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

export function findUserById(db: DbOrTrx, id: string) {
  return db.selectFrom('console_users').selectAll().where('id', '=', id).executeTakeFirst();
}

export function insertUser(db: DbOrTrx, row: { id: string; email: string; password_hash: string | null }) {
  return db.insertInto('console_users').values(row).execute();
}

export async function countUsers(db: DbOrTrx): Promise<number> {
  const row = await db
    .selectFrom('console_users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countPrograms(db: DbOrTrx): Promise<number> {
  const row = await db
    .selectFrom('programs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The programs a user belongs to, with the role, oldest membership first. */
export function listMemberships(db: DbOrTrx, userId: string) {
  return db
    .selectFrom('console_memberships as m')
    .innerJoin('programs as p', 'p.id', 'm.program_id')
    .select(['m.program_id', 'm.role', 'p.name'])
    .where('m.user_id', '=', userId)
    .orderBy('m.created_at')
    .orderBy('m.program_id')
    .execute();
}

export async function findRole(db: DbOrTrx, userId: string, programId: string): Promise<ConsoleRole | null> {
  const row = await db
    .selectFrom('console_memberships')
    .select('role')
    .where('user_id', '=', userId)
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return row?.role ?? null;
}

export function upsertMembership(db: DbOrTrx, row: { user_id: string; program_id: string; role: ConsoleRole }) {
  return db
    .insertInto('console_memberships')
    .values(row)
    .onConflict((oc) => oc.columns(['user_id', 'program_id']).doUpdateSet({ role: row.role }))
    .execute();
}

/** The members of a program with whether they have set a password yet. */
export function listMembers(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('console_memberships as m')
    .innerJoin('console_users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.email', 'm.role', 'm.created_at', sql<boolean>`u.password_hash IS NOT NULL`.as('active')])
    .where('m.program_id', '=', programId)
    .orderBy('m.created_at')
    .orderBy('u.id')
    .execute();
}

/** Lock the program's memberships (so two removals cannot both leave it without an owner). */
export function lockMembers(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('console_memberships')
    .select(['user_id', 'role'])
    .where('program_id', '=', programId)
    .forUpdate()
    .execute();
}

export function deleteMembership(db: DbOrTrx, userId: string, programId: string) {
  return db
    .deleteFrom('console_memberships')
    .where('user_id', '=', userId)
    .where('program_id', '=', programId)
    .executeTakeFirst();
}

// ---------------------------------------------------------------------------------------------------------
// First-run setup token

/** Retire every unused setup token and store a new one (its hash). */
export async function replaceSetupToken(db: DbOrTrx, tokenHash: string, now: Date, expiresAt: Date) {
  await db.updateTable('console_setup_tokens').set({ used_at: now }).where('used_at', 'is', null).execute();
  await db.insertInto('console_setup_tokens').values({ token_hash: tokenHash, expires_at: expiresAt }).execute();
}

/** Lock an unused, unexpired setup token, or undefined. */
export function lockSetupToken(db: DbOrTrx, tokenHash: string, now: Date) {
  return db
    .selectFrom('console_setup_tokens')
    .select('token_hash')
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .forUpdate()
    .executeTakeFirst();
}

export function markSetupTokenUsed(db: DbOrTrx, tokenHash: string, now: Date) {
  return db.updateTable('console_setup_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash).execute();
}

// ---------------------------------------------------------------------------------------------------------
// Onboarding

/** What the onboarding checklist reads of a program: secrets set, first click, first verified Stripe event. */
export async function onboardingFacts(db: DbOrTrx, programId: string) {
  const [secret, click, event] = await Promise.all([
    db
      .selectFrom('stripe_webhook_secrets')
      .select('id')
      .where('program_id', '=', programId)
      .where('revoked_at', 'is', null)
      .limit(1)
      .executeTakeFirst(),
    // The earliest click of each of the program's affiliates (clicks are indexed by affiliate and time).
    sql<{ at: Date | null }>`
      SELECT min(c.created_at) AS at FROM affiliates a,
        LATERAL (SELECT created_at FROM clicks WHERE affiliate_id = a.id ORDER BY created_at LIMIT 1) c
      WHERE a.program_id = ${programId}`.execute(db),
    // Every stored event passed the signature check (ingest.ts stores nothing unverified).
    db
      .selectFrom('stripe_events')
      .select(['received_at', 'type'])
      .where('program_id', '=', programId)
      .limit(1)
      .executeTakeFirst(),
  ]);
  return {
    secretSet: !!secret,
    firstClickAt: click.rows[0]?.at ?? null,
    firstEvent: event ? { at: event.received_at, type: event.type } : null,
  };
}
