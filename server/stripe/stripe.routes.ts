/**
 * `POST /api/v1/webhooks/stripe/:programId`: raw body (the signature covers the exact bytes). Answers as soon
 * as the event is stored: `200 { received: true, id, status }` with `status` `received` (processing follows),
 * `ignored` (a type we do not act on) or `duplicate` (already stored). A bad signature or a body that is not a
 * Stripe event is a 400 and nothing is stored; an unknown program a 404 (also a program id that cannot be one, such
 * as `%00`). A body nested deeper than `MAX_JSON_DEPTH` is a 400 `invalid_event` before anything is parsed or stored.
 */
import Router from '@koa/router';
import { ValidationError } from '../lib/errors.ts';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH, pathId, readRawBody } from '../lib/validate.ts';
import type { StripeWebhooksService } from './webhooks/webhooks.service.ts';

export function stripeRoutes(webhooks: StripeWebhooksService): Router {
  const router = new Router();
  router.param('programId', pathId('Program', 'unknown_program'));
  router.post('/api/v1/webhooks/stripe/:programId', async (ctx) => {
    const raw = await readRawBody(ctx, '1mb');
    if (jsonNestsDeeperThan(raw, MAX_JSON_DEPTH))
      throw new ValidationError(`The event nests deeper than ${MAX_JSON_DEPTH} levels`, 'invalid_event');
    const result = await webhooks.ingest(ctx.params.programId!, raw, ctx.get('stripe-signature') || undefined);
    ctx.status = 200;
    ctx.body = { received: true, id: result.eventId, status: result.status };
  });
  return router;
}
