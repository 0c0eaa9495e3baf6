/**
 * Migration 0012 creates Agenda's `agenda_jobs` with the DDL of the installed @agendajs/postgres-backend (the
 * scheduler runs it with `ensureSchema: false`). When an upgrade of the backend changes its schema, this fails:
 * add a migration that brings existing tables along, then update `AGENDA_SCHEMA`.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { AGENDA_SCHEMA } from '../../server/db/migrations/0012_multi_instance.ts';

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

it("migration 0012's agenda_jobs DDL is the installed backend's own, statement for statement", async () => {
  // `getMigrationSQL` is not exported by the package's entry point: load its schema module by path.
  const entry = createRequire(import.meta.url).resolve('@agendajs/postgres-backend');
  const schema = await import(pathToFileURL(path.join(path.dirname(entry), 'schema.js')).href);
  const table = 'agenda_jobs';
  const library: string[] = [
    schema.getCreateTableSQL(table),
    ...schema.getMigrationSQL(table),
    ...schema.getCreateIndexesSQL(table),
    schema.getUpdateTimestampTriggerSQL(table),
  ];
  expect(AGENDA_SCHEMA.map(squash)).toEqual(library.map(squash));
});
