/**
 * `npm run cli -- webhooks …` as a merchant runs it (a real process on this file's database): add an endpoint (its
 * secret printed once), list, disable, rotate, read the delivery log, remove.
 */
import { beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { freshDatabaseUrl } from '../helpers/db.ts';

let databaseUrl: string;

const cli = (...args: string[]) => runCli(databaseUrl, args);

async function json(...args: string[]): Promise<any> {
  const run = await cli(...args, '--json');
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl();
});

it('manages endpoints from the command line', { timeout: 120_000 }, async () => {
  const program = await json('program', 'create', '--name', 'Acme', '--website', 'https://acme.test');
  const added = await json(
    'webhooks',
    'add',
    '--program',
    program.id,
    '--url',
    'https://erp.acme.test/hooks',
    '--events',
    'commission.created,payout.completed',
  );
  expect(added).toMatchObject({ url: 'https://erp.acme.test/hooks', enabled: true });
  expect(added.secret).toMatch(/^whsec_/);
  expect(added.eventTypes).toEqual(['commission.created', 'payout.completed']);
  const bad = await cli('webhooks', 'add', '--program', program.id, '--url', 'https://x.test', '--events', 'nope');
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/eventTypes/);

  const disabled = await json('webhooks', 'update', '--program', program.id, '--id', added.id, '--disable');
  expect(disabled.enabled).toBe(false);
  const listed = await json('webhooks', 'list', '--program', program.id);
  expect(listed).toHaveLength(1);
  expect(listed[0]).toMatchObject({ id: added.id, enabled: false, secretHint: `whsec_…${added.secret.slice(-4)}` });
  const rotated = await json('webhooks', 'rotate', '--program', program.id, '--id', added.id);
  expect(rotated.secret).not.toBe(added.secret);
  expect(rotated.previousSecretExpiresAt).toEqual(expect.any(String));
  expect(await json('webhooks', 'deliveries', '--program', program.id, '--id', added.id)).toEqual([]);
  await json('webhooks', 'remove', '--program', program.id, '--id', added.id);
  expect(await json('webhooks', 'list', '--program', program.id)).toEqual([]);
});
