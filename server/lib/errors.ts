/**
 * The one error hierarchy. Services throw these; `http/errors.middleware.ts` maps them to
 * `{ "error": { "code", "message" } }` with their status. Anything else is a 500 whose message is hidden.
 */
export class AppError extends Error {
  constructor(
    /** HTTP status (4xx for client errors). */
    readonly status: number,
    /** Stable snake_case code clients can branch on. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: the request is malformed or fails validation. */
export class ValidationError extends AppError {
  constructor(message: string, code = 'invalid_request') {
    super(400, code, message);
  }
}

/** 401: no or bad credentials. */
export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'unauthorized') {
    super(401, code, message);
  }
}

/** 403: authenticated but not allowed. */
export class ForbiddenError extends AppError {
  constructor(message = 'Forbidden', code = 'forbidden') {
    super(403, code, message);
  }
}

/** 404: absent, or belongs to another tenant (we never reveal which). */
export class NotFoundError extends AppError {
  constructor(what: string, code = 'not_found') {
    super(404, code, `${what} not found`);
  }
}

/** 409: the request conflicts with the current state (duplicate code, wrong status transition). */
export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

/** 422: understood, but the referenced business object cannot be used (e.g. affiliate not approved). */
export class UnprocessableError extends AppError {
  constructor(message: string, code: string) {
    super(422, code, message);
  }
}

/** 429: too many requests. */
export class RateLimitedError extends AppError {
  constructor(
    message = 'Too many requests',
    readonly retryAfterSeconds = 60,
  ) {
    super(429, 'rate_limited', message);
  }
}

/** Seconds a client should wait before retrying while the database is unreachable (`Retry-After`). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * 503: the database cannot be reached (stopped, restarting, crashed, or no pooled connection in time). The request
 * changed nothing that was acknowledged; retry after `retryAfterSeconds`. The error middleware turns any error that
 * `isDatabaseUnavailable` recognises into this one.
 */
export class DatabaseUnavailableError extends AppError {
  constructor(
    message = 'The database is unavailable; retry shortly',
    readonly retryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS,
  ) {
    super(503, 'database_unavailable', message);
  }
}

/** SQLSTATE classes and codes that say "the server is going or gone", not "your statement is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (fast/smart shutdown, pg_terminate_backend)
  '57P02', // crash_shutdown (another backend crashed; the server restarts)
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
]);
/** Socket errors of a connection to the database (ENOENT: the Unix socket is gone while PostgreSQL is down). */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** node-postgres / pg-pool errors without a code (their messages are fixed strings in `pg/lib/client.js`, `pg-pool`). */
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/**
 * Whether `err` means the database is unreachable rather than that a statement failed: SQLSTATE `57P01`/`57P02`/
 * `57P03`/`53300` or class `08` (connection exception), a socket error of the connection (`ECONNREFUSED`,
 * `ECONNRESET`, `ENOENT` on connect, ...), node-postgres' "Connection terminated…", or pg-pool's connect timeout.
 * Looks through `AggregateError.errors` (Node tries each address of a host) and `cause`.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  if (err instanceof DatabaseUnavailableError) return true;
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code)) return true;
    if (UNAVAILABLE_ERRNOS.has(e.code)) return true;
    if (e.code === 'ENOENT' && e.syscall === 'connect') return true;
  }
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => isDatabaseUnavailable(x, depth + 1)))
    return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
