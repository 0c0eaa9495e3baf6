/**
 * `/app/payouts`: balances due per affiliate and currency (`GET /api/v1/balances`, named through
 * `GET /api/v1/affiliates?ids=`), pay one (`POST /api/v1/payouts`) or all due (`POST /api/v1/payouts/pay-all`:
 * Stripe transfers, PayPal / Wise files, manual payouts), the payment files (`GET /api/v1/payouts/export`), and the
 * history by status with "mark paid" (`/:id/complete`, a reference) and "mark failed" (`/:id/fail`, a reason).
 */
import {
  badge,
  emptyState,
  errorBox,
  field,
  formValues,
  h,
  loading,
  notice,
  showFormError,
  table,
} from '../../../src/dom.js';
import { formatDate, formatMoney } from '../../../src/format.js';
import { ApiError } from '../../../src/api.js';
import type { ConsoleContext, ConsoleView } from '../context.js';
import type { Balance, PayAllResult, Payout } from '../types.js';
import { affiliateCell, affiliateNames, type AffiliateName, selectField, simplePager } from './shared.js';

const LIMIT = 50;
const STATUSES: [string, string][] = [
  ['', 'All'],
  ['pending', 'Pending'],
  ['processing', 'Processing'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
];

/** Downloads a payment file; the path is the admin API's (`/api/v1/payouts/export?…`). */
async function downloadFile(ctx: ConsoleContext, url: string, slot: HTMLElement) {
  try {
    const headers = await ctx.api.download(url.replace(/^\/api\/v1/, ''));
    const count = Number(headers.get('x-payout-count') ?? 0);
    slot.replaceChildren(notice(`Downloaded a file of ${count} payout${count === 1 ? '' : 's'}`));
  } catch (err) {
    slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'The download did not work; try again.'));
  }
}

