/**
 * The one error middleware (first in the chain): maps `AppError` to its status and
 * `{ "error": { "code", "message" } }`; an error that says the database is unreachable (`isDatabaseUnavailable`:
 * connection refused, admin/crash shutdown, connection exceptions, pool connect timeout) becomes
 * `503 database_unavailable` with `Retry-After`; a stored secret that does not open (`SecretDecryptionError`) becomes
 * `503 secrets_unreadable` (Stripe retries 5xx deliveries); anything else becomes a 500 whose message is never shown.
 * See koa's docs/error-handling.md.
 */
import type { Middleware } from 'koa';
import { AppError, DatabaseUnavailableError, isDatabaseUnavailable, RateLimitedError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { SecretDecryptionError } from '../lib/secrets.ts';

/** While the database is down, one log line per this many ms (with the count of 503s since the last one). */
const UNAVAILABLE_LOG_EVERY_MS = 10_000;

/**
 * @param logger where unexpected failures (500s) and, throttled, database outages (503s) are reported, with the
 *   request's id (`ctx.state.requestId`, set by `observeRequests`; the hot routes have no log context to add it)
 */
export function errorMiddleware(logger: Logger): Middleware {
  let unavailableSince = 0;
  let unavailableCount = 0;
  function logUnavailable(method: string, path: string, err: unknown, reqId: string | undefined): void {
    unavailableCount++;
    const at = Date.now();
    if (at - unavailableSince < UNAVAILABLE_LOG_EVERY_MS) return;
    logger.error(
      { reqId, err },
      `${method} ${path}: database unavailable (${unavailableCount} requests answered 503 since the last report)`,
    );
    unavailableSince = at;
    unavailableCount = 0;
  }
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { code: 'route_not_found', message: `No route for ${ctx.method} ${ctx.path}` } };
      } else if (ctx.status === 405 && ctx.body === undefined) {
        // A router's allowedMethods() answer (its Allow header stays): JSON like every other refusal.
        ctx.body = {
          error: {
            code: 'method_not_allowed',
            message: `${ctx.method} is not allowed here (allowed: ${ctx.response.get('Allow')})`,
          },
        };
      }
    } catch (caught) {
      let err = caught;
      // Not koa/raw-body's client faults (a client's aborted upload carries ECONNABORTED with a 400 status).
      const clientFault = typeof (err as { status?: unknown } | null)?.status === 'number';
      if (!(err instanceof AppError) && !clientFault && isDatabaseUnavailable(err)) {
        logUnavailable(ctx.method, ctx.path, err, ctx.state.requestId);
        err = new DatabaseUnavailableError();
      }
      if (err instanceof AppError) {
        ctx.status = err.status;
        ctx.body = { error: { code: err.code, message: err.message } };
        if (err instanceof RateLimitedError || err instanceof DatabaseUnavailableError)
          ctx.set('Retry-After', String(err.retryAfterSeconds));
        return;
      }
      // Errors raised by koa/raw-body for client faults (payload too large, aborted, bad encoding).
      const status = (err as { status?: number; expose?: boolean }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { error: { code: clientErrorCode(status), message: (err as Error).message } };
        return;
      }
      if (err instanceof SecretDecryptionError) {
        // A stored secret this instance's SECRET_KEY cannot open (another instance wrote it with a different key):
        // the operator's to fix, and a client's retry will work once it is. 503, so that Stripe retries its
        // deliveries instead of dropping them; the message never names the secret.
        logger.error(
          { reqId: ctx.state.requestId, purpose: err.purpose, boundTo: err.boundTo },
          `${ctx.method} ${ctx.path}: a stored ${err.purpose} does not open with SECRET_KEY (or SECRET_KEY_PREVIOUS)`,
        );
        ctx.status = 503;
        ctx.set('Retry-After', '60');
        ctx.body = {
          error: {
            code: 'secrets_unreadable',
            message: 'A stored secret cannot be read by this server; try again later',
          },
        };
        return;
      }
      logger.error({ reqId: ctx.state.requestId, err }, `${ctx.method} ${ctx.path} failed`);
      ctx.status = 500;
      ctx.body = { error: { code: 'internal_error', message: 'Internal server error' } };
    }
  };
}

function clientErrorCode(status: number): string {
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  return 'invalid_request';
}

/**
 * `X-Content-Type-Options: nosniff` on every answer (mounted first, so error answers carry it too): browsers take a
 * JSON or CSV body for what its Content-Type says and never sniff it into HTML or script.
 */
export const noSniff: Middleware = (ctx, next) => {
  ctx.set('X-Content-Type-Options', 'nosniff');
  return next();
};
