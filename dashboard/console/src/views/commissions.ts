/**
 * `/app/commissions`: commissions by status (pending first) with a search by affiliate (name, e-mail or code), a
 * sort and pages, all in the URL query; on-hold ones show why they are held. Approve or reject one
 * (`POST /api/v1/commissions/:id/approve|reject`) or the ones ticked on the page (`POST /api/v1/commissions/bulk`,
 * the same rule on the server); the CSV export of what the filters match (`GET /api/v1/commissions/export`).
 * Each row opens the commission's page (`/app/commissions/:id`).
 */
import type { z } from 'zod';
import { ApiError } from '../../../src/api.js';
import { badge, emptyState, errorBox, h, loading, notice, table, uid } from '../../../src/dom.js';
import { formatDate, formatMoney } from '../../../src/format.js';
import type { commissionResponses, commissionShape } from '../../../../server/commissions/commissions.schemas.ts';
import type { ConsoleContext, ConsoleView } from '../context.js';
import {
  act,
  affiliateCell,
  affiliateNames,
  selectField,
  simplePager,
  exportCsvButton,
  searchToolbar,
} from './shared.js';

type Commission = z.output<typeof commissionShape>;
type BulkAnswer = z.output<typeof commissionResponses.bulk>;

const LIMIT = 50;

/** Why a commission is held, in words (`hold_reason` from the fraud checks or a dispute). */
export const HOLD_REASONS: Record<string, string> = {
  self_referral_email: 'the customer’s e-mail is the affiliate’s own',
  self_referral_ip: 'the click came from an IP the affiliate logged in from',
  ip_conversion_limit: 'too many conversions from one IP in 24 hours',
  dispute: 'the customer disputed the payment',
};

export const holdText = (reason: string) => HOLD_REASONS[reason] ?? reason.replace(/_/g, ' ');

/** Whether the merchant may approve or reject it now (the server says the same). */
export const decidable = (c: Pick<Commission, 'status' | 'amount'>) =>
  (c.status === 'pending' || c.status === 'on_hold') && c.amount >= 0;

/**
 * Approve or reject one commission (`POST /commissions/:id/approve|reject`, the rule the bulk buttons use too); the
 * outcome goes to `slot`, then `redraw`. The list's rows and the detail page use it.
 */
export function decisionButton(
  ctx: ConsoleContext,
  slot: HTMLElement,
  id: string,
  action: 'approve' | 'reject',
  label: string,
  cls: string,
  redraw: () => Promise<void>,
  ariaLabel?: string,
): HTMLButtonElement {
  const b: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      class: cls,
      'aria-label': ariaLabel,
      onclick: () =>
        act(
          b,
          slot,
          `Commission ${action === 'approve' ? 'approved' : 'rejected'}`,
          () => ctx.api.post(`/commissions/${id}/${action}`, {}),
          redraw,
        ),
    },
    label,
  );
  return b;
}

