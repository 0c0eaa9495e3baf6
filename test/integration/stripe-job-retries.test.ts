/**
 * A retry that the `process-stripe-event` job itself needs (its own attempt failed again) is kept by that job, on
 * the real Agenda PostgreSQL backend (`JOBS=on`), with the minute sweep switched off so only the job can do it.
 *
 * Before: the attempt inside the job scheduled its retry with Agenda's `unique` upsert, which found the job's own
 * row (SELECT) and updated it (UPDATE … RETURNING) while Agenda, the handler having returned, saved the finished
 * job and removed it (`removeOnComplete`). When the removal came between the two statements the UPDATE returned no
 * row and @agendajs/postgres-backend's `saveJob` threw `Cannot read properties of undefined (reading 'id')`; when
 * it came after, the rescheduled row was removed anyway. Either way the retry waited for the sweep.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminClient, startTestApp, type TestApp } from '../helpers/app.ts';
import { checkoutSession, deliver, freshId } from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { PROCESS_STRIPE_EVENT, SWEEP_STRIPE_EVENTS } from '../../server/jobs/process-stripe-event.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET = 'whsec_test_stripe_job_retries';
let fake: FakeStripeApi;
let app: TestApp;
let program: { id: string; apiKey: string; publicKey: string };
const logged: string[] = [];

beforeAll(async () => {
  fake = await startFakeStripeApi();
  app = await startTestApp(
    { JOBS: 'on' },
    {
      stripeEndpoint: fake.endpoint,
      log: (msg, err) => logged.push(err ? `${msg}: ${(err as Error).message ?? String(err)}` : msg),
    },
  );
  program = await app.services.programs.create({
    name: 'Acme',
    website: 'https://acme.test',
    stripeWebhookSecret: SECRET,
  });
  await app.services.stripeSettings.setApiKey(program.id, 'rk_test_partnerkitRetry0001');
  // Only the process-stripe-event job may retry from here on.
  await app.scheduler!.agenda.disable({ name: SWEEP_STRIPE_EVENTS });
});
afterAll(async () => {
  await app?.stop();
  await fake?.close();
});

const inbox = (eventId: string) =>
  app.db
    .selectFrom('stripe_events')
    .selectAll()
    .where('program_id', '=', program.id)
    .where('id', '=', eventId)
    .executeTakeFirstOrThrow();

it('a job whose attempt fails again reschedules itself at the backoff, and its next run succeeds (no sweep)', async () => {
  const p = (await app.services.programs.findById(program.id))!;
  const affiliate = await app.services.affiliates.create(p, {
    email: 'retry@partners.test',
    name: 'Retry',
    status: 'approved',
  });
  const { referral } = (await app.services.tracking.recordClick(
    { key: p.public_key, code: affiliate.code },
    { ip: null, userAgent: null, origin: null },
  )) as { referral: string };
  const customer = freshId('cus');
  fake.failWith({ status: 401, type: 'invalid_request_error', message: 'Invalid API Key provided' });
  const event = checkoutSession({ customer, amountTotal: 4_200 });
  expect((await deliver(app.url, program.id, event, SECRET)).status).toBe(200);
  await app.services.stripeWebhooks.idle();
  expect(await inbox(event.id)).toMatchObject({ status: 'retrying', attempts: 1 });

  // Attempt 2 is the job's (2 s later), and fails too: it needs attempt 3 (10 s after it).
  const second = await waitFor(async () => {
    const row = await inbox(event.id);
    return row.attempts >= 2 ? row : undefined;
  });
  expect(second).toMatchObject({ status: 'retrying', attempts: 2 });
  fake.failWith(null);
  fake.customers.set(customer, { id: customer, object: 'customer', metadata: { partnerkit_referral: referral } });

  // The job's row is kept, due when the inbox row says (it may already be locked by a worker waiting for that time).
  const job = await waitFor(async () => {
    const rows = await app.db
      .selectFrom('agenda_jobs' as any)
      .select(['data' as any, 'next_run_at' as any, 'last_finished_at' as any])
      .where('name' as any, '=', PROCESS_STRIPE_EVENT)
      .execute();
    const mine = rows.find((j: any) => j.data?.eventId === event.id) as any;
    return mine?.last_finished_at && mine.next_run_at ? mine : undefined;
  }, 5_000);
  expect(Math.abs(job.next_run_at.getTime() - second.next_attempt_at!.getTime())).toBeLessThan(1_000);

  // Processed by the job's next run, with nobody calling processPending.
  const done = await waitFor(async () => {
    const row = await inbox(event.id);
    return row.status === 'processed' ? row : undefined;
  }, 30_000);
  expect(done).toMatchObject({ attempts: 3, error: null });
  const conversions = await adminClient(app, program.apiKey).get(`/api/v1/conversions?affiliateId=${affiliate.id}`);
  expect(conversions.body.data).toEqual([expect.objectContaining({ amount: 4_200 })]);
  expect(logged.filter((l) => l.includes('scheduling a retry failed'))).toEqual([]);
}, 60_000);
