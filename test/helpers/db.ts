/**
 * A fresh database per test file, cloned from the migrated template made by `test/global-setup.ts`.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { ensureDatabase } from '../../server/db/postgres.ts';

/** Create a new database from the template and return its URL. */
export async function freshDatabaseUrl(): Promise<string> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `pk_test_${randomBytes(6).toString('hex')}`;
  await ensureDatabase(adminUrl, name, inject('templateDatabase'));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
