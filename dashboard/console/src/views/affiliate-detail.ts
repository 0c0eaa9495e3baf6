/**
 * `/app/affiliates/:id`: one affiliate — who they are (payout method read-only: the affiliate sets it), the same
 * actions as the list, a set-password link (invite), a commission-rate override (a percentage rule for this
 * affiliate), and its numbers from the admin lists filtered by `affiliateId`: clicks and funnel (`/stats`), sales
 * (`/conversions`), commissions, balances, payouts and links.
 */
import { ApiError } from '../../../src/api.js';
import { badge, copyField, emptyState, errorBox, field, h, notice, showFormError, table } from '../../../src/dom.js';
import { formatBps, formatCount, formatDate, formatMoney, formatMoneyList } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import type { Balance, Commission, CommissionRule as Rule, Conversion, Payout, Stats } from '../types.js';
import { type Affiliate, affiliateActions, statusCell } from './affiliates.js';

const METHODS: Record<string, string> = {
  paypal: 'PayPal',
  bank_transfer: 'Bank transfer',
  stripe_connect: 'Stripe Connect',
};
const SHOWN = 20;

/** A titled card with a table, or an empty state when there are no rows. */
function section(
  title: string,
  empty: string,
  columns: Parameters<typeof table>[1],
  rows: Parameters<typeof table>[2],
) {
  const id = `s-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title),
    rows.length ? table(title, columns, rows) : emptyState(`No ${title.toLowerCase()}`, empty),
  );
}

export const affiliateDetailView: ConsoleView = async (ctx, root, params) => {
  const id = params.id!;
  const slot = h('div', { 'aria-live': 'polite' });

  const draw = async () => {
    let a: Affiliate;
    try {
      a = (await ctx.api.get<{ affiliate: Affiliate }>(`/affiliates/${encodeURIComponent(id)}`)).affiliate;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      root.replaceChildren(
        h('h1', { tabindex: '-1' }, 'Affiliate not found'),
        h('p', null, h('a', { href: '/app/affiliates', 'data-link': '' }, 'Back to affiliates')),
      );
      return;
    }
    const q = { affiliateId: a.id };
    const [stats, balances, conversions, commissions, payouts, rules] = await Promise.all([
      ctx.api.get<Stats>('/stats', q),
      ctx.api.get<{ data: Balance[] }>('/balances', q),
      ctx.api.get<{ data: Conversion[] }>('/conversions', { ...q, limit: SHOWN }),
      ctx.api.get<{ data: Commission[] }>('/commissions', { ...q, limit: SHOWN }),
      ctx.api.get<{ data: Payout[] }>('/payouts', { ...q, limit: SHOWN }),
      ctx.api.get<{ data: Rule[] }>('/commission-rules'),
    ]);
    const overrides = rules.data.filter((r) => r.affiliateId === a.id);
    document.title = `${a.name} · ${ctx.program?.name ?? 'partnerkit'} console`;

    const facts: [string, Node | string][] = [
      ['E-mail', a.email],
      ['Code', h('span', { class: 'mono' }, a.code)],
      ['Status', statusCell(a)],
      ['Referral link', h('span', { class: 'mono' }, a.referralLink)],
      ['Payout method', a.payoutMethod ? METHODS[a.payoutMethod]! : 'Not set yet (the affiliate chooses it)'],
      ['Password', a.hasPassword ? 'Set' : 'Not set yet'],
      ['Joined', formatDate(a.createdAt)],
      ...(a.application
        ? ([
            ['Website', a.application.website ?? '—'],
            ['How they promote', a.application.promotionMethod ?? '—'],
          ] as [string, string][])
        : []),
    ];

    const invite =
      ctx.canWrite() && a.status === 'approved'
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn btn-secondary btn-small',
              onclick: async () => {
                try {
                  const res = await ctx.api.post<{ setPasswordUrl: string; emailSent: boolean }>(
                    `/affiliates/${a.id}/invite`,
                    {},
                  );
                  slot.replaceChildren(
                    notice(res.emailSent ? 'Invitation e-mailed.' : 'A new set-password link (not e-mailed: no SMTP).'),
                    copyField('One-time set-password link', res.setPasswordUrl),
                  );
                } catch (err) {
                  slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'That did not work.'));
                }
              },
            },
            a.hasPassword ? 'Send a new set-password link' : 'Invite (set-password link)',
          )
        : null;

    const overrideForm = ctx.canWrite()
      ? h(
          'form',
          {
            class: 'toolbar',
            novalidate: true,
            'aria-label': 'Commission rate override',
            onsubmit: async (e: Event) => {
              e.preventDefault();
              const form = e.currentTarget as HTMLFormElement;
              const percent = Number((form.elements.namedItem('rate') as HTMLInputElement).value.replace(',', '.'));
              if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
                showFormError(form, 'rate: a percentage from 0 to 100');
                return;
              }
              try {
                await ctx.api.post('/commission-rules', {
                  name: `Rate for ${a.name}`.slice(0, 200),
                  affiliateId: a.id,
                  type: 'percentage',
                  rateBps: Math.round(percent * 100),
                  // Tried before the program's general rules (ascending priority).
                  priority: 10,
                });
                await draw();
                slot.replaceChildren(notice(`${a.name} now earns ${percent} % on sales`));
              } catch (err) {
                showFormError(form, err instanceof ApiError ? err.message : 'That did not work.');
              }
            },
          },
          field({ label: 'Rate override (%)', name: 'rate', inputmode: 'decimal', required: true }),
          h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Add override'),
          h('div', { class: 'form-status', 'aria-live': 'polite' }),
        )
      : null;

    root.replaceChildren(
      h('p', null, h('a', { href: '/app/affiliates', 'data-link': '' }, '← All affiliates')),
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, a.name), affiliateActions(ctx, a, slot, draw)),
      slot,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'about-h' },
        h('h2', { id: 'about-h' }, 'About'),
        h(
          'dl',
          { class: 'facts' },
          facts.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
        ),
        invite,
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'numbers-h' },
        h('h2', { id: 'numbers-h' }, 'Numbers'),
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Clicks'),
          h('dd', null, formatCount(stats.clicks)),
          h('dt', null, 'Leads'),
          h('dd', null, formatCount(stats.leads)),
          h('dt', null, 'Customers'),
          h('dd', null, formatCount(stats.customers)),
          h('dt', null, 'Sales'),
          h('dd', null, formatCount(stats.sales.reduce((n, s) => n + s.sales, 0))),
          h('dt', null, 'Revenue'),
          h(
            'dd',
            null,
            formatMoneyList(
              stats.sales.map((s) => ({ amount: s.revenue, currency: s.currency })),
              '—',
            ),
          ),
        ),
      ),
      section(
        'Balances',
        'Commissions appear here once a referred sale earns one.',
        [
          { label: 'Currency' },
          { label: 'Pending', numeric: true },
          { label: 'Approved', numeric: true },
          { label: 'In payouts', numeric: true },
          { label: 'Paid', numeric: true },
          { label: 'Balance', numeric: true },
        ],
        balances.data.map((b) => [
          b.currency.toUpperCase(),
          formatMoney(b.pending + b.onHold, b.currency),
          formatMoney(b.approved, b.currency),
          formatMoney(b.inPayouts, b.currency),
          formatMoney(b.paid, b.currency),
          formatMoney(b.balance, b.currency),
        ]),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'rate-h' },
        h('h2', { id: 'rate-h' }, 'Commission rate'),
        overrides.length
          ? h(
              'ul',
              null,
              overrides.map((r) =>
                h('li', null, `${r.name}: ${r.type === 'percentage' ? formatBps(r.rateBps ?? 0) : 'flat amount'}`),
              ),
            )
          : h('p', null, 'The program’s rules apply (no override for this affiliate).'),
        overrideForm,
      ),
      section(
        'Sales',
        'Referred sales appear here.',
        [
          { label: 'Date' },
          { label: 'Kind' },
          { label: 'Amount', numeric: true },
          { label: 'Refunded', numeric: true },
        ],
        conversions.data.map((c) => [
          formatDate(c.occurredAt),
          c.kind,
          formatMoney(c.amount, c.currency),
          formatMoney(c.refundedAmount, c.currency),
        ]),
      ),
      section(
        'Commissions',
        'What this affiliate earns appears here.',
        [{ label: 'Date' }, { label: 'Kind' }, { label: 'Status' }, { label: 'Amount', numeric: true }],
        commissions.data.map((c) => [
          formatDate(c.createdAt),
          c.kind,
          badge(c.status),
          formatMoney(c.amount, c.currency),
        ]),
      ),
      section(
        'Payouts',
        'Payouts to this affiliate appear here.',
        [{ label: 'Date' }, { label: 'Method' }, { label: 'Status' }, { label: 'Amount', numeric: true }],
        payouts.data.map((p) => [
          formatDate(p.createdAt),
          METHODS[p.method] ?? p.method,
          badge(p.status),
          formatMoney(p.amount, p.currency),
        ]),
      ),
    );
  };

  await draw();
};