/** One line about a bulk answer: "2 approved · 1 already approved · 1 not changed: <why>". */
function bulkSummary(action: 'approve' | 'reject', answer: BulkAnswer): string {
  const done = action === 'approve' ? 'approved' : 'rejected';
  const changed = answer.results.filter((r) => r.outcome === 'changed').length;
  const unchanged = answer.results.filter((r) => r.outcome === 'unchanged').length;
  const errors = answer.results.filter((r) => r.outcome === 'error');
  return [
    `${changed} ${done}`,
    unchanged ? `${unchanged} already ${done}` : '',
    errors.length
      ? `${errors.length} not changed: ${[...new Set(errors.map((e) => e.error!.message))].join('; ')}`
      : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

export const commissionsView: ConsoleView = async (ctx, root, params) => {
  const state = {
    status: params.status ?? 'pending',
    search: params.search ?? '',
    sort: params.sort ?? '-created_at',
    offset: Number(params.offset ?? 0) || 0,
  };
  const slot = h('div', { 'aria-live': 'polite' });
  const listArea = h('div', null, loading());
  const query = () => ({ status: state.status || undefined, search: state.search || undefined });
  const go = () => {
    const q = new URLSearchParams();
    q.set('status', state.status);
    if (state.search) q.set('search', state.search);
    if (state.sort !== '-created_at') q.set('sort', state.sort);
    if (state.offset) q.set('offset', String(state.offset));
    ctx.navigate(`/app/commissions?${q}`);
  };
  const search = h('input', { id: uid('q'), type: 'search', name: 'search', value: state.search });
  const exportButton = exportCsvButton(ctx, slot, '/commissions/export', query, 'Downloaded the commissions CSV');
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Commissions'), exportButton),
    searchToolbar(
      search,
      'Affiliate (name, e-mail or code)',
      (text) => {
        state.search = text;
        state.offset = 0;
        go();
      },
      selectField(
        'Status',
        [
          ['pending', 'Pending'],
          ['on_hold', 'On hold'],
          ['approved', 'Approved'],
          ['paid', 'Paid'],
          ['rejected', 'Rejected'],
          ['reversed', 'Reversed'],
          ['', 'All'],
        ],
        state.status,
        (v) => {
          state.status = v;
          state.offset = 0;
          go();
        },
      ),
      selectField(
        'Sort',
        [
          ['-created_at', 'Newest first'],
          ['created_at', 'Oldest first'],
          ['-amount', 'Largest amount'],
          ['amount', 'Smallest amount'],
          ['payable_at', 'Payable soonest'],
        ],
        state.sort,
        (v) => {
          state.sort = v;
          state.offset = 0;
          go();
        },
      ),
      h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search'),
    ),
    slot,
    listArea,
  );

  const draw = async () => {
    const { data } = await ctx.api.get<{ data: Commission[] }>('/commissions', {
      ...query(),
      sort: state.sort,
      limit: LIMIT,
      offset: state.offset,
    });
    if (data.length === 0) {
      listArea.replaceChildren(
        emptyState(
          'No commissions',
          state.search || state.status
            ? 'Nothing matches these filters. Choose another status or clear the search.'
            : 'Commissions appear here after referred sales.',
        ),
      );
      return;
    }
    const names = await affiliateNames(
      ctx,
      data.map((c) => c.affiliateId),
    );
    const who = (c: Commission) => names.get(c.affiliateId)?.name || names.get(c.affiliateId)?.email || c.affiliateId;
    const what = (c: Commission) =>
      `${formatMoney(c.amount, c.currency)} for ${who(c)} from ${formatDate(c.createdAt)}`;
    const boxes = new Map<string, HTMLInputElement>();
    const count = h('span', { class: 'muted', 'aria-live': 'polite' });
    const bulkButtons: HTMLButtonElement[] = [];
    const sync = () => {
      const n = [...boxes.values()].filter((b) => b.checked).length;
      count.textContent = n ? `${n} selected` : '';
      for (const b of bulkButtons) b.disabled = n === 0;
      all.checked = n > 0 && n === boxes.size;
      all.indeterminate = n > 0 && n < boxes.size;
    };
    const all: HTMLInputElement = h('input', {
      type: 'checkbox',
      class: 'pick',
      id: uid('all'),
      onchange: () => {
        for (const b of boxes.values()) b.checked = all.checked;
        sync();
      },
    });
    const rows = data.map((c) => {
      const canDecide = ctx.canWrite() && decidable(c);
      const box = canDecide
        ? h('input', {
            type: 'checkbox',
            class: 'pick',
            'aria-label': `Select the commission of ${what(c)}`,
            onchange: sync,
          })
        : null;
      if (box) boxes.set(c.id, box);
      const button = (label: string, action: 'approve' | 'reject', cls: string) =>
        decisionButton(
          ctx,
          slot,
          c.id,
          action,
          label,
          `btn ${cls} btn-small`,
          draw,
          `${label} commission of ${what(c)}`,
        );
      return [
        box,
        h(
          'a',
          { href: `/app/commissions/${c.id}`, 'data-link': '', 'aria-label': `Commission of ${what(c)}` },
          formatDate(c.createdAt),
        ),
        affiliateCell(names, c.affiliateId),
        formatMoney(c.amount, c.currency),
        h(
          'span',
          null,
          badge(c.status),
          c.holdReason ? h('span', { class: 'small muted' }, ` ${holdText(c.holdReason)}`) : null,
        ),
        formatDate(c.payableAt),
        canDecide
          ? h(
              'div',
              { class: 'row' },
              button('Approve', 'approve', 'btn-primary'),
              button('Reject', 'reject', 'btn-secondary'),
            )
          : null,
      ];
    });
    const bulk = (label: string, action: 'approve' | 'reject', cls: string) => {
      const b: HTMLButtonElement = h(
        'button',
        {
          type: 'button',
          class: `btn ${cls}`,
          disabled: true,
          onclick: async () => {
            const ids = [...boxes].filter(([, x]) => x.checked).map(([id]) => id);
            if (!ids.length) return;
            for (const x of bulkButtons) x.disabled = true;
            try {
              const answer = await ctx.api.post<BulkAnswer>('/commissions/bulk', { action, ids });
              await draw();
              const failed = answer.results.some((r) => r.outcome === 'error');
              const line = bulkSummary(action, answer);
              slot.replaceChildren(failed ? errorBox(line) : notice(line));
            } catch (err) {
              sync();
              slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'That did not work; try again.'));
            }
          },
        },
        label,
      );
      bulkButtons.push(b);
      return b;
    };
    listArea.replaceChildren(
      boxes.size
        ? h(
            'div',
            { class: 'row', role: 'group', 'aria-label': 'Selected commissions' },
            h('label', { class: 'pick-all', for: all.id }, all, 'Select all on this page'),
            bulk('Approve selected', 'approve', 'btn-primary'),
            bulk('Reject selected', 'reject', 'btn-secondary'),
            count,
          )
        : h('span'),
      table(
        'Commissions',
        [
          { label: 'Select' },
          { label: 'Created' },
          { label: 'Affiliate' },
          { label: 'Amount', numeric: true },
          { label: 'Status' },
          { label: 'Payable from' },
          { label: 'Actions' },
        ],
        rows,
      ),
      simplePager(data.length, LIMIT, state.offset, (o) => {
        state.offset = o;
        go();
      }),
    );
  };
  await draw();
};
