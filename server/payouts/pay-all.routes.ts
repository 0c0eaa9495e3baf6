/** Admin (API key): `POST /api/v1/payouts/pay-all` `{ currency?, dryRun? }` → 200 `PayAllResult` (`pay-all.ts`). */
import Router from '@koa/router';
import { readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { PayAllService } from './pay-all.ts';

export function payAllRoutes(payAll: PayAllService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/payouts' });
  router.post('/pay-all', async (ctx) => {
    ctx.body = await payAll.payAll(ctx.state.program, await readJson(ctx));
  });
  return router;
}
