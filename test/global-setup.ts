/**
 * Once per `npm test`: one PostgreSQL server for the run — `DATABASE_URL` when set, else a throwaway
 * embedded PostgreSQL in a temporary directory — and a template database with the migrations applied.
 * Each integration test file clones the template into a fresh database of its own (`test/helpers/db.ts`).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureDatabase, startEmbeddedPostgres, type PostgresServer } from '../server/db/postgres.ts';
import { openDatabase } from '../server/db/database.ts';
import { migrateToLatest } from '../server/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on the test server with enough rights to CREATE DATABASE. */
    adminDatabaseUrl: string;
    /** Name of the migrated template database. */
    templateDatabase: string;
  }
}

let server: PostgresServer | null = null;
let dir: string | null = null;

export async function setup(project: TestProject) {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    dir = mkdtempSync(path.join(os.tmpdir(), 'partnerkit-test-'));
    // PostgreSQL runs as the `postgres` user when we are root: it must be able to reach the cluster.
    chmodSync(dir, 0o755);
    server = await startEmbeddedPostgres({ clusterDir: path.join(dir, 'pg'), persistent: false, urlFile: null });
    adminUrl = server.url;
  }
  const template = `pk_template_${process.pid}`;
  const admin = new URL(adminUrl);
  await ensureDatabase(adminUrl, template);
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${template}`;
  const handle = openDatabase(templateUrl.toString(), 2);
  try {
    await migrateToLatest(handle.db);
  } finally {
    await handle.close();
  }
  project.provide('adminDatabaseUrl', admin.toString());
  project.provide('templateDatabase', template);
}

export async function teardown() {
  if (server) await server.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
