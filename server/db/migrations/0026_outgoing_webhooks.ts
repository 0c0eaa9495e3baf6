/**
 * Outgoing webhooks (issue 21): a program's webhook endpoints, the outbox of events and one delivery per (event,
 * endpoint), with a log of every attempt.
 *
 * The outbox is written by statement-level triggers (with transition tables) on the tables whose changes are
 * reported — affiliates, referrals, conversions, commissions, payouts — so an event exists exactly when its change is
 * committed, whichever code path wrote it (services, the click group commit, jobs, the CLI, a hand-written SQL fix).
 * Each trigger:
 * - first checks that some endpoint is enabled at all (one index probe), so a database without endpoints pays
 *   almost nothing, the click hot path included;
 * - writes an event only for a program with an enabled endpoint subscribed to its type, and one delivery row per
 *   such endpoint: nothing is written for unsubscribed types;
 * - stores the changed row as it was (`to_jsonb`, without `password_hash` and payout details), which the
 *   delivery job maps to the admin API's public shape (`outgoing-webhooks/events.ts`).
 * Event ids (`msg_…`) are the Standard Webhooks `webhook-id`, the receiver's idempotency key.
 */
import { sql, type Kysely } from 'kysely';

/** The body of a trigger function: `candidates` selects (program_id, type, object_id, data) from the transition tables. */
function fanOut(candidates: string): string {
  return `
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled) THEN RETURN NULL; END IF;
  WITH c AS (${candidates}),
  s AS (
    SELECT c.program_id, c.type, c.object_id, c.data, e.id AS endpoint_id
    FROM c JOIN webhook_endpoints e ON e.program_id = c.program_id AND e.enabled AND c.type = ANY (e.event_types)
  ),
  ev AS (
    INSERT INTO webhook_events (id, program_id, type, object_id, data)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), d.program_id, d.type, d.object_id, d.data
    FROM (SELECT DISTINCT ON (program_id, type, object_id) program_id, type, object_id, data FROM s) d
    RETURNING id, program_id, type, object_id
  )
  INSERT INTO webhook_deliveries (id, event_id, endpoint_id, program_id, next_attempt_at)
  SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), ev.id, s.endpoint_id, ev.program_id, now()
  FROM ev JOIN s ON s.program_id = ev.program_id AND s.type = ev.type AND s.object_id = ev.object_id;
  RETURN NULL;
END`;
}

const AFFILIATE_ROW = `to_jsonb(n) - 'password_hash' - 'payout_details' || jsonb_build_object('has_password', n.password_hash IS NOT NULL)`;

