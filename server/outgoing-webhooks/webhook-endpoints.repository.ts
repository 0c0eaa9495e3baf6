/** SQL of outgoing webhooks: endpoints, the outbox (`webhook_events`), deliveries and their attempt log (migration 0026). */
import { sql, type Insertable, type Updateable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { WebhookEndpointsTable } from '../db/schema.ts';

export function listEndpoints(db: DbOrTrx, programId: string) {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('program_id', '=', programId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export function findEndpoint(db: DbOrTrx, programId: string, id: string, lock = false) {
  let q = db.selectFrom('webhook_endpoints').selectAll().where('program_id', '=', programId).where('id', '=', id);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

export function insertEndpoint(db: DbOrTrx, row: Insertable<WebhookEndpointsTable>) {
  return db.insertInto('webhook_endpoints').values(row).returningAll().executeTakeFirstOrThrow();
}

export function updateEndpoint(db: DbOrTrx, programId: string, id: string, set: Updateable<WebhookEndpointsTable>) {
  return db
    .updateTable('webhook_endpoints')
    .set(set)
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export function deleteEndpoint(db: DbOrTrx, programId: string, id: string) {
  return db
    .deleteFrom('webhook_endpoints')
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .returning('id')
    .executeTakeFirst();
}

/** The endpoint's deliveries, newest first, with their event's type. */
export function listDeliveries(db: DbOrTrx, endpointId: string, limit: number, deliveryId?: string) {
  let q = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.event_id',
      'e.type',
      'd.status',
      'd.attempts',
      'd.next_attempt_at',
      'd.last_attempt_at',
      'd.delivered_at',
      'd.created_at',
    ])
    .where('d.endpoint_id', '=', endpointId);
  if (deliveryId) q = q.where('d.id', '=', deliveryId);
  return q.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(limit).execute();
}

/** The attempts of these deliveries, oldest first. */
export function listAttempts(db: DbOrTrx, deliveryIds: string[]) {
  if (deliveryIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('webhook_delivery_attempts')
    .selectAll()
    .where('delivery_id', 'in', deliveryIds)
    .orderBy('id')
    .execute();
}

/** What one attempt needs: the delivery, its endpoint (url, sealed secrets), event and the program's website. */
export interface ClaimedDelivery {
  id: string;
  event_id: string;
  endpoint_id: string;
  program_id: string;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  type: string;
  data: Record<string, unknown>;
  event_created_at: Date;
  website: string;
}

/**
 * Claim up to `limit` due deliveries of enabled endpoints (`FOR UPDATE SKIP LOCKED`: several instances claim disjoint
 * sets) and lease them until `leaseUntil` (a process that dies while sending leaves them due again then); counts the
 * attempt.
 */
export async function claimDue(db: DbOrTrx, at: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    WITH due AS (
      SELECT d.id FROM webhook_deliveries d
      JOIN webhook_endpoints ep ON ep.id = d.endpoint_id AND ep.enabled
      WHERE d.status = 'pending' AND d.next_attempt_at <= ${at}
      ORDER BY d.next_attempt_at
      LIMIT ${limit}
      FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
      UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = ${leaseUntil}, last_attempt_at = ${at}
      FROM due WHERE d.id = due.id
      RETURNING d.id, d.event_id, d.endpoint_id, d.program_id, d.attempts
    )
    SELECT c.*, ep.url, ep.secret, ep.previous_secret, ep.previous_secret_expires_at, ev.type, ev.data,
           ev.created_at AS event_created_at, p.website
    FROM claimed c
    JOIN webhook_endpoints ep ON ep.id = c.endpoint_id
    JOIN webhook_events ev ON ev.id = c.event_id
    JOIN programs p ON p.id = c.program_id`.execute(db);
  return rows;
}

/** One delivery with what an attempt needs (manual redelivery), unclaimed. */
export async function loadDelivery(db: DbOrTrx, endpointId: string, deliveryId: string) {
  const { rows } = await sql<ClaimedDelivery>`
    SELECT d.id, d.event_id, d.endpoint_id, d.program_id, d.attempts, ep.url, ep.secret, ep.previous_secret,
           ep.previous_secret_expires_at, ev.type, ev.data, ev.created_at AS event_created_at, p.website
    FROM webhook_deliveries d
    JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
    JOIN webhook_events ev ON ev.id = d.event_id
    JOIN programs p ON p.id = d.program_id
    WHERE d.id = ${deliveryId} AND d.endpoint_id = ${endpointId}`.execute(db);
  return rows[0];
}

export function insertAttempt(
  db: DbOrTrx,
  a: {
    delivery_id: string;
    attempted_at: Date;
    status_code: number | null;
    latency_ms: number;
    response_excerpt: string | null;
    error: string | null;
    manual: boolean;
  },
) {
  return db.insertInto('webhook_delivery_attempts').values(a).execute();
}

export function markDelivered(db: DbOrTrx, id: string, at: Date) {
  return db
    .updateTable('webhook_deliveries')
    .set({ status: 'delivered', delivered_at: at, next_attempt_at: null })
    .where('id', '=', id)
    .execute();
}

/** After a failed attempt: due again at `next`, or failed for good when `next` is null. */
export function markFailedAttempt(db: DbOrTrx, id: string, next: Date | null) {
  return db
    .updateTable('webhook_deliveries')
    .set(next ? { next_attempt_at: next } : { status: 'failed', next_attempt_at: null })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}

export function clearFailing(db: DbOrTrx, endpointId: string) {
  return db
    .updateTable('webhook_endpoints')
    .set({ failing_since: null })
    .where('id', '=', endpointId)
    .where('failing_since', 'is not', null)
    .execute();
}

/** Note a failure: `failing_since` starts now unless already failing. @returns since when it has been failing */
export async function noteFailing(db: DbOrTrx, endpointId: string, at: Date): Promise<Date | null> {
  const row = await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: sql<Date>`coalesce(failing_since, ${at}::timestamptz)` })
    .where('id', '=', endpointId)
    .returning('failing_since')
    .executeTakeFirst();
  return row?.failing_since ?? null;
}

/** Disable the endpoint if it is still enabled and failing since `before` or earlier; @returns the row when it flipped. */
export function disableFailing(db: DbOrTrx, endpointId: string, before: Date, at: Date, reason: string) {
  return db
    .updateTable('webhook_endpoints')
    .set({ enabled: false, disabled_at: at, disabled_reason: reason, updated_at: at })
    .where('id', '=', endpointId)
    .where('enabled', '=', true)
    .where('failing_since', '<=', before)
    .returningAll()
    .executeTakeFirst();
}

/** An outbox row that is not sent to endpoints (a notice for the program's owner, e.g. `webhook_endpoint.disabled`). */
export function insertNotice(
  db: DbOrTrx,
  n: { id: string; program_id: string; type: string; object_id: string; data: unknown; created_at: Date },
) {
  return db
    .insertInto('webhook_events')
    .values({ ...n, data: JSON.stringify(n.data) })
    .execute();
}

/**
 * Forget events older than `before` that no delivery waits for (their deliveries and attempts go with them), at
 * most `limit` a call. @returns how many events were forgotten
 */
export async function pruneEvents(db: DbOrTrx, before: Date, limit: number): Promise<number> {
  const res = await sql`
    DELETE FROM webhook_events WHERE id IN (
      SELECT ev.id FROM webhook_events ev
      WHERE ev.created_at < ${before}
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id AND d.status = 'pending')
      ORDER BY ev.created_at
      LIMIT ${limit}
    )`.execute(db);
  return Number(res.numAffectedRows ?? 0);
}
