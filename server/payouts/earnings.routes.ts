/**
 * Statements and yearly earnings (`earnings.ts`).
 * - Partner (session cookie): `GET /api/v1/partner/payouts/:id/statement.csv|.html` (own payouts only, else 404),
 *   `GET /api/v1/partner/earnings?year=YYYY`.
 * - Admin (API key): `GET /api/v1/earnings/yearly?year=YYYY` and `GET /api/v1/earnings/yearly.csv?year=YYYY`.
 * CSV cells go through `neutraliseFormula` (`lib/csv.ts`); the HTML page escapes every value (`statement-html.ts`)
 * and is answered with a Content-Security-Policy that allows no script.
 */
import Router from '@koa/router';
import { stringify } from 'csv-stringify/sync';
import { neutraliseFormula } from '../lib/csv.ts';
import { pathId } from '../lib/validate.ts';
import type { AdminState } from '../http/admin-auth.ts';
import {
  partnerAuthenticated,
  sameOriginGuard,
  type PartnerState,
  type SessionLookup,
} from '../http/partner-session.ts';
import type { AuthenticatedPartner } from '../partner/access/access.service.ts';
import type { EarningsService } from './earnings.ts';
import { statementHtml } from './statement-html.ts';

const csv = (rows: string[][]) => {
  const [header, ...rest] = rows;
  return stringify([header!, ...rest.map((r) => r.map(neutraliseFormula))]);
};

export function partnerEarningsRoutes(
  earnings: EarningsService,
  authenticate: SessionLookup<AuthenticatedPartner>,
  opts: { publicUrl?: string } = {},
): Router<PartnerState<AuthenticatedPartner>> {
  const router = new Router<PartnerState<AuthenticatedPartner>>({ prefix: '/api/v1/partner' });
  const authenticated = partnerAuthenticated(authenticate, opts.publicUrl);
  router.use(sameOriginGuard(opts.publicUrl));
  router.param('id', pathId('Payout', 'payout_not_found'));
  router.get('/payouts/:id/statement.csv', authenticated, async (ctx) => {
    const s = await earnings.statement(ctx.state.partner, ctx.params.id!);
    ctx.attachment(`statement-${s.payout.id}.csv`);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = csv(earnings.statementCsvRows(s));
  });
  router.get('/payouts/:id/statement.html', authenticated, async (ctx) => {
    const s = await earnings.statement(ctx.state.partner, ctx.params.id!);
    ctx.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    );
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = statementHtml(s);
  });
  router.get('/earnings', authenticated, async (ctx) => {
    ctx.body = await earnings.partnerYear(ctx.state.partner, ctx.query);
  });
  return router;
}

export function earningsRoutes(earnings: EarningsService): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api/v1/earnings' });
  router.get('/yearly', async (ctx) => {
    ctx.body = await earnings.yearly(ctx.state.program.id, ctx.query);
  });
  router.get('/yearly.csv', async (ctx) => {
    const { year, rows } = await earnings.yearlyCsvRows(ctx.state.program.id, ctx.query);
    ctx.attachment(`earnings-${year}.csv`);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = csv(rows);
  });
  return router;
}