/** [trigger name, table, operation, candidates]. */
const TRIGGERS: [string, string, 'INSERT' | 'UPDATE', string][] = [
  [
    'affiliates_insert',
    'affiliates',
    'INSERT',
    `SELECT n.program_id, CASE n.status WHEN 'pending' THEN 'affiliate.applied' ELSE 'affiliate.approved' END AS type,
            n.id AS object_id, ${AFFILIATE_ROW} AS data
     FROM new_rows n WHERE n.status IN ('pending', 'approved')`,
  ],
  [
    'affiliates_update',
    'affiliates',
    'UPDATE',
    `SELECT n.program_id, 'affiliate.' || n.status AS type, n.id AS object_id, ${AFFILIATE_ROW} AS data
     FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE o.status IS DISTINCT FROM n.status AND n.status IN ('approved', 'suspended')`,
  ],
  [
    'referrals_insert',
    'referrals',
    'INSERT',
    `SELECT n.program_id, 'referral.created' AS type, n.id AS object_id, to_jsonb(n) AS data FROM new_rows n`,
  ],
  [
    'referrals_update',
    'referrals',
    'UPDATE',
    `SELECT n.program_id, 'lead.created' AS type, n.id AS object_id, to_jsonb(n) AS data
     FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE o.status = 'visitor' AND n.status IN ('lead', 'customer')`,
  ],
  [
    'conversions_insert',
    'conversions',
    'INSERT',
    `SELECT n.program_id, 'conversion.created' AS type, n.id AS object_id, to_jsonb(n) AS data FROM new_rows n`,
  ],
  [
    'commissions_insert',
    'commissions',
    'INSERT',
    `SELECT n.program_id, t.type, n.id AS object_id, to_jsonb(n) AS data
     FROM new_rows n CROSS JOIN LATERAL (VALUES
       (CASE WHEN n.kind = 'clawback' THEN 'commission.reversed' ELSE 'commission.created' END),
       (CASE WHEN n.kind <> 'clawback' AND n.status = 'approved' THEN 'commission.approved' END)
     ) AS t(type)
     WHERE t.type IS NOT NULL`,
  ],
  [
    'commissions_update',
    'commissions',
    'UPDATE',
    `SELECT n.program_id,
            CASE WHEN n.status = 'approved' AND o.status IS DISTINCT FROM 'approved' THEN 'commission.approved'
                 ELSE 'commission.reversed' END AS type,
            n.id AS object_id, to_jsonb(n) AS data
     FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (n.status = 'approved' AND o.status IS DISTINCT FROM 'approved')
        OR (n.status = 'reversed' AND o.status IS DISTINCT FROM 'reversed')
        OR (n.status <> 'reversed' AND n.reversed_amount > o.reversed_amount)`,
  ],
  [
    'payouts_insert',
    'payouts',
    'INSERT',
    `SELECT n.program_id, t.type, n.id AS object_id, to_jsonb(n) AS data
     FROM new_rows n CROSS JOIN LATERAL (VALUES
       ('payout.created'),
       (CASE n.status WHEN 'completed' THEN 'payout.completed' WHEN 'failed' THEN 'payout.failed' END)
     ) AS t(type)
     WHERE t.type IS NOT NULL`,
  ],
  [
    'payouts_update',
    'payouts',
    'UPDATE',
    `SELECT n.program_id, 'payout.' || n.status AS type, n.id AS object_id, to_jsonb(n) AS data
     FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE o.status IS DISTINCT FROM n.status AND n.status IN ('completed', 'failed')`,
  ],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE webhook_endpoints (
      id text PRIMARY KEY,
      program_id text NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
      url text NOT NULL,
      description text,
      event_types text[] NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      secret text NOT NULL,
      previous_secret text,
      previous_secret_expires_at timestamptz,
      failing_since timestamptz,
      disabled_at timestamptz,
      disabled_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (program_id) WHERE enabled;

    CREATE TABLE webhook_events (
      id text PRIMARY KEY,
      program_id text NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
      type text NOT NULL,
      object_id text NOT NULL,
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);
    CREATE INDEX webhook_events_notices_idx ON webhook_events (type, created_at) WHERE type LIKE 'webhook\_endpoint.%';

    CREATE TABLE webhook_deliveries (
      id text PRIMARY KEY,
      event_id text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
      endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      program_id text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      last_attempt_at timestamptz,
      delivered_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (event_id, endpoint_id)
    );
    CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);

    CREATE TABLE webhook_delivery_attempts (
      id bigserial PRIMARY KEY,
      delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
      attempted_at timestamptz NOT NULL,
      status_code integer,
      latency_ms integer NOT NULL,
      response_excerpt text,
      error text,
      manual boolean NOT NULL DEFAULT false
    );
    CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id, id);
  `.execute(db);
  for (const [name, table, operation, candidates] of TRIGGERS) {
    const fn = `webhooks_${name}`;
    const transition =
      operation === 'INSERT'
        ? 'REFERENCING NEW TABLE AS new_rows'
        : 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows';
    await sql
      .raw(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$${fanOut(candidates)}$fn$;
        CREATE TRIGGER ${fn} AFTER ${operation} ON ${table} ${transition} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();`)
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name, table] of TRIGGERS) {
    await sql.raw(`DROP TRIGGER webhooks_${name} ON ${table}; DROP FUNCTION webhooks_${name}();`).execute(db);
  }
  await sql`
    DROP TABLE webhook_delivery_attempts;
    DROP TABLE webhook_deliveries;
    DROP TABLE webhook_events;
    DROP TABLE webhook_endpoints;
  `.execute(db);
}
