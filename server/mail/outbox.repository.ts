/**
 * SQL of the e-mail outbox (`email_outbox`, `email_unsubscribes`, migration 0029). Functions take `db | trx`
 * first. Times: `at` is the app's clock; rows written by triggers use the database's, so "due" is whichever is
 * later (tests move the app's clock forward).
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, EmailOutboxTable } from '../db/schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type OutboxRow = Selectable<EmailOutboxTable>;

/**
 * Claim up to `limit` due rows for this process: `FOR UPDATE SKIP LOCKED` (a row another instance is claiming is
 * skipped), then leased for `leaseMs` (`locked_until`) with `attempts + 1`, so a crashed sender's rows come back.
 */
export async function claimDue(db: Q, at: Date, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  const r = await sql<OutboxRow>`
    UPDATE email_outbox SET locked_until = greatest(now(), ${at}::timestamptz) + ${`${leaseMs} milliseconds`}::interval,
      attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM email_outbox
      WHERE status = 'pending' AND available_at <= greatest(now(), ${at}::timestamptz)
        AND (locked_until IS NULL OR locked_until <= greatest(now(), ${at}::timestamptz))
      ORDER BY available_at, id LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING *`.execute(db);
  return r.rows;
}

/** The row is done: `sent`, `skipped` (unsubscribed, no recipient) or `failed` (retries exhausted). */
export async function finish(
  db: Q,
  id: string,
  status: 'sent' | 'skipped' | 'failed',
  o: { at: Date; recipient?: string | null; error?: string | null },
): Promise<void> {
  await db
    .updateTable('email_outbox')
    .set({
      status,
      done_at: sql`greatest(now(), ${o.at}::timestamptz)`,
      locked_until: null,
      // The sealed set-password link is not kept once the mail is done.
      secret: null,
      recipient: o.recipient ?? null,
      last_error: o.error ?? null,
    })
    .where('id', '=', id)
    .execute();
}

/** Try again after `delayMs`; `countAttempt: false` gives the claim's attempt back (a wait, not a failure). */
export async function retryLater(
  db: Q,
  id: string,
  o: { at: Date; delayMs: number; error: string | null; countAttempt: boolean },
): Promise<void> {
  await db
    .updateTable('email_outbox')
    .set({
      available_at: sql`greatest(now(), ${o.at}::timestamptz) + ${`${o.delayMs} milliseconds`}::interval`,
      locked_until: null,
      last_error: o.error,
      ...(o.countAttempt ? {} : { attempts: sql`attempts - 1` }),
    })
    .where('id', '=', id)
    .execute();
}

/** Put a sealed set-password link on the affiliate's unsent approval mail. @returns whether there was one */
export async function attachSecret(db: Q, affiliateId: string, sealed: string): Promise<boolean> {
  const r = await db
    .updateTable('email_outbox')
    .set({ secret: sealed })
    .where('affiliate_id', '=', affiliateId)
    .where('kind', '=', 'affiliate_approved')
    .where('status', '=', 'pending')
    .returning('id')
    .execute();
  return r.length > 0;
}

/** Delete up to `limit` rows done before `before`. @returns how many */
export async function pruneDone(db: Q, before: Date, limit: number): Promise<number> {
  const r = await sql`
    DELETE FROM email_outbox WHERE id IN (
      SELECT id FROM email_outbox WHERE status <> 'pending' AND done_at < ${before} LIMIT ${limit}
    )`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export async function isUnsubscribed(db: Q, programId: string, email: string, kind: string): Promise<boolean> {
  const r = await db
    .selectFrom('email_unsubscribes')
    .select('kind')
    .where('program_id', '=', programId)
    .where('email', '=', email.toLowerCase())
    .where('kind', '=', kind)
    .executeTakeFirst();
  return r !== undefined;
}

export async function unsubscribedKinds(db: Q, programId: string, email: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('email_unsubscribes')
    .select('kind')
    .where('program_id', '=', programId)
    .where('email', '=', email.toLowerCase())
    .execute();
  return new Set(rows.map((r) => r.kind));
}

export async function unsubscribe(db: Q, programId: string, email: string, kind: string): Promise<void> {
  await db
    .insertInto('email_unsubscribes')
    .values({ program_id: programId, email: email.toLowerCase(), kind })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function resubscribe(db: Q, programId: string, email: string, kind: string): Promise<void> {
  await db
    .deleteFrom('email_unsubscribes')
    .where('program_id', '=', programId)
    .where('email', '=', email.toLowerCase())
    .where('kind', '=', kind)
    .execute();
}
