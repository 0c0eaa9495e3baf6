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
 * every time cost PostgreSQL ~1.1 ms of its 2.5 ms per sale in the webhook benchmark (measured: 2.5 → 1.4 ms).
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

/** Open a pool of at most `max` connections to `url`, with int8 parsed as numbers. */
export function openDatabase(url: string, max = 20): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (e.g. the server restarting) must not crash the process.
  pool.on('error', () => {});
  pool.on('connect', preparedStatements);
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
