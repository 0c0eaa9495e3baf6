/**
 * The command line as a merchant runs it (`npm run cli -- …`, a real process on this file's database): errors go
 * to stderr with a non-zero exit status, so scripts and CI can stop on them; `--json` output stays on stdout alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { freshDatabaseUrl } from '../helpers/db.ts';

let databaseUrl: string;

const cli = (...args: string[]) => runCli(databaseUrl, args);

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl();
});

describe('the CLI', { timeout: 60_000 }, () => {
  it('prints --json output alone on stdout and exits 0', async () => {
    const run = await cli('program', 'create', '--name', 'Acme', '--website', 'https://acme.test', '--json');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const created = JSON.parse(run.stdout);
    expect(created.id).toMatch(/^prg_/);
    expect(created.apiKey).toMatch(/^sk_pk_/);
  });

  it("sets and clears the merchant team's notification e-mail address", async () => {
    const created = JSON.parse(
      (await cli('program', 'create', '--name', 'Mailer', '--website', 'https://mailer.test', '--json')).stdout,
    );
    const set = await cli(
      'program',
      'set-notification-email',
      '--program',
      created.id,
      '--email',
      'team@mailer.test',
      '--json',
    );
    expect(set.status).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ id: created.id, notificationEmail: 'team@mailer.test' });
    const bad = await cli('program', 'set-notification-email', '--program', created.id, '--email', 'not-an-address');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('notificationEmail');
    const cleared = await cli('program', 'set-notification-email', '--program', created.id, '--email', '', '--json');
    expect(JSON.parse(cleared.stdout)).toEqual({ id: created.id, notificationEmail: null });
  });

  it('exits non-zero with the error on stderr for an unknown program', async () => {
    const run = await cli('program', 'add-webhook-secret', '--program', 'prg_nope', '--secret', 'whsec_x');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('No program prg_nope');
    expect(run.stdout).toBe('');
  });

  it('exits non-zero for an unknown job, an unknown command and a missing option', async () => {
    const job = await cli('jobs', 'run', 'nope');
    expect(job.status).not.toBe(0);
    expect(job.stderr).toContain('Unknown job nope');
    const command = await cli('nope');
    expect(command.status).not.toBe(0);
    expect(command.stderr).toContain("unknown command 'nope'");
    const option = await cli('program', 'create', '--name', 'Acme');
    expect(option.status).not.toBe(0);
    expect(option.stderr).toContain('--website');
  });

  it('exits non-zero when the input is invalid', async () => {
    const run = await cli('program', 'create', '--name', 'Acme', '--website', 'not a url', '--json');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/error/i);
    expect(run.stdout).toBe('');
  });

  it('creates, lists and revokes API keys, edits an affiliate, and refuses to revoke the last key', async () => {
    const json = async (...args: string[]) => {
      const run = await cli(...args, '--json');
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return JSON.parse(run.stdout);
    };
    const program = await json('program', 'create', '--name', 'Keys', '--website', 'https://keys.test');
    const key = await json('api-key', 'create', '--program', program.id, '--name', 'CI');
    expect(key.key).toMatch(/^sk_pk_/);
    const listed = await json('api-key', 'list', '--program', program.id);
    expect(listed.map((k: { name: string | null }) => k.name).sort()).toEqual(['CI', null]);
    const revoked = await json('api-key', 'revoke', '--program', program.id, '--id', key.id);
    expect(revoked.revokedAt).not.toBeNull();
    const original = listed.find((k: { id: string }) => k.id !== key.id);
    const last = await cli('api-key', 'revoke', '--program', program.id, '--id', original.id);
    expect(last.status).not.toBe(0);
    expect(last.stderr).toContain('last active API key');

    const a = await json('affiliate', 'create', '--program', program.id, '--email', 'k@x.test', '--name', 'K');
    const changed = await json('affiliate', 'update', '--program', program.id, '--id', a.id, '--code', 'kay');
    expect(changed.code).toBe('kay');
    const gone = await cli('affiliate', 'delete', '--program', program.id, '--id', a.id);
    expect(gone.status).toBe(0);
    expect((await cli('affiliate', 'delete', '--program', program.id, '--id', a.id)).status).not.toBe(0);
  });
});
