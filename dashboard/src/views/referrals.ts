/** Referred customers (e-mail masked) with their sales, and every commission with its rule and status. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { badge, emptyState, errorBox, h, loading, pager, table } from '../dom.js';
import { formatDate, formatMoney, formatMoneyList } from '../format.js';
import type { Commission, Page, Referral } from '../types.js';

const PAGE = 25;

export function renderReferrals(page: Page<Referral>, currency: string): HTMLElement {
  if (page.total === 0)
    return emptyState('No referred customers yet', 'People you refer appear here once they sign up or buy.');
  return table(
    'Referred customers',
    [
      { label: 'Customer' },
      { label: 'Status' },
      { label: 'Since' },
      { label: 'Sales', numeric: true },
      { label: 'Revenue', numeric: true },
      { label: 'Your commission', numeric: true },
    ],
    page.data.map((r) => {
      const commissions = new Map<string, number>();
      for (const s of r.sales)
        if (s.commission)
          commissions.set(s.commission.currency, (commissions.get(s.commission.currency) ?? 0) + s.commission.amount);
      return [
        h('span', { class: 'mono' }, r.customer ?? 'Unknown'),
        badge(r.status),
        formatDate(r.since),
        String(r.sales.length),
        formatMoneyList(r.revenue, currency),
        formatMoneyList(
          [...commissions.entries()].map(([c, amount]) => ({ currency: c, amount })),
          currency,
        ),
      ];
    }),
  );
}

export function renderCommissions(page: Page<Commission>): HTMLElement {
  if (page.total === 0)
    return emptyState(
      'No commissions yet',
      'Each referred sale earns a commission; it is listed here with the date it becomes payable.',
    );
  return table(
    'Commissions',
    [
      { label: 'Date' },
      { label: 'Customer', className: 'hide-sm' },
      { label: 'Rule' },
      { label: 'Amount', numeric: true },
      { label: 'Status' },
      { label: 'Payable on' },
    ],
    page.data.map((c) => [
      formatDate(c.saleAt ?? c.createdAt),
      h('span', { class: 'mono' }, c.customer ?? '—'),
      c.rule.description,
      h('span', { class: c.amount < 0 ? 'negative' : undefined }, formatMoney(c.amount, c.currency)),
      badge(c.status),
      c.status === 'paid'
        ? `Paid ${formatDate(c.paidAt)}`
        : c.status === 'rejected' || c.status === 'reversed'
          ? '—'
          : formatDate(c.payableAt),
    ]),
  );
}

export async function referralsView(ctx: AppContext, root: HTMLElement): Promise<void> {
  const body = h('div', null, loading('Loading referred customers…'));
  root.replaceChildren(
    h(
      'div',
      { class: 'stack' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', { tabindex: '-1' }, 'Referrals'),
        h('p', { class: 'muted' }, 'Customers you referred. Email addresses are masked to protect their privacy.'),
      ),
      h('section', { class: 'card' }, body),
    ),
  );
  const load = async (offset: number) => {
    body.setAttribute('aria-busy', 'true');
    try {
      const page = await ctx.api.get<Page<Referral>>('/referrals', { limit: PAGE, offset });
      body.replaceChildren(
        renderReferrals(page, ctx.me!.program.currency),
        pager(page.total, page.limit, page.offset, load) ?? '',
      );
    } catch (err) {
      body.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load referrals.'));
    } finally {
      body.removeAttribute('aria-busy');
    }
  };
  await load(0);
}

export async function commissionsView(ctx: AppContext, root: HTMLElement): Promise<void> {
  const body = h('div', null, loading('Loading commissions…'));
  const filter = h(
    'select',
    { id: 'status-filter', name: 'status' },
    h('option', { value: '' }, 'All statuses'),
    h('option', { value: 'pending,on_hold' }, 'Pending'),
    h('option', { value: 'approved' }, 'Approved'),
    h('option', { value: 'paid' }, 'Paid'),
    h('option', { value: 'rejected,reversed' }, 'Rejected or reversed'),
  );
  root.replaceChildren(
    h(
      'div',
      { class: 'stack' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', { tabindex: '-1' }, 'Commissions'),
        h('a', { class: 'btn btn-secondary', href: '/api/v1/partner/commissions.csv', download: '' }, 'Export CSV'),
      ),
      h(
        'section',
        { class: 'card' },
        h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Show'), filter),
        body,
      ),
    ),
  );
  const load = async (offset: number) => {
    body.setAttribute('aria-busy', 'true');
    try {
      const page = await ctx.api.get<Page<Commission>>('/commissions', {
        limit: PAGE,
        offset,
        status: filter.value || undefined,
      });
      body.replaceChildren(renderCommissions(page), pager(page.total, page.limit, page.offset, load) ?? '');
    } catch (err) {
      body.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load commissions.'));
    } finally {
      body.removeAttribute('aria-busy');
    }
  };
  filter.addEventListener('change', () => load(0));
  await load(0);
}
