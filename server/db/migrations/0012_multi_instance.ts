/**
 * Several app processes on one database (docs/operations.md): what they must share, created here, under the
 * migrator's lock (Kysely takes a PostgreSQL advisory lock around a migration run, so N processes starting at once
 * apply it once).
 *
 * 1. `rate_limits`: the partner-side rate-limit counters (login per IP and per e-mail + IP, set-password/reset tokens
 *    per IP, reset mails per address, applications per IP). They lived in each process's memory, so N processes
 *    behind a load balancer allowed N times each limit. The table is rate-limiter-flexible's `RateLimiterPostgres`
 *    store (`key`, `points`, `expire` in epoch ms, in that order: the library inserts `VALUES ($1, $2, $3)`), made
 *    here instead of by the library at run time (`tableCreated: true`). `key` is `text` (the library's own is
 *    `varchar(255)`). Each consume is one `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING`: the row lock counts
 *    parallel attempts one after another. The index serves the library's periodic `DELETE … WHERE expire < $1`.
 *    The account lockout stays on `affiliates` (`failed_logins`, `locked_until`, migration 0004).
 *
 * 2. Agenda's table `agenda_jobs`, as @agendajs/postgres-backend 3.0.6 creates it (`schema.js`: table, its later
 *    columns, indexes, `updated_at` trigger), so the scheduler runs with `ensureSchema: false`. The backend ran that
 *    DDL on every start, outside any lock, and from several processes at once it collided (`23505` on `pg_class` /
 *    `pg_proc`, `42710` trigger exists; `CREATE OR REPLACE FUNCTION` can also fail with "tuple concurrently
 *    updated"): the failed `connect()` was an unhandled rejection and Agenda's `ready` never resolved, so the
 *    process hung in `start()` (seen with three processes starting on a fresh database: every time).
 *    `AGENDA_SCHEMA` is kept equal to the installed backend's own SQL by test/unit/agenda-schema.test.ts: when an
 *    upgrade changes it, that test fails and a new migration brings the table along.
 */
import { sql, type Kysely } from 'kysely';

/** @agendajs/postgres-backend 3.0.6's DDL for `agenda_jobs` (`getCreateTableSQL`, `getMigrationSQL`, …), in order. */
export const AGENDA_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS "agenda_jobs" (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    next_run_at TIMESTAMPTZ,
    type VARCHAR(10) NOT NULL DEFAULT 'normal' CHECK (type IN ('normal', 'single')),
    locked_at TIMESTAMPTZ,
    last_finished_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ,
    fail_count INTEGER DEFAULT NULL,
    fail_reason TEXT,
    repeat_timezone VARCHAR(100),
    last_run_at TIMESTAMPTZ,
    repeat_interval VARCHAR(255),
    data JSONB DEFAULT '{}'::jsonb,
    repeat_at VARCHAR(255),
    disabled BOOLEAN DEFAULT FALSE,
    progress REAL,
    fork BOOLEAN DEFAULT FALSE,
    last_modified_by VARCHAR(255),
    debounce_started_at TIMESTAMPTZ,
    start_date TIMESTAMPTZ,
    end_date TIMESTAMPTZ,
    skip_days JSONB,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
  );`,
  // Columns the backend added after its first schema (tables created by an older backend lack them).
  `ALTER TABLE "agenda_jobs" ADD COLUMN IF NOT EXISTS start_date TIMESTAMPTZ`,
  `ALTER TABLE "agenda_jobs" ADD COLUMN IF NOT EXISTS end_date TIMESTAMPTZ`,
  `ALTER TABLE "agenda_jobs" ADD COLUMN IF NOT EXISTS skip_days JSONB`,
  `CREATE INDEX IF NOT EXISTS "agenda_jobs_find_and_lock_idx"
    ON "agenda_jobs" (name, next_run_at, priority DESC, locked_at, disabled)
    WHERE disabled = FALSE`,
  `CREATE UNIQUE INDEX IF NOT EXISTS "agenda_jobs_single_job_idx"
    ON "agenda_jobs" (name) WHERE type = 'single'`,
  `CREATE INDEX IF NOT EXISTS "agenda_jobs_locked_at_idx"
    ON "agenda_jobs" (locked_at) WHERE locked_at IS NOT NULL`,
  `CREATE INDEX IF NOT EXISTS "agenda_jobs_next_run_at_idx"
    ON "agenda_jobs" (next_run_at) WHERE next_run_at IS NOT NULL`,
  `CREATE OR REPLACE FUNCTION update_agenda_jobs_updated_at()
    RETURNS TRIGGER AS $$
    BEGIN
      NEW.updated_at = NOW();
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;

    DROP TRIGGER IF EXISTS "agenda_jobs_updated_at_trigger" ON "agenda_jobs";

    CREATE TRIGGER "agenda_jobs_updated_at_trigger"
    BEFORE UPDATE ON "agenda_jobs"
    FOR EACH ROW
    EXECUTE FUNCTION update_agenda_jobs_updated_at();`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE rate_limits (
      key    text PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    );
    CREATE INDEX rate_limits_expire_idx ON rate_limits (expire);
  `.execute(db);
  for (const statement of AGENDA_SCHEMA) await sql.raw(statement).execute(db);
}

/** Drops `rate_limits` only: `agenda_jobs` holds the schedules and pending retries, and may predate this. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE rate_limits`.execute(db);
}
