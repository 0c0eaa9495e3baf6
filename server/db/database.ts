/**
 * The connection pool and the typed Kysely handle over it. One pool per process; Agenda shares it.
 */
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
/** What repositories accept first: the database or a transaction of it. */
export type DbOrTrx = Kysely<Database> | Transaction<Database>;

const INT8_OID = 20;

/**
 * int8 (bigint, count(*)) as a JS number. Minor-unit amounts and counts stay far below 2^53; if one ever
 * does not, we fail loudly rather than round money.
 */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

const PREPARED_PREFIX = '/*prepare:';

/**
 * `text` marked to be sent as a named prepared statement (see `preparedStatements`); run it with
 * `db.executeQuery(CompiledQuery.raw(namedStatement(name, text), parameters))`. `name`: letters, digits and `_`;
 * one fixed text per name.
 */
export function namedStatement(name: string, text: string): string {
  if (!/^\w+$/.test(name)) throw new TypeError(`bad prepared statement name ${name}`);
  return `${PREPARED_PREFIX}${name}*/ ${text}`;
}

/** Statement texts run with parameters → the name they are prepared under on every connection (`pk_<n>`). */
const autoPrepared = new Map<string, string>();
/**
 * Distinct texts prepared automatically per process (and so per connection). The application has a few hundred
 * query shapes; texts past the cap run unnamed, as before. Statements with many parameters are left out: their
 * texts vary with a row or list count (the inbox's multi-row INSERT, `IN` lists), and each prepared one would keep a
 * large plan in every connection's backend.
 */
const AUTO_PREPARE_MAX = 500;
const AUTO_PREPARE_MAX_LENGTH = 16_384;
const AUTO_PREPARE_MAX_PARAMETERS = 64;

function preparedName(text: string, parameters: number): string | undefined {
  if (text.startsWith(PREPARED_PREFIX)) return text.slice(PREPARED_PREFIX.length, text.indexOf('*/'));
  if (parameters > AUTO_PREPARE_MAX_PARAMETERS) return undefined;
  let name = autoPrepared.get(text);
  if (name === undefined && autoPrepared.size < AUTO_PREPARE_MAX && text.length <= AUTO_PREPARE_MAX_LENGTH) {
    name = `pk_${autoPrepared.size}`;
    autoPrepared.set(text, name);
  }
  return name;
}

/**
 * Statements with parameters run as named prepared statements (what JDBC's `prepareThreshold` and pgx's
 * statement cache do; Kysely has no API for it): on each connection a text is parsed once, then only bound and
 * executed, and PostgreSQL may keep a generic plan. A Stripe sale is ~9 statements; parsing and planning them
 * every time cost PostgreSQL almost half of its time per sale in the webhook benchmark
 * (docs/performance.md#stripe-sales).
 * Texts without parameters (`BEGIN`, several statements in one text) keep the simple protocol; see `preparedName`
 * for the texts left unnamed. `namedStatement(name, text)` picks the name itself.
 * A text under one name never changes (the name comes from the text), as pg requires.
 */
function preparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, ...rest: unknown[]) => {
    if (
      typeof text === 'string' &&
      Array.isArray(rest[0]) &&
      (rest[0].length > 0 || text.startsWith(PREPARED_PREFIX))
    ) {
      const name = preparedName(text, rest[0].length);
      if (name !== undefined) return query({ name, text, values: rest[0] }, ...rest.slice(1));
    }
    return query(text, ...rest);
  };
}

export interface DatabaseHandle {
  pool: pg.Pool;
  db: Db;
  /** Ends the pool (Kysely's destroy ends it). */
  close(): Promise<void>;
}

/**
 * How long a request waits for a pooled connection (a new one connecting, or a busy pool) before it fails with
 * pg-pool's "timeout exceeded when trying to connect", which the error middleware answers with 503. Measured waits
 * under the benchmarks' load are milliseconds; this bound only matters when PostgreSQL hangs.
 */
export const POOL_CONNECT_TIMEOUT_MS = 10_000;
/** Connection errors are logged at most once per this many ms (a stopping server fails every connection at once). */
const CONNECTION_ERROR_LOG_EVERY_MS = 10_000;

/**
 * Open a pool of at most `max` connections to `url`, with int8 parsed as numbers.
 *
 * PostgreSQL going away (shutdown, crash, restart) never crashes the process: node-postgres emits a connection's
 * error on its client, and pg-pool listens only while the client is idle (`makeIdleListener` in `pg-pool`); a client
 * checked out by Kysely, a transaction or Agenda had no listener, and the 'error' event was uncaught. Every client
 * gets a listener of its own when it connects: the error is logged (throttled to one line per 10 s), the client's
 * pending query fails (the request answers 503, see `isDatabaseUnavailable`), and pg-pool discards the client when it
 * is released (`!client._queryable`). New connections are made when PostgreSQL is back, so no restart is needed.
 * @param opts.log where connection errors go (default: nowhere)
 */
export function openDatabase(
  url: string,
  max = 20,
  opts: { log?: (msg: string, err?: unknown) => void } = {},
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: POOL_CONNECT_TIMEOUT_MS,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  let lastLogged = 0;
  let unlogged = 0;
  const connectionError = (err: Error) => {
    unlogged++;
    const at = Date.now();
    if (at - lastLogged < CONNECTION_ERROR_LOG_EVERY_MS) return;
    opts.log?.(`database connection lost (${unlogged} connection errors since the last report)`, err);
    lastLogged = at;
    unlogged = 0;
  };
  // An idle client's error, re-emitted by pg-pool after it removed the client: already counted by the client's own
  // listener below. Without a listener here the pool's 'error' event would be uncaught.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    // Every error of this client, checked out (see above) or idle.
    client.on('error', connectionError);
    preparedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    pool,
    db,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
