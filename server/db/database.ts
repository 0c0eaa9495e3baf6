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
