/**
 * Agenda on the real PostgreSQL backend: the `approve-commissions` job approves a commission once its hold
 * period has passed, both on demand and as a recurring schedule stored in the same database; a lost LISTEN
 * connection is logged and jobs keep running.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutCompleted, deliver } from '../helpers/stripe.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET = 'whsec_test_jobs';
let app: TestApp;
const logs: string[] = [];

beforeAll(async () => {
  app = await startTestApp({ JOBS: 'on' }, { log: (msg) => logs.push(msg) });
});
afterAll(async () => {
  await app?.stop();
});

it('approves a commission through Agenda after the hold period, and keeps a recurring schedule', async () => {
  const program = await app.services.programs.create({
    name: 'Jobs',
    website: 'https://jobs.test',
    stripeWebhookSecret: SECRET,
  });
  const row = (await app.services.programs.findById(program.id))!;
  const affiliate = await app.services.affiliates.create(row, { email: 'a@jobs.test', name: 'Al', status: 'approved' });
  const click = (await app.services.tracking.recordClick(
    { key: program.publicKey, code: affiliate.code },
    { ip: null, userAgent: null, origin: null },
  )) as { referral: string };
  const res = await deliver(
    app.url,
    program.id,
    checkoutCompleted({ referral: click.referral, amountTotal: 5000, currency: 'usd' }),
    SECRET,
  );
  expect(res.status).toBe(200);
  const status = () =>
    app.db.selectFrom('commissions').select('status').where('program_id', '=', program.id).executeTakeFirst();
  await waitFor(async () => ((await status())?.status ? true : undefined));

  // Still inside the 30-day hold period: a completed run changes nothing.
  const completed = new Promise((resolve) => app.scheduler!.agenda.once('complete:approve-commissions', resolve));
  await app.scheduler!.agenda.now('approve-commissions');
  await completed;
  expect((await status())!.status).toBe('pending');

  app.advance(30 * 86_400_000 + 60_000);
  await app.scheduler!.agenda.now('approve-commissions');
  await waitFor(async () => ((await status())!.status === 'approved' ? true : undefined));
  app.advance(-(30 * 86_400_000 + 60_000));

  const recurring = await app.db
    .selectFrom('agenda_jobs' as any)
    .select(['name' as any, 'repeat_interval' as any])
    .where('name' as any, '=', 'approve-commissions')
    .where('repeat_interval' as any, 'is not', null)
    .execute();
  expect(recurring).toHaveLength(1);
});

it('survives PostgreSQL ending Agenda’s LISTEN connection: logged, and jobs still run', async () => {
  const listener = () =>
    sql<{
      pid: number;
    }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`.execute(app.db);
  const before = (await listener()).rows;
  expect(before.length).toBeGreaterThan(0);
  // What a PostgreSQL restart or an admin does to the connection (an unhandled error here crashed the process).
  await sql`SELECT pg_terminate_backend(${before[0]!.pid})`.execute(app.db);
  await waitFor(async () => (logs.some((l) => l.startsWith('Agenda notification channel:')) ? true : undefined));
  // The channel reconnects by itself: a new LISTEN connection.
  await waitFor(async () => ((await listener()).rows.some((r) => r.pid !== before[0]!.pid) ? true : undefined));

  const completed = new Promise((resolve) => app.scheduler!.agenda.once('complete:approve-commissions', resolve));
  await app.scheduler!.agenda.now('approve-commissions');
  await completed;
  expect((await app.request('/pk.js')).status).toBe(200);
});
