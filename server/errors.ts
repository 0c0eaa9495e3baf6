/**
 * The one error hierarchy. Services throw these; `http/error-middleware.ts` maps them to
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
