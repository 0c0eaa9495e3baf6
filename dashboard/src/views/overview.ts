/** Overview: referral link, funnel numbers, earnings by status, the next payout, and the daily chart. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { copyField, emptyState, errorBox, h, loading, table } from '../dom.js';
import { formatCount, formatDate, formatDay, formatMoney, formatMoneyList, formatRate, timeZone } from '../format.js';
import type { Earnings, Me, Overview, Stats } from '../types.js';

function tile(label: string, value: string, sub?: string): HTMLElement {
  return h(
    'div',
    { class: 'tile' },
    h('p', { class: 'tile-label' }, label),
    h('p', { class: 'tile-value' }, value),
    sub ? h('p', { class: 'tile-sub' }, sub) : null,
  );
}

/** The numbers, drawn from an `/overview` answer (no network). */
export function renderOverview(me: Me, o: Overview): HTMLElement {
  const currency = me.program.currency;
  const pick = (f: (e: Earnings) => number) => o.earnings.map((e) => ({ amount: f(e), currency: e.currency }));
  const onHold = pick((e) => e.onHold);
  const inPayouts = pick((e) => e.inPayouts);
  const pendingSub = onHold.some((m) => m.amount !== 0)
    ? `incl. ${formatMoneyList(onHold, currency)} on hold for review`
    : `in the ${me.program.holdDays}-day hold period`;
  const approvedSub = inPayouts.some((m) => m.amount !== 0)
    ? `+ ${formatMoneyList(inPayouts, currency)} in a payout on its way`
    : 'ready for the next payout';
  return h(
    'div',
    { class: 'stack' },
    h(
      'section',
      { class: 'tiles', 'aria-label': 'Your numbers' },
      tile('Clicks', formatCount(o.clicks)),
      tile('Leads', formatCount(o.leads), 'signed up or bought'),
      tile(
        'Customers',
        formatCount(o.customers),
        `${formatCount(o.conversions)} ${o.conversions === 1 ? 'sale' : 'sales'}`,
      ),
      tile('Conversion rate', formatRate(o.conversionRate), 'customers ÷ clicks'),
      tile('Revenue referred', formatMoneyList(o.revenue, currency)),
      tile(
        'Pending',
        formatMoneyList(
          pick((e) => e.pending + e.onHold),
          currency,
        ),
        pendingSub,
      ),
      tile(
        'Approved',
        formatMoneyList(
          pick((e) => e.approved + e.clawbacks),
          currency,
        ),
        approvedSub,
      ),
      tile(
        'Paid',
        formatMoneyList(
          pick((e) => e.paid),
          currency,
        ),
      ),
    ),
    renderNextPayout(me, o),
  );
}

function renderNextPayout(me: Me, o: Overview): HTMLElement {
  const main = o.nextPayout.find((b) => b.currency === me.program.currency) ?? {
    currency: me.program.currency,
    amount: 0,
    maturing: 0,
    minimum: me.program.minPayoutAmount,
    reachesMinimum: false,
  };
  const others = o.nextPayout.filter((b) => b.currency !== me.program.currency && b.amount !== 0);
  const min = main.minimum;
  const progress = min > 0 ? Math.max(0, Math.min(1, main.amount / min)) : 1;
  const when = o.nextPayoutDate ? formatDate(o.nextPayoutDate) : null;
  let text: string;
  if (main.reachesMinimum) {
    text = me.affiliate.payoutMethod
      ? `Approved and above the ${formatMoney(min, main.currency)} minimum: paid out${when ? ` on ${when}` : ' in the next payout run'}, or request it now.`
      : 'Above the minimum: add a payout method to get paid.';
  } else {
    text = `Payouts start at ${formatMoney(min, main.currency)}; ${formatMoney(Math.max(0, min - main.amount), main.currency)} to go.`;
  }
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'next-payout-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'next-payout-title' }, 'Next payout'),
      when ? h('span', { class: 'muted small' }, `Next payout run: ${when}`) : null,
    ),
    h('p', { class: 'big-number' }, formatMoney(main.amount, main.currency)),
    h(
      'p',
      { class: 'muted' },
      text,
      main.maturing > 0 ? ` ${formatMoney(main.maturing, main.currency)} more becomes payable within 30 days.` : '',
    ),
    min > 0
      ? h('progress', {
          max: '100',
          value: String(Math.round(progress * 100)),
          'aria-label': `${Math.round(progress * 100)}% of the payout minimum`,
        })
      : null,
    others.length
      ? h('p', { class: 'muted' }, 'Also approved: ', others.map((b) => formatMoney(b.amount, b.currency)).join(' · '))
      : null,
    h(
      'p',
      { class: 'small' },
      h(
        'a',
        { href: '/partner/payouts', 'data-link': '' },
        me.affiliate.payoutMethod ? 'Payouts and payout method →' : 'Add a payout method →',
      ),
    ),
  );
}

