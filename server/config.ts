/**
 * Configuration, parsed once from the environment with zod, frozen, and passed to everything else.
 * Nothing outside this module reads `process.env` (see ARCHITECTURE.md, "Rules of the house").
 *
 * Variables (all optional):
 * - `DATABASE_URL`  an existing PostgreSQL; unset = embedded PostgreSQL under `DATA_DIR/pg`
 * - `DATA_DIR`      where development state lives (embedded database, generated secret), default `./.data`
 * - `PORT`          HTTP port, default 3000 (0 = any free port, used by tests)
 * - `HOST`          interface to bind, default `0.0.0.0`
 * - `PUBLIC_URL`    the origin merchants and affiliates reach us at, default `http://localhost:<PORT>`
 * - `SECRET_KEY`    at least 32 characters; unset = generated once and kept in `DATA_DIR/secret.key`; stored Stripe
 *                   keys and webhook secrets are encrypted with keys derived from it (`secrets.ts`)
 * - `SECRET_KEY_PREVIOUS` the key before a rotation: still opens stored secrets until `secrets rotate` re-encrypts them
 * - `SMTP_URL`      optional mail transport for partner e-mails
 * - `JOBS`          `on` (default) runs Agenda workers in this process, `off` does not
 * - `LOG_LEVEL`     `silent` | `fatal` | `error` | `warn` | `info` (default) | `debug` (adds one line per request) |
 *                   `trace`; logs are JSON lines on stdout (`lib/logger.ts`)
 * - `METRICS_TOKEN` at least 16 printable characters: `GET /metrics` answers with `Authorization: Bearer <token>`;
 *                   unset = no `/metrics` at all (404): metrics are off by default (`http/observability.ts`)
 * - `TRUST_PROXY`   `on` (= `1`) behind one load balancer, `N` behind N proxies (a CDN in front of a load balancer:
 *                   `2`): the client IP is the Nth `X-Forwarded-For` entry from the right, the one our own proxies
 *                   wrote; entries further left are the client's own words (default `off`)
 * - `WEBHOOK_ALLOW_PRIVATE` `on` lets outgoing webhooks reach private, loopback and link-local addresses (tests,
 *                   intranets); default `off`: such endpoints are refused (no server-side request forgery)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './lib/logger.ts';

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  SECRET_KEY_PREVIOUS: z.string().min(32, 'must be at least 32 characters').optional(),
  SMTP_URL: z.string().optional(),
  JOBS: z.enum(['on', 'off']).default('on'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  METRICS_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(200, 'must be at most 200 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  TRUST_PROXY: z
    .union([z.enum(['on', 'off']), z.string().regex(/^[1-9]$/, 'must be on, off or a number of proxies (1-9)')])
    .default('off'),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['on', 'off']).default('off'),
});

export interface Config {
  /** Connection URL of an existing server, or null for embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | null;
  /** Absolute path of the data directory. */
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  /** Origin without trailing slash, e.g. `http://localhost:3000`. */
  readonly publicUrl: string;
  /** Server secret: the stored Stripe keys and webhook secrets are encrypted with keys derived from it (`secrets.ts`). */
  readonly secretKey: string;
  /** The secret before a rotation (`SECRET_KEY_PREVIOUS`), or null: opens stored secrets, never seals new ones. */
  readonly secretKeyPrevious: string | null;
  readonly smtpUrl: string | null;
  readonly jobs: boolean;
  readonly logLevel: LogLevel;
  /** Bearer token of `GET /metrics`, or null: no metrics endpoint. */
  readonly metricsToken: string | null;
  /** Proxies in front of us whose `X-Forwarded-For` entries we trust (0 = none: the socket's peer address). */
  readonly proxyHops: number;
  /** Outgoing webhooks may go to private, loopback and link-local addresses (`WEBHOOK_ALLOW_PRIVATE=on`). */
  readonly webhookAllowPrivate: boolean;
}

/** Thrown when the environment is invalid; the message names every offending variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parse and freeze the configuration.
 * @param env the environment (normally `process.env`; tests pass their own object)
 * @throws ConfigError naming the variable(s) that are invalid
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" (a common result of `FOO= npm start`).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir,
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    secretKey: e.SECRET_KEY ?? developmentSecret(dataDir),
    secretKeyPrevious: e.SECRET_KEY_PREVIOUS ?? null,
    smtpUrl: e.SMTP_URL ?? null,
    jobs: e.JOBS === 'on',
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN ?? null,
    proxyHops: e.TRUST_PROXY === 'off' ? 0 : e.TRUST_PROXY === 'on' ? 1 : Number(e.TRUST_PROXY),
    webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'on',
  });
}

/** A generated secret kept in `DATA_DIR/secret.key` (mode 0600), so sessions survive restarts in development. */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
