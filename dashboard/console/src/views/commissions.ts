/**
 * `/app/commissions`: commissions by status (pending first), approve or reject one, or approve every selected one
 * (each through `POST /api/v1/commissions/:id/approve`); on-hold ones show their fraud reason.
 */
import { badge, emptyState, errorBox, h, loading, notice, table } from '../../../src/dom.js';
import { formatDate, formatMoney } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import { act, selectField, simplePager } from './shared.js';

interface Commission {
  id: string;
  affiliateId: string;
  amount: number;
  currency: string;
  status: string;
  holdReason: string | null;
  ruleReason: string | null;
  createdAt: string;
  payableAt: string;
}

const LIMIT = 50;

export const commissionsView: ConsoleView = async (ctx, root, params) => {
  const state = { status: params.status ?? 'pending', offset: Number(params.offset ?? 0) || 0 };
  const slot = h('div', { 'aria-live': 'polite' });
  const listArea = h('div', null, loading());
  const go = () =>
    ctx.navigate(
      `/app/commissions?status=${encodeURIComponent(state.status)}${state.offset ? `&offset=${state.offset}` : ''}`,
    );
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Commissions')),
    h(
      'div',
      { class: 'toolbar' },
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
    ),
    slot,
    listArea,
  );

  const draw = async () => {
    const { data } = await ctx.api.get<{ data: Commission[] }>('/commissions', {
      status: state.status || undefined,
      limit: LIMIT,
      offset: state.offset,
    });
    if (data.length === 0) {
      listArea.replaceChildren(emptyState('No commissions', 'Commissions appear here after referred sales.'));
      return;
    }
    const decidable = (c: Commission) => ctx.canWrite() && (c.status === 'pending' || c.status === 'on_hold');
    const boxes = new Map<string, HTMLInputElement>();
    const rows = data.map((c) => {
      const box = decidable(c)
        ? h('input', {
            type: 'checkbox',
            'aria-label': `Select commission of ${formatMoney(c.amount, c.currency)} from ${formatDate(c.createdAt)}`,
          })
        : null;
      if (box) boxes.set(c.id, box);
      const button = (label: string, action: string, cls: string) => {
        const b: HTMLButtonElement = h(
          'button',
          {
            type: 'button',
            class: `btn ${cls} btn-small`,
            'aria-label': `${label} commission ${c.id}`,
            onclick: () =>
              act(
                b,
                slot,
                `Commission ${action === 'approve' ? 'approved' : 'rejected'}`,
                () => ctx.api.post(`/commissions/${c.id}/${action}`, {}),
                draw,
              ),
          },
          label,
        );
        return b;
      };
      return [
        box,
        formatDate(c.createdAt),
        h('span', { class: 'mono small' }, c.affiliateId),
        formatMoney(c.amount, c.currency),
        h('span', null, badge(c.status), c.holdReason ? h('span', { class: 'small muted' }, ` ${c.holdReason}`) : null),
        formatDate(c.payableAt),
        decidable(c)
          ? h(
              'div',
              { class: 'row' },
              button('Approve', 'approve', 'btn-primary'),
              button('Reject', 'reject', 'btn-secondary'),
            )
          : null,
      ];
    });
    const bulk: HTMLButtonElement | null = boxes.size
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn btn-primary',
            onclick: async () => {
              const chosen = [...boxes].filter(([, b]) => b.checked).map(([id]) => id);
              if (!chosen.length) {
                slot.replaceChildren(errorBox('Select the commissions to approve first.'));
                return;
              }
              bulk!.disabled = true;
              const failed: string[] = [];
              for (const id of chosen)
                await ctx.api.post(`/commissions/${id}/approve`, {}).catch(() => failed.push(id));
              await draw();
              slot.replaceChildren(
                failed.length
                  ? errorBox(`${failed.length} of ${chosen.length} could not be approved.`)
                  : notice(`${chosen.length} commissions approved`),
              );
            },
          },
          'Approve selected',
        )
      : null;
    listArea.replaceChildren(
      bulk ? h('div', { class: 'row' }, bulk) : h('span'),
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
