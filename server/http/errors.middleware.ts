/**
 * The one error middleware (first in the chain): maps `AppError` to its status and
 * `{ "error": { "code", "message" } }`; anything else becomes a 500 whose message is never shown.
 * See koa's docs/error-handling.md.
 */
import type { Middleware } from 'koa';
import { AppError, RateLimitedError } from '../errors.ts';

export function errorMiddleware(log: (msg: string, err: unknown) => void): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { code: 'route_not_found', message: `No route for ${ctx.method} ${ctx.path}` } };
      }
    } catch (err) {
      if (err instanceof AppError) {
        ctx.status = err.status;
        ctx.body = { error: { code: err.code, message: err.message } };
        if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfterSeconds));
        return;
      }
      // Errors raised by koa/raw-body for client faults (payload too large, aborted, bad encoding).
      const status = (err as { status?: number; expose?: boolean }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { error: { code: clientErrorCode(status), message: (err as Error).message } };
        return;
      }
      log(`${ctx.method} ${ctx.path} failed`, err);
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
