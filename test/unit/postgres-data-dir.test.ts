import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../server/config.ts';
import { assertReachableByPostgresUser } from '../../server/db/postgres.ts';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('an embedded PostgreSQL data directory, as root', () => {
  it('is refused with what to do when a directory above it is closed to other users (mktemp -d)', () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'pk-closed-'));
    made.push(closed);
    chmodSync(closed, 0o700);
    const error = (() => {
      try {
        assertReachableByPostgresUser(path.join(closed, 'data', 'pg'), 0);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`cannot enter ${closed} (mode 0700)`);
    expect((error as Error).message).toContain(`chmod o+x ${closed}`);
    expect((error as Error).message).toContain('DATA_DIR');
  });

  it('is accepted when every directory above it may be entered', () => {
    const open = mkdtempSync(path.join(os.tmpdir(), 'pk-open-'));
    made.push(open);
    chmodSync(open, 0o755);
    mkdirSync(path.join(open, 'data'));
    expect(() => assertReachableByPostgresUser(path.join(open, 'data', 'pg'), 0)).not.toThrow();
  });

  it('is not checked when we are not root (PostgreSQL then runs as us)', () => {
    const closed = mkdtempSync(path.join(os.tmpdir(), 'pk-closed-'));
    made.push(closed);
    chmodSync(closed, 0o700);
    expect(() => assertReachableByPostgresUser(path.join(closed, 'data', 'pg'), 1000)).not.toThrow();
  });
});
