/**
 * `/app/payouts`: balances due per affiliate and currency (`GET /api/v1/balances`), "Pay all due"
 * (`POST /api/v1/payouts/pay-all`: Stripe transfers, PayPal / Wise files, manual payouts), and the history.
 */
import { badge, emptyState, errorBox, h, loading, notice, table } from '../../../src/dom.js';
import { formatDate, formatMoney } from '../../../src/format.js';
import { ApiError } from '../../../src/api.js';
import type { ConsoleView } from '../context.js';

interface Balance {
  affiliateId: string;
  currency: string;
  approved: number;
  balance: number;
  pending: number;
}
interface Payout {
  id: string;
  affiliateId: string;
  amount: number;
  currency: string;
  status: string;
  method: string;
  createdAt: string;
}
interface PayAllResult {
  paid: unknown[];
  exported: unknown[];
  manual: unknown[];
  notPaid: { affiliateId: string; reason: string; message: string }[];
  exports: { format: string; url: string; count: number }[];
}

export const payoutsView: ConsoleView = async (ctx, root) => {
  const slot = h('div', { 'aria-live': 'polite' });
  const due = h('section', { class: 'card', 'aria-labelledby': 'due-h' }, h('h2', { id: 'due-h' }, 'Due'), loading());
  const history = h(
    'section',
    { class: 'card', 'aria-labelledby': 'hist-h' },
    h('h2', { id: 'hist-h' }, 'History'),
    loading(),
  );
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Payouts')), slot, due, history);

  const draw = async () => {
    const [balances, payouts] = await Promise.all([
      ctx.api.get<{ data: Balance[] }>('/balances'),
      ctx.api.get<{ data: Payout[] }>('/payouts'),
    ]);
    const owed = balances.data.filter((b) => b.balance > 0);
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
            );
          } catch (err) {
            payAll.disabled = false;
            slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Pay all did not work; try again.'));
          }
        },
      },
      'Pay all due',
    );
    due.replaceChildren(
      h('h2', { id: 'due-h' }, 'Due'),
      owed.length
        ? table(
            'Balances due',
            [{ label: 'Affiliate' }, { label: 'Approved', numeric: true }, { label: 'Balance', numeric: true }],
            owed.map((b) => [
              h('span', { class: 'mono small' }, b.affiliateId),
              formatMoney(b.approved, b.currency),
              formatMoney(b.balance, b.currency),
            ]),
          )
        : emptyState('Nothing due', 'Approved commissions above the minimum payout appear here.'),
      h('div', { class: 'row' }, payAll),
    );
    history.replaceChildren(
      h('h2', { id: 'hist-h' }, 'History'),
      payouts.data.length
        ? table(
            'Payout history',
            [
              { label: 'Created' },
              { label: 'Affiliate' },
              { label: 'Amount', numeric: true },
              { label: 'Method' },
              { label: 'Status' },
            ],
            payouts.data.map((p) => [
              formatDate(p.createdAt),
              h('span', { class: 'mono small' }, p.affiliateId),
              formatMoney(p.amount, p.currency),
              p.method.replace(/_/g, ' '),
              badge(p.status),
            ]),
          )
        : emptyState('No payouts yet', 'Payouts appear here once created.'),
    );
  };
  await draw();
};
