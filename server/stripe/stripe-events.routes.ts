/**
 * Admin API: `/api/v1/stripe-events` — the program's Stripe events inbox. `GET /` (`?status=failed,retrying`,
 * `?type=`, `?before=`, `?limit=`, `?offset=`) → `{ data: StripeEvent[] }`; `GET /:id` → `{ event }` with its payload;
 * `POST /:id/replay` → `{ before, event }` (processed again through the webhook's own attempt; a viewer gets 403).
 */
import Router from '@koa/router';
import type { AdminState } from '../http/admin-auth.ts';
import { pathId } from '../lib/validate.ts';
import type { StripeEventsService } from './stripe-events.service.ts';

export function stripeEventsRoutes(events: StripeEventsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/stripe-events' });
  router.param('id', pathId('Stripe event', 'stripe_event_not_found'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await events.list(ctx.state.program, ctx.query) };
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { event: await events.get(ctx.state.program, ctx.params.id!) };
  });
  router.post('/:id/replay', async (ctx) => {
    ctx.body = await events.replay(ctx.state.program, ctx.params.id!);
  });
  return router;
}