export const payoutsView: ConsoleView = async (ctx, root) => {
  const params = new URLSearchParams(location.search);
  const status = params.get('status') ?? '';
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const slot = h('div', { 'aria-live': 'polite' });
  const due = h('section', { class: 'card', 'aria-labelledby': 'due-h' }, h('h2', { id: 'due-h' }, 'Due'), loading());
  const files = h(
    'section',
    { class: 'card', 'aria-labelledby': 'files-h' },
    h('h2', { id: 'files-h' }, 'Payment files'),
    h('p', { class: 'muted' }, 'PayPal Payouts and Wise batch files of the payouts not yet marked paid.'),
    h(
      'div',
      { class: 'row' },
      (['paypal', 'wise'] as const).map((format) =>
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary',
            onclick: () => downloadFile(ctx, `/payouts/export?format=${format}&status=processing`, slot),
          },
          format === 'paypal' ? 'PayPal CSV' : 'Wise CSV',
        ),
      ),
    ),
  );
  const history = h(
    'section',
    { class: 'card', 'aria-labelledby': 'hist-h' },
    h('h2', { id: 'hist-h' }, 'History'),
    loading(),
  );
  const action = h('div');
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Payouts')),
    slot,
    due,
    files,
    history,
    action,
  );
  const go = (q: Record<string, string | number>) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries({ status, ...q }))
      if (String(v) !== '' && String(v) !== '0') s.set(k, String(v));
    ctx.navigate(`/app/payouts${s.size ? `?${s}` : ''}`);
  };

  const fail = (err: unknown, what: string) =>
    slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : `${what} did not work; try again.`));

  /** The form under the history that marks one payout paid (with a reference) or failed (with a reason). */
  const settleForm = (p: Payout, names: Map<string, AffiliateName>, kind: 'complete' | 'fail') => {
    const who = names.get(p.affiliateId);
    const what = `${formatMoney(p.amount, p.currency)} to ${who ? who.name || who.email : p.affiliateId}`;
    const form: HTMLFormElement = h(
      'form',
      {
        class: 'card',
        'aria-label': kind === 'complete' ? 'Mark paid' : 'Mark failed',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const v = formValues(form);
          try {
            await ctx.api.post(
              `/payouts/${p.id}/${kind}`,
              kind === 'complete' ? { reference: v.reference } : { reason: v.reason },
            );
            action.replaceChildren();
            await draw();
            slot.replaceChildren(notice(kind === 'complete' ? 'Payout marked paid' : 'Payout marked failed'));
          } catch (err) {
            showFormError(form, err instanceof ApiError ? err.message : 'That did not work; try again.');
          }
        },
      },
      h('h2', null, kind === 'complete' ? `Mark paid: ${what}` : `Mark failed: ${what}`),
      kind === 'complete'
        ? field({ label: 'Payment reference', name: 'reference', required: true, hint: 'The PayPal or bank id' })
        : field({ label: 'Reason', name: 'reason', required: true, hint: 'Its commissions become due again' }),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save'),
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => action.replaceChildren() }, 'Cancel'),
      ),
    );
    action.replaceChildren(form);
    form.querySelector('input')?.focus();
  };

  const draw = async () => {
    const [balances, payouts] = await Promise.all([
      ctx.api.get<{ data: Balance[] }>('/balances'),
      ctx.api.get<{ data: Payout[] }>('/payouts', { status, limit: LIMIT, offset }),
    ]);
    const owed = balances.data.filter((b) => b.balance > 0);
    const names = await affiliateNames(ctx, [
      ...owed.map((b) => b.affiliateId),
      ...payouts.data.map((p) => p.affiliateId),
    ]);
    const payAll: HTMLButtonElement = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-primary',
        disabled: !owed.length || !ctx.canWrite(),
        onclick: async () => {
          payAll.disabled = true;
          try {
            const r = await ctx.api.post<PayAllResult>('/payouts/pay-all', {});
            await draw();
            const made = r.paid.length + r.exported.length + r.manual.length;
            slot.replaceChildren(
              notice(
                `${made} payout${made === 1 ? '' : 's'} created${r.notPaid.length ? `; ${r.notPaid.length} not paid (${r.notPaid.map((n) => n.message).join('; ')})` : ''}`,
              ),
              ...r.exports.map((f) =>
                h(
                  'button',
                  { type: 'button', class: 'btn btn-secondary', onclick: () => downloadFile(ctx, f.url, slot) },
                  `Download the ${f.format === 'paypal' ? 'PayPal' : 'Wise'} file${f.currency ? ` (${f.currency.toUpperCase()})` : ''}: ${f.count} payout${f.count === 1 ? '' : 's'}`,
                ),
              ),
            );
          } catch (err) {
            payAll.disabled = false;
            fail(err, 'Pay all');
          }
        },
      },
      'Pay all due',
    );
    const payOne = (b: Balance) =>
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-secondary',
          disabled: !ctx.canWrite(),
          'aria-label': `Pay ${formatMoney(b.balance, b.currency)} to ${names.get(b.affiliateId)?.email ?? b.affiliateId}`,
          onclick: async (e: Event) => {
            (e.currentTarget as HTMLButtonElement).disabled = true;
            try {
              await ctx.api.post('/payouts', { affiliateId: b.affiliateId, currency: b.currency });
              await draw();
              slot.replaceChildren(notice('Payout created'));
            } catch (err) {
              await draw();
              fail(err, 'The payout');
            }
          },
        },
        'Pay',
      );
    due.replaceChildren(
      h('h2', { id: 'due-h' }, 'Due'),
      owed.length
        ? table(
            'Balances due',
            [
              { label: 'Affiliate' },
              { label: 'Approved', numeric: true },
              { label: 'In payouts', numeric: true },
              { label: 'Balance', numeric: true },
              { label: '' },
            ],
            owed.map((b) => [
              affiliateCell(names, b.affiliateId),
              formatMoney(b.approved, b.currency),
              formatMoney(b.inPayouts, b.currency),
              formatMoney(b.balance, b.currency),
              payOne(b),
            ]),
          )
        : emptyState('Nothing due', 'Approved commissions above the minimum payout appear here.'),
      h('div', { class: 'row' }, payAll),
    );
    const open = (p: Payout) => p.status === 'pending' || p.status === 'processing';
    history.replaceChildren(
      h('h2', { id: 'hist-h' }, 'History'),
      h(
        'div',
        { class: 'toolbar' },
        selectField('Status', STATUSES, status, (v) => go({ status: v, offset: 0 })),
      ),
      payouts.data.length
        ? table(
            'Payout history',
            [
              { label: 'Created' },
              { label: 'Affiliate' },
              { label: 'Amount', numeric: true },
              { label: 'Method' },
              { label: 'Status' },
              { label: 'Reference' },
              { label: '' },
            ],
            payouts.data.map((p) => [
              formatDate(p.createdAt),
              affiliateCell(names, p.affiliateId),
              formatMoney(p.amount, p.currency),
              p.method.replace(/_/g, ' '),
              badge(p.status),
              p.reference ?? p.failureReason ?? '',
              open(p) && ctx.canWrite()
                ? h(
                    'div',
                    { class: 'row' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'btn btn-secondary',
                        'aria-label': `Mark payout ${p.id} paid`,
                        onclick: () => settleForm(p, names, 'complete'),
                      },
                      'Mark paid',
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'btn btn-secondary',
                        'aria-label': `Mark payout ${p.id} failed`,
                        onclick: () => settleForm(p, names, 'fail'),
                      },
                      'Mark failed',
                    ),
                  )
                : '',
            ]),
          )
        : emptyState(
            status ? `No ${status} payouts` : 'No payouts yet',
            status ? 'Choose another status.' : 'Payouts appear here once created.',
          ),
      simplePager(payouts.data.length, LIMIT, offset, (o) => go({ offset: o })),
    );
  };
  await draw();
};
