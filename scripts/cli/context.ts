/**
 * What every CLI command needs: the parsed config, and services over the database — the running server's
 * embedded PostgreSQL (found through `DATA_DIR/postgres.url`), `DATABASE_URL`, or an embedded one started
 * for this command alone and stopped afterwards.
 */
import { loadConfig, type Config } from '../../server/config.ts';
import { createServices, type Services } from '../../server/app.ts';
import { openDatabase, type Db } from '../../server/db/database.ts';
import { migrateToLatest } from '../../server/db/migrate.ts';
import { resolvePostgres } from '../../server/db/postgres.ts';
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
      const pg = await resolvePostgres(config.databaseUrl, config.dataDir);
      const handle = openDatabase(pg.url, 4);
      try {
        await migrateToLatest(handle.db);
        const services = createServices(handle.db, config);
        // As the server does at start-up: plain-text secrets of an older version are encrypted (no decryption here,
        // so a command still runs when SECRET_KEY is wrong; `secrets rotate` reports such values).
        await services.programSecrets.sweep({ reencrypt: false, plainOnly: true });
        return await fn(services, handle.db);
      } finally {
        await handle.close();
        await pg.stop();
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
