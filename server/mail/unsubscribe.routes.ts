/**
 * One-click unsubscribe (RFC 8058) under `/api/v1/unsubscribe?token=…`, no login: the signed token in every
 * outbox mail's `List-Unsubscribe` header names the person and the kind of e-mail.
 * - `GET`: a page asking to confirm (mail scanners open links; a GET never changes anything);
 * - `POST` (the mail client's one-click request, body `List-Unsubscribe=One-Click`, or the page's button):
 *   turns that kind off for that person and answers a page saying so. Idempotent.
 * A token that is not valid answers 400 `invalid_unsubscribe_token`.
 */
import Router from '@koa/router';
import escapeHtml from 'escape-html';
import { readRawBody } from '../lib/validate.ts';
import type { MailOutbox } from './outbox.service.ts';

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>${escapeHtml(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:480px;margin:40px auto;padding:0 16px">` +
  `<h1 style="font-size:20px">${escapeHtml(title)}</h1>${body}</body></html>`;

export function unsubscribeRoutes(outbox: Pick<MailOutbox, 'describeToken' | 'unsubscribe'>): Router {
  const router = new Router({ prefix: '/api/v1/unsubscribe' });
  router.get('/', async (ctx) => {
    const t = outbox.describeToken(ctx.query.token);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.type = 'html';
    ctx.body = page(
      'Unsubscribe',
      `<p>Stop sending <strong>${escapeHtml(t.label)}</strong> e-mails to ${escapeHtml(t.email)}?</p>` +
        `<form method="post" action="?token=${escapeHtml(encodeURIComponent(String(ctx.query.token)))}">` +
        `<input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    );
  });
  router.post('/', async (ctx) => {
    await readRawBody(ctx, '4kb');
    const t = await outbox.unsubscribe(ctx.query.token);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = page(
      'Unsubscribed',
      `<p>${escapeHtml(t.email)} will no longer receive <strong>${escapeHtml(t.label)}</strong> e-mails.</p>`,
    );
  });
  return router;
}
