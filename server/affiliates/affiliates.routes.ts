/**
 * Admin API: `/api/v1/affiliates` (+ `/export` CSV, `/import` CSV, `/:id` GET, PATCH, DELETE,
 * `/:id/approve|reject|suspend|invite`).
 */
import Router from '@koa/router';
import { pathId, readJson, readRawBody } from '../lib/validate.ts';
import { IMPORT_MAX_BYTES } from './affiliates-csv.ts';
import { sendCsvDownload } from '../http/csv-download.ts';
import type { AdminState } from '../http/admin-auth.ts';
import type { AccessService } from '../partner/access/access.service.ts';
import type { AffiliatesService } from './affiliates.service.ts';

/** What the admin affiliate routes need of partner access: set-password links, invites, application fields. */
export type Invitations = Pick<AccessService, 'sendSetPasswordLink' | 'invite' | 'applications'>;

export function affiliatesRoutes(affiliates: AffiliatesService, partner: Invitations): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/affiliates' });
  router.param('id', pathId('Affiliate'));

  /** An approved affiliate without a password gets a one-time link to set one, also e-mailed when SMTP is set. */
  async function withSetPasswordLink<T extends { id: string; status: string; hasPassword: boolean }>(a: T) {
    if (a.status !== 'approved' || a.hasPassword) return { affiliate: a };
    const { setPasswordUrl, emailSent } = await partner.sendSetPasswordLink(a.id);
    return { affiliate: a, setPasswordUrl, emailSent };
  }

  /** Add what an affiliate's application said (website, how they promote), null for merchant-created ones. */
  async function withApplications<T extends { id: string }>(program: AdminState['program'], list: T[]) {
    const apps = await partner.applications(
      program,
      list.map((a) => a.id),
    );
    return list.map((a) => ({ ...a, application: apps.get(a.id)?.appliedAt ? apps.get(a.id)! : null }));
  }

  router.get('/', async (ctx) => {
    ctx.body = { data: await withApplications(ctx.state.program, await affiliates.list(ctx.state.program, ctx.query)) };
  });
  router.post('/', async (ctx) => {
    const created = await affiliates.create(ctx.state.program, await readJson(ctx));
    ctx.status = 201;
    ctx.body = await withSetPasswordLink(created);
  });
  /** The filtered, sorted list as a CSV file, streamed (`?status=&search=&sort=&order=`). */
  router.get('/export', async (ctx) => {
    const rows = affiliates.exportCsv(ctx.state.program, ctx.query);
    sendCsvDownload(ctx, `affiliates-${new Date().toISOString().slice(0, 10)}.csv`, rows);
  });
  /** Body: the CSV file's text (`email,name,code`, ≤ 1 MB); answers one result per row. */
  router.post('/import', async (ctx) => {
    const csv = await readRawBody(ctx, String(IMPORT_MAX_BYTES));
    ctx.body = await affiliates.importCsv(ctx.state.program, csv, ctx.query);
  });
  router.get('/:id', async (ctx) => {
    const [affiliate] = await withApplications(ctx.state.program, [
      await affiliates.get(ctx.state.program, ctx.params.id!),
    ]);
    ctx.body = { affiliate };
  });
  router.patch('/:id', async (ctx) => {
    const [affiliate] = await withApplications(ctx.state.program, [
      await affiliates.update(ctx.state.program, ctx.params.id!, await readJson(ctx)),
    ]);
    ctx.body = { affiliate };
  });
  router.delete('/:id', async (ctx) => {
    await affiliates.remove(ctx.state.program, ctx.params.id!);
    ctx.status = 204;
  });
  /** (Re)invite an approved affiliate: a fresh one-time set-password link (older ones stop working), e-mailed. */
  router.post('/:id/invite', async (ctx) => {
    const { setPasswordUrl, emailSent } = await partner.invite(ctx.state.program, ctx.params.id!);
    ctx.body = { affiliate: await affiliates.get(ctx.state.program, ctx.params.id!), setPasswordUrl, emailSent };
  });
  router.post('/:id/approve', async (ctx) => {
    ctx.body = await withSetPasswordLink(await affiliates.transition(ctx.state.program, ctx.params.id!, 'approve'));
  });
  router.post('/:id/reject', async (ctx) => {
    const input = await readJson(ctx);
    ctx.body = { affiliate: await affiliates.transition(ctx.state.program, ctx.params.id!, 'reject', input) };
  });
  router.post('/:id/suspend', async (ctx) => {
    ctx.body = { affiliate: await affiliates.transition(ctx.state.program, ctx.params.id!, 'suspend') };
  });
  return router;
}
