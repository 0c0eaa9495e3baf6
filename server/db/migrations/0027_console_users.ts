/**
 * The merchant console (issue 20): console users (e-mail, argon2id password, the same lockout columns as
 * affiliates), their memberships in programs with a role, one-time tokens (invitations, resets), sessions (kept in
 * PostgreSQL so every instance shares them) and the first-run setup token. Secrets are stored as SHA-256 hashes.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE console_users (
      id text PRIMARY KEY,
      email text NOT NULL,
      password_hash text,
      failed_logins integer NOT NULL DEFAULT 0,
      locked_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX console_users_email_idx ON console_users (lower(email));
    CREATE TABLE console_memberships (
      user_id text NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
      program_id text NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, program_id)
    );
    CREATE INDEX console_memberships_program_idx ON console_memberships (program_id);
    CREATE TABLE console_tokens (
      token_hash text PRIMARY KEY,
      user_id text NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
      purpose text NOT NULL CHECK (purpose IN ('set_password', 'reset_password')),
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX console_tokens_user_idx ON console_tokens (user_id);
    CREATE TABLE console_sessions (
      id_hash text PRIMARY KEY,
      user_id text NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
      csrf_token text NOT NULL,
      ip text,
      user_agent text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
    CREATE TABLE console_setup_tokens (
      token_hash text PRIMARY KEY,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE console_setup_tokens;
    DROP TABLE console_sessions;
    DROP TABLE console_tokens;
    DROP TABLE console_memberships;
    DROP TABLE console_users;
  `.execute(db);
}
