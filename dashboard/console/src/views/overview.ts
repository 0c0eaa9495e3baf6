/** `/app/`: the program per day (chart + table, `GET /api/v1/stats/daily`), its top affiliates and top links. */
import { emptyState, h, loading, table } from '../../../src/dom.js';
import { formatCount, formatDay, formatMoney, formatMoneyList } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import type { DailyStats as Daily } from '../types.js';

export const overviewView: ConsoleView = async (ctx, root) => {
  const body = h('div', { class: 'stack' }, loading());
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Overview')), body);
  const [d, settings] = await Promise.all([
    ctx.api.get<Daily>('/stats/daily', { days: 30 }),
    ctx.api.get<{ program: { currency: string } }>('/program'),
  ]);
  const currency = d.revenue[0]?.currency ?? settings.program.currency;
  const revenue = d.revenue.find((r) => r.currency === currency)?.amounts ?? d.dates.map(() => 0);
  const commissions = d.commissions.find((r) => r.currency === currency)?.amounts ?? d.dates.map(() => 0);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const chart = h('div', {
    class: 'chart',
    role: 'img',
    'aria-label': `Clicks and revenue per day, last ${d.days} days`,
  });
  const rows = d.dates
    .map((day, i) => [
      formatDay(day),
      formatCount(d.clicks[i]!),
      formatCount(d.leads[i]!),
      formatCount(d.sales[i]!),
      formatMoney(revenue[i]!, currency),
      formatMoney(commissions[i]!, currency),
    ])
    .reverse();
  body.replaceChildren(
    h(
      'div',
      { class: 'tiles' },
      [
        ['Clicks', formatCount(sum(d.clicks))],
        ['Leads', formatCount(sum(d.leads))],
        ['Sales', formatCount(sum(d.sales))],
        ['Revenue', formatMoney(sum(revenue), currency)],
        ['Commissions', formatMoney(sum(commissions), currency)],
      ].map(([label, value]) =>
        h('div', { class: 'tile' }, h('p', { class: 'tile-label' }, label!), h('p', { class: 'tile-value' }, value!)),
      ),
    ),
    h('section', { class: 'card' }, h('h2', null, `Last ${d.days} days`), chart),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Top affiliates'),
      d.topAffiliates.length
        ? table(
            'Top affiliates',
            [
              { label: 'Affiliate' },
              { label: 'Code' },
              { label: 'Clicks', numeric: true },
              { label: 'Sales', numeric: true },
            ],
            d.topAffiliates.map((a) => [
              a.name,
              h('span', { class: 'mono' }, a.code),
              formatCount(a.clicks),
              formatCount(a.sales),
            ]),
          )
        : emptyState('No activity yet', 'Affiliates appear here after their first click.'),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Top links'),
      d.topLinks.length
        ? table(
            'Top links',
            [
              { label: 'Link' },
              { label: 'Affiliate' },
              { label: 'Clicks', numeric: true },
              { label: 'Sales', numeric: true },
              { label: 'Revenue', numeric: true },
            ],
            d.topLinks.map((l) => [
              h(
                'span',
                null,
                h('span', { class: 'mono' }, `/r/${l.slug}`),
                l.campaign ? h('span', { class: 'muted' }, ` · ${l.campaign}`) : null,
              ),
              l.affiliate.name,
              formatCount(l.clicks),
              formatCount(l.sales),
              formatMoneyList(l.revenue, currency),
            ]),
          )
        : emptyState('No link clicks yet', 'Tracking links appear here after their first click.'),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Per day'),
      table(
        'Per day',
        [
          { label: 'Day' },
          { label: 'Clicks', numeric: true },
          { label: 'Leads', numeric: true },
          { label: 'Sales', numeric: true },
          { label: 'Revenue', numeric: true },
          { label: 'Commissions', numeric: true },
        ],
        rows,
      ),
    ),
  );
  const { drawChart } = await import('../../../src/views/chart.js');
  await drawChart(
    chart,
    {
      days: d.days,
      timeZone: 'UTC',
      dates: d.dates,
      clicks: d.clicks,
      sales: d.sales,
      earnings: [{ currency, amounts: revenue }],
    },
    currency,
    'Revenue',
  );
};
