/**
 * Admin API: the program's Stripe restricted key. `GET /api/v1/program/stripe-key` → `{ stripeKey }` (set or not,
 * its mode, the permissions it needs); `POST /api/v1/program/stripe-key/test` `{ key? }` → `{ test }` (Stripe
 * called with the key: ok, or which permission is missing / why Stripe refused). The key itself is set with
 * `PATCH /api/v1/program` `{ stripeApiKey }` (or the CLI's `stripe set-key`).
 */
import Router from '@koa/router';
import type { AdminState } from '../http/admin-auth.ts';
import { readJson } from '../lib/validate.ts';
import type { StripeSettingsService } from './stripe-settings.service.ts';

export function stripeKeyRoutes(settings: StripeSettingsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/program/stripe-key' });
  router.get('/', (ctx) => {
    ctx.body = { stripeKey: settings.apiKeyStatus(ctx.state.program) };
  });
  router.post('/test', async (ctx) => {
    ctx.body = { test: await settings.testApiKey(ctx.state.program, await readJson(ctx)) };
  });
  return router;
}
