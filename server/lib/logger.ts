/**
 * Structured logs: one pino logger per app (JSON lines on stdout, level `LOG_LEVEL`), and a log context that adds
 * the request id (`reqId`) or the job (`job`, `jobId`) to every line logged while a request or a job runs, however
 * deep in the services the line is written, without a logger in every signature.
 *
 * The context is an `AsyncLocalStorage` read by pino's `mixin` (called only for lines that are written). On Node 20
 * an enabled `AsyncLocalStorage` costs every promise created in the process, in any request, its promise hook, and
 * one click request creates ~65 promises: over 10 % of a click's server CPU (docs/performance.md#log-context). So the
 * storage is enabled only while at least one context is open (`withLogContext` counts them and disables it when the
 * last one ends), and the hot routes (clicks, webhooks, the snippet: `http/observability.ts` `HOT_PATHS`) open none:
 * while only those are served, nothing pays for it. The price: a line written by work a request left running after it
 * answered (a fire-and-forget mail that fails later), at a moment no context is open,
 * has no `reqId` (such lines name their own subject, e.g. `mailTo`). Their own code logs nothing per request (the click group commit
 * logs per batch, webhook processing per event with its `stripeEventId`); the error middleware adds the request id
 * of a failed request itself.
 *
 * Line shape: `{"level":"info","time":"2026-…Z","pid":…,"hostname":…,"reqId":…,"msg":…}`; an `err` field is
 * pino's standard error serialization (`type`, `message`, `stack`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** `LOG_LEVEL` values: pino's levels, `silent` writes nothing. */
export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields added to every line logged inside a context. */
export interface LogContext {
  /** The HTTP request's id (`X-Request-Id`). */
  reqId?: string;
  /** The Agenda job's name and id. */
  job?: string;
  jobId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();
/** Contexts open now; the storage (and its promise hook) is enabled only while this is above 0. */
let open = 0;

/**
 * Run `fn` with `context` added to every line logged until it settles (also by what it starts and does not await,
 * while any context is open).
 * @returns what `fn` resolves to; rethrows what it throws
 */
export async function withLogContext<T>(context: LogContext, fn: () => Promise<T>): Promise<T> {
  open++;
  try {
    return await storage.run(context, fn);
  } finally {
    if (--open === 0) storage.disable();
  }
}

/** The context of the running code, if any (tests, and code that labels its own output). */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/**
 * An Agenda job handler that runs in the log context `{ job: name, jobId }`, so every line logged during a run
 * (the job's own, and the services') names the job.
 */
export function inJobContext<J extends { attrs: { _id?: unknown } }>(
  name: string,
  handler: (job: J) => Promise<void>,
): (job: J) => Promise<void> {
  return (job) =>
    withLogContext({ job: name, jobId: job.attrs._id ? String(job.attrs._id) : undefined }, () => handler(job));
}

/**
 * The app's logger.
 * @param opts.level minimum level written (`silent`: nothing)
 * @param opts.destination where lines go (default: stdout, written synchronously so nothing is lost at exit);
 *   tests pass a stream to read them
 */
export function createLogger(opts: { level: LogLevel; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A fresh object: pino merges the line's own fields into what the mixin returns.
      mixin: () => {
        const context = storage.getStore();
        return context ? { ...context } : {};
      },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/**
 * A pino destination that hands each line's `msg` and `err` (rebuilt as an `Error` with the logged message, type
 * and stack) to `fn`: for callers that collect messages (tests, `AppOptions.log`).
 */
export function functionDestination(fn: (msg: string, err?: unknown) => void): DestinationStream {
  return {
    write(line: string) {
      const o = JSON.parse(line) as { msg?: string; err?: unknown };
      let err = o.err;
      if (err && typeof err === 'object') {
        const e = err as { type?: string; message?: string; stack?: string };
        err = Object.assign(new Error(e.message ?? ''), { name: e.type ?? 'Error', stack: e.stack });
      }
      fn(o.msg ?? '', err);
    },
  };
}

/** A logger that writes nothing (services built without one: the CLI, scripts, unit tests). */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * `(msg, err?) => void` over `logger` for modules that take a log function (database pool, embedded PostgreSQL,
 * stored secrets): with `err` an `error` line, without one an `info` line.
 */
export function logFunction(logger: Logger): (msg: string, err?: unknown) => void {
  return (msg, err) => {
    if (err === undefined) logger.info(msg);
    else logger.error({ err }, msg);
  };
}
