/**
 * The retry path on the real Agenda PostgreSQL backend (`JOBS=on`): a failed attempt schedules the
 * `process-stripe-event` job at the backoff delay, which processes the event without anyone asking; the
 * `sweep-stripe-events` schedule exists once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkoutSession, freshId } from '../helpers/stripe.ts';
import { startFakeStripeApi, type FakeStripeApi } from '../helpers/fake-stripe.ts';
import { stripeTestContext, type StripeTestContext } from './stripe-helpers.ts';
import { PROCESS_STRIPE_EVENT, SWEEP_STRIPE_EVENTS } from '../../server/jobs/process-stripe-event.ts';
import { waitFor } from '../helpers/wait.ts';

let fake: FakeStripeApi;
let ctx: StripeTestContext;
beforeAll(async () => {
  fake = await startFakeStripeApi();
  ctx = await stripeTestContext({
    secret: 'whsec_test_stripe_jobs',
    stripeEndpoint: fake.endpoint,
    env: { JOBS: 'on' },
  });
  await ctx.app.services.stripeSettings.setApiKey(ctx.program.id, 'rk_test_partnerkitJobs0001');
});
afterAll(async () => {
  await ctx?.app.stop();
  await fake?.close();
});

it('a failed attempt is retried by the process-stripe-event job after its backoff, and succeeds', async () => {
  const r = await ctx.referral();
  const customer = freshId('cus');
  fake.failWith({ status: 401, type: 'invalid_request_error', message: 'Invalid API Key provided' });
  const event = checkoutSession({ customer, amountTotal: 2_500 });
  const first = await ctx.send(event);
  expect(first.row).toMatchObject({ status: 'retrying', attempts: 1 });
  const job = await waitFor(async () =>
    (
      await ctx.app.db
        .selectFrom('agenda_jobs' as any)
        .select(['name' as any, 'data' as any, 'next_run_at' as any])
        .where('name' as any, '=', PROCESS_STRIPE_EVENT)
        .execute()
    ).find((j: any) => j.data?.eventId === event.id),
  );
  expect(job.data).toEqual({ programId: ctx.program.id, eventId: event.id });

  // Stripe answers again before the retry is due; nobody calls processPending: the job does it.
  fake.failWith(null);
  fake.customers.set(customer, { id: customer, object: 'customer', metadata: { partnerkit_referral: r.referral } });
  const done = await waitFor(async () => {
    const row = await ctx.inbox(event.id);
    return row.status === 'processed' ? row : undefined;
  });
  expect(done).toMatchObject({ attempts: 2, error: null });
  expect(await ctx.conversions(r.affiliateId)).toEqual([
    expect.objectContaining({ amount: 2_500, attributedBy: 'customer_metadata' }),
  ]);

  const sweeps = await ctx.app.db
    .selectFrom('agenda_jobs' as any)
    .select(['repeat_interval' as any])
    .where('name' as any, '=', SWEEP_STRIPE_EVENTS)
    .execute();
  expect(sweeps).toEqual([{ repeat_interval: '1 minute' }]);
}, 30_000);
