/**
 * The console's CLI commands (`console setup-link|invite|members`) on a real database, as an operator runs them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { freshDatabaseUrl } from '../helpers/db.ts';

let databaseUrl: string;

const cli = (...args: string[]) => runCli(databaseUrl, args, { PUBLIC_URL: 'https://aff.shop.test' });

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl();
});

describe('console commands', { timeout: 90_000 }, () => {
  it('prints a setup link only before the first program, and invites members with a role', async () => {
    const link = await cli('console', 'setup-link', '--json');
    expect(link.stderr).toBe('');
    expect(JSON.parse(link.stdout).setupUrl).toMatch(/^https:\/\/aff\.shop\.test\/app\/setup\?token=setup_/);

    const program = JSON.parse(
      (await cli('program', 'create', '--name', 'Acme', '--website', 'https://acme.test', '--json')).stdout,
    );
    const invite = await cli(
      'console',
      'invite',
      '--program',
      program.id,
      '--email',
      'ops@acme.test',
      '--role',
      'viewer',
      '--json',
    );
    expect(invite.stderr).toBe('');
    const invited = JSON.parse(invite.stdout);
    expect(invited.member).toMatchObject({ email: 'ops@acme.test', role: 'viewer', active: false });
    expect(invited.inviteUrl).toMatch(/^https:\/\/aff\.shop\.test\/app\/#invite=/);

    const members = JSON.parse((await cli('console', 'members', '--program', program.id, '--json')).stdout);
    expect(members.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([
      ['ops@acme.test', 'viewer'],
    ]);

    const bad = await cli('console', 'invite', '--program', program.id, '--email', 'x@acme.test', '--role', 'god');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('role');

    const late = await cli('console', 'setup-link');
    expect(late.status).not.toBe(0);
    expect(late.stderr).toContain('Setup is done');
  });
});
