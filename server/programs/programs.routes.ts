/** Admin API: `GET /api/v1/program` (settings of the API key's program) and `PATCH /api/v1/program`. */
import Router from '@koa/router';
import { readJson } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { ProgramsService } from './programs.service.ts';

export function programRoutes(programs: ProgramsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/program' });
  router.get('/', (ctx) => {
    ctx.body = { program: programs.settings(ctx.state.program) };
  });
  router.patch('/', async (ctx) => {
    ctx.body = { program: await programs.updateSettings(ctx.state.program, await readJson(ctx)) };
  });
  return router;
}
