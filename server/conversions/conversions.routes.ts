/**
 * Admin API: `/api/v1/conversions`.
 * - `GET /` lists conversions (`?affiliateId=&limit=&offset=`).
 * - `POST /` records a sale or a lead for merchants who bill outside Stripe; send an `Idempotency-Key` header
 *   (a retry with the same key and body gets the same answer, with `Idempotent-Replayed: true`).
 */
import Router from '@koa/router';
import type { AdminState } from '../http/admin-auth.ts';
import { readJson } from '../lib/validate.ts';
import type { ConversionsService } from './conversions.service.ts';

export function conversionsRoutes(conversions: ConversionsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/conversions' });
  router.get('/', async (ctx) => {
    ctx.body = { data: await conversions.list(ctx.state.program, ctx.query) };
  });
  router.post('/', async (ctx) => {
    const body = await readJson(ctx);
    const key = ctx.get('idempotency-key');
    const result = await conversions.create(ctx.state.program, body, key === '' ? undefined : key);
    ctx.status = result.status;
    if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = result.body;
  });
  return router;
}