/** The chart's data as a table (for screen readers, and for anyone who prefers numbers). */
export function renderStatsTable(stats: Stats, currency: string): HTMLElement {
  const earnings = stats.earnings.find((e) => e.currency === currency)?.amounts ?? [];
  const rows = stats.dates
    .map((d, i) => [
      formatDay(d),
      formatCount(stats.clicks[i] ?? 0),
      formatCount(stats.sales[i] ?? 0),
      formatMoney(earnings[i] ?? 0, currency),
    ])
    .reverse();
  return table(
    `Clicks and earnings per day (${stats.timeZone})`,
    [
      { label: 'Day' },
      { label: 'Clicks', numeric: true },
      { label: 'Sales', numeric: true },
      { label: 'Earnings', numeric: true },
    ],
    rows,
  );
}

export async function overviewView(ctx: AppContext, root: HTMLElement): Promise<void> {
  const me = ctx.me!;
  const numbers = h('div', { class: 'stack' }, loading('Loading your numbers…'));
  const chartArea = h(
    'div',
    { class: 'chart', role: 'img', 'aria-label': 'Chart of clicks and earnings per day' },
    loading('Loading the chart…'),
  );
  const tableArea = h('div');
  const periodButtons = [7, 30, 90].map((d) =>
    h(
      'button',
      { type: 'button', class: 'seg', 'aria-pressed': d === 30 ? 'true' : 'false', onclick: () => loadStats(d) },
      `${d} days`,
    ),
  );
  const currencySelect = h('select', { 'aria-label': 'Currency of the earnings line', hidden: true });
  let destroyChart: (() => void) | null = null;
  let lastStats: Stats | null = null;

  root.replaceChildren(
    h(
      'div',
      { class: 'stack' },
      h(
        'div',
        { class: 'page-head' },
        h('h1', { tabindex: '-1' }, `Welcome, ${me.affiliate.name}`),
        h('p', { class: 'muted' }, `Your ${me.program.name} partner dashboard`),
      ),
      h(
        'section',
        { class: 'card' },
        copyField('Your referral link', me.referralLink),
        h(
          'p',
          { class: 'muted small' },
          `Share it anywhere. Visitors are credited to you for ${me.program.cookieDays} days.`,
        ),
      ),
      numbers,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'chart-title' },
        h(
          'div',
          { class: 'card-head' },
          h('h2', { id: 'chart-title' }, 'Clicks and earnings'),
          h('div', { class: 'segmented', role: 'group', 'aria-label': 'Period' }, periodButtons, currencySelect),
        ),
        chartArea,
        h('details', null, h('summary', null, 'Show as a table'), tableArea),
      ),
    ),
  );

  async function loadNumbers() {
    try {
      const o = await ctx.api.get<Overview>('/overview');
      numbers.replaceChildren(renderOverview(me, o));
      if (o.clicks === 0) {
        numbers.prepend(
          emptyState(
            'No clicks yet',
            'Share your referral link: clicks, sign-ups and sales show up here as they happen.',
          ),
        );
      }
    } catch (err) {
      numbers.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load your numbers.'));
    }
  }

  async function loadStats(days: number) {
    for (const b of periodButtons) b.setAttribute('aria-pressed', String(b.textContent === `${days} days`));
    chartArea.setAttribute('aria-busy', 'true');
    try {
      const stats = await ctx.api.get<Stats>('/stats', { days, tz: timeZone() });
      lastStats = stats;
      const currencies = [...new Set([me.program.currency, ...stats.earnings.map((e) => e.currency)])];
      currencySelect.replaceChildren(...currencies.map((c) => h('option', { value: c }, c.toUpperCase())));
      currencySelect.hidden = currencies.length < 2;
      await draw(stats, currencies.includes(currencySelect.value) ? currencySelect.value : me.program.currency);
    } catch (err) {
      chartArea.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load the chart.'));
    } finally {
      chartArea.removeAttribute('aria-busy');
    }
  }

  async function draw(stats: Stats, currency: string) {
    tableArea.replaceChildren(renderStatsTable(stats, currency));
    const total = stats.clicks.reduce((a, b) => a + b, 0);
    chartArea.setAttribute(
      'aria-label',
      `Chart: ${formatCount(total)} clicks in the last ${stats.days} days, ${formatDate(new Date().toISOString())}`,
    );
    destroyChart?.();
    try {
      const { drawChart } = await import('./chart.js');
      destroyChart = await drawChart(chartArea, stats, currency);
    } catch {
      chartArea.replaceChildren(errorBox('The chart could not be drawn; the table below has the same numbers.'));
    }
  }
  currencySelect.addEventListener('change', () => lastStats && draw(lastStats, currencySelect.value));

  await Promise.all([loadNumbers(), loadStats(30)]);
}
