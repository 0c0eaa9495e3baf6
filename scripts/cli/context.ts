/**
 * What every CLI command needs: the parsed config, and services over the database — the running server's
 * embedded PostgreSQL (found through `DATA_DIR/postgres.url`), `DATABASE_URL`, or an embedded one started
 * for this command alone and stopped afterwards.
 */
import { loadConfig, type Config } from '../../server/config.ts';
import { openCore, type Services } from '../../server/app.ts';
import type { DatabaseHandle, Db } from '../../server/db/database.ts';
import type { PostgresServer } from '../../server/db/postgres.ts';
import pino from 'pino';
import { createLogger } from '../../server/lib/logger.ts';
import type { ProgramRow } from '../../server/db/schema.ts';

export interface CliContext {
  config: Config;
  /** Run `fn` with services over a migrated database; closes everything afterwards. */
  withServices<T>(fn: (services: Services, db: Db) => Promise<T>): Promise<T>;
  /** `withServices` for one program, looked up by id. @throws Error `No program <id>` */
  withProgram<T>(programId: string, fn: (services: Services, program: ProgramRow, db: Db) => Promise<T>): Promise<T>;
}

export function createCliContext(env: Record<string, string | undefined>): CliContext {
  const config = loadConfig(env);
  const context: CliContext = {
    config,
    withProgram(programId, fn) {
      return context.withServices(async (services, db) => {
        const program = await services.programs.findById(programId);
        if (!program) throw new Error(`No program ${programId}`);
        return fn(services, program, db);
      });
    },
    async withServices(fn) {
      // The server's own start-up path (`openCore`), without HTTP and jobs. Secrets: plain-text ones of an older
      // version are encrypted, nothing is decrypted, so a command still runs when SECRET_KEY is wrong (`secrets
      // rotate` reports such values). Only errors are logged, to stderr (stdout stays the command's own).
      let pg: PostgresServer | null = null;
      let handle: DatabaseHandle | null = null;
      try {
        const core = await openCore(
          config,
          { logger: createLogger({ level: 'error', destination: pino.destination({ fd: 2, sync: true }) }) },
          { poolSize: 4, secrets: 'plainOnly' },
          (part) => {
            if ('postgres' in part) pg = part.postgres;
            else handle = part.database;
          },
        );
        return await fn(core.services, core.database.db);
      } finally {
        await (handle as DatabaseHandle | null)?.close();
        await (pg as PostgresServer | null)?.stop();
      }
    },
  };
  return context;
}

/** Print `value` as JSON, or as `key: value` lines for people. */
export function print(value: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    console.log(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
}
