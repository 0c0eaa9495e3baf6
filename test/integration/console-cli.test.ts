/**
 * The console's CLI commands (`console setup-link|invite|members`) on a real database, as an operator runs them.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../helpers/db.ts';

const root = path.resolve(import.meta.dirname, '../..');
let databaseUrl: string;

function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl, NO_COLOR: '1', PUBLIC_URL: 'https://aff.shop.test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

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
