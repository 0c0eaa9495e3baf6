/**
 * Admin API: `/api/v1/api-keys` (list, create, `DELETE /:id` revokes, `POST /:id/rotate`) and `/api/v1/webhook-secrets` (list, add,
 * `DELETE /:id` retires), over `credentials.service.ts`.
 */
import Router from '@koa/router';
import { pathId, readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { CredentialsService } from './credentials.service.ts';

export function credentialsRoutes(credentials: CredentialsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1' });
  router.param('id', pathId('Credential'));
  router.get('/api-keys', async (ctx) => {
    ctx.body = { data: await credentials.listApiKeys(ctx.state.program) };
  });
  router.post('/api-keys', async (ctx) => {
    ctx.status = 201;
    ctx.body = { apiKey: await credentials.createApiKey(ctx.state.program, await readJson(ctx)) };
  });
  router.delete('/api-keys/:id', async (ctx) => {
    ctx.body = { apiKey: await credentials.revokeApiKey(ctx.state.program, ctx.params.id!) };
  });
  router.post('/api-keys/:id/rotate', async (ctx) => {
    ctx.status = 201;
    ctx.body = { apiKey: await credentials.rotateApiKey(ctx.state.program, ctx.params.id!) };
  });
  router.get('/webhook-secrets', async (ctx) => {
    ctx.body = { data: await credentials.listWebhookSecrets(ctx.state.program) };
  });
  router.post('/webhook-secrets', async (ctx) => {
    ctx.status = 201;
    ctx.body = { data: await credentials.addWebhookSecret(ctx.state.program, await readJson(ctx)) };
  });
  router.delete('/webhook-secrets/:id', async (ctx) => {
    ctx.body = { data: await credentials.retireWebhookSecret(ctx.state.program, ctx.params.id!) };
  });
  return router;
}
