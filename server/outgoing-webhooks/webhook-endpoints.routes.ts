/**
 * Admin API `/api/v1/webhook-endpoints`: CRUD, `POST /:id/rotate-secret`, `GET /:id/deliveries` (the delivery log),
 * `POST /:id/deliveries/:deliveryId/redeliver`, over `webhook-endpoints.service.ts`.
 */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { OutgoingWebhooksService } from './webhook-endpoints.service.ts';

export function webhookEndpointsRoutes(webhooks: OutgoingWebhooksService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/webhook-endpoints' });
  router.param('id', pathId('Webhook endpoint'));
  router.param('deliveryId', pathId('Webhook delivery'));
  router.get('/', async (ctx) => {
    ctx.body = { data: await webhooks.list(ctx.state.program) };
  });
  router.post('/', async (ctx) => {
    ctx.status = 201;
    ctx.body = { webhookEndpoint: await webhooks.create(ctx.state.program, await readJson(ctx)) };
  });
  router.get('/:id', async (ctx) => {
    ctx.body = { webhookEndpoint: await webhooks.get(ctx.state.program, ctx.params.id!) };
  });
  router.patch('/:id', async (ctx) => {
    ctx.body = { webhookEndpoint: await webhooks.update(ctx.state.program, ctx.params.id!, await readJson(ctx)) };
  });
  router.delete('/:id', async (ctx) => {
    await webhooks.remove(ctx.state.program, ctx.params.id!);
    ctx.status = 204;
  });
  router.post('/:id/rotate-secret', async (ctx) => {
    ctx.body = { webhookEndpoint: await webhooks.rotateSecret(ctx.state.program, ctx.params.id!) };
  });
  router.get('/:id/deliveries', async (ctx) => {
    ctx.body = { data: await webhooks.listDeliveries(ctx.state.program, ctx.params.id!, ctx.query) };
  });
  router.post('/:id/deliveries/:deliveryId/redeliver', async (ctx) => {
    ctx.body = {
      delivery: await webhooks.redeliver(ctx.state.program, ctx.params.id!, ctx.params.deliveryId!),
    };
  });
  return router;
}
