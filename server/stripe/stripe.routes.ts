/** `POST /api/v1/webhooks/stripe/:programId`: raw body (the signature covers the exact bytes). */
import Router from '@koa/router';
import { readRawBody } from '../http/input.ts';
import type { StripeWebhooksService } from './stripe-webhooks.service.ts';

export function stripeRoutes(webhooks: StripeWebhooksService): Router {
  const router = new Router();
  router.post('/api/v1/webhooks/stripe/:programId', async (ctx) => {
    const raw = await readRawBody(ctx, '1mb');
    const result = await webhooks.ingest(ctx.params.programId!, raw, ctx.get('stripe-signature') || undefined);
    // 500 makes Stripe redeliver; the stored event is processed again on redelivery.
    ctx.status = result.status === 'failed' ? 500 : 200;
    ctx.body = result.status === 'failed'
      ? { error: { code: 'processing_failed', message: 'The event is stored and will be processed on redelivery' } }
      : { received: true, id: result.eventId, status: result.status };
  });
  return router;
}
