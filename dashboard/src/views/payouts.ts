/**
 * Payouts: the balance and a payout request, "Get paid with Stripe" (Connect status and onboarding), where to be paid
 * (PayPal, bank, Stripe Connect), the yearly earnings summary, and the history with a statement per payout.
 */
import { API_BASE, ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import {
  badge,
  busy,
  emptyState,
  errorBox,
  field,
  h,
  loading,
  notice,
  pager,
  showFormError,
  table,
  uid,
} from '../dom.js';
import { formatDate, formatMoney } from '../format.js';
import type { Payout, Payouts, PayoutSettings, StripeConnectStatus, YearEarnings } from '../types.js';

const METHOD_LABELS: Record<string, string> = {
  paypal: 'PayPal',
  bank_transfer: 'Bank transfer',
  stripe_connect: 'Stripe Connect',
  store_credit: 'Store credit',
  check: 'Check',
};

export function renderPayoutHistory(page: Payouts): HTMLElement {
  if (page.total === 0)
    return emptyState('No payouts yet', 'Approved commissions are paid out once they reach the minimum.');
  return table(
    'Payout history',
    [
      { label: 'Date' },
      { label: 'Amount', numeric: true },
      { label: 'Method' },
      { label: 'Reference' },
      { label: 'Status' },
      { label: 'Completed', className: 'hide-sm' },
      { label: 'Statement' },
    ],
    page.data.map((p: Payout) => [
      formatDate(p.createdAt),
      formatMoney(p.amount, p.currency),
      METHOD_LABELS[p.method] ?? p.method,
      p.reference ? h('span', { class: 'mono' }, p.reference) : '—',
      h(
        'span',
        null,
        badge(p.status),
        p.failureReason ? h('span', { class: 'muted small' }, ` ${p.failureReason}`) : null,
      ),
      formatDate(p.completedAt),
      statementLinks(p.id),
    ]),
  );
}

/** Links to a payout's statement: the CSV file and the printable page (opens in a new tab). */
export function statementLinks(payoutId: string): HTMLElement {
  const base = `${API_BASE}/payouts/${encodeURIComponent(payoutId)}/statement`;
  return h(
    'span',
    { class: 'statement-links' },
    h('a', { href: `${base}.csv`, download: '', 'aria-label': `Statement ${payoutId} as CSV` }, 'CSV'),
    ' · ',
    h(
      'a',
      { href: `${base}.html`, target: '_blank', rel: 'noopener', 'aria-label': `Printable statement ${payoutId}` },
      'Print',
    ),
  );
}

/** The yearly summary: per currency, what was paid in the year and what is earned but not paid yet. */
export function renderYearEarnings(y: YearEarnings, onYear: (year: number) => void): HTMLElement {
  const thisYear = new Date().getUTCFullYear();
  const select = h(
    'select',
    { id: 'earnings-year', onchange: (e: Event) => onYear(Number((e.target as HTMLSelectElement).value)) },
    [0, 1, 2, 3, 4].map((i) =>
      h('option', { value: String(thisYear - i), selected: thisYear - i === y.year }, String(thisYear - i)),
    ),
  );
  return h(
    'section',
    { class: 'card stack tight', 'aria-labelledby': 'year-title' },
    h('h2', { id: 'year-title' }, 'Yearly earnings'),
    h('div', { class: 'row' }, h('label', { for: 'earnings-year' }, 'Year '), select),
    y.data.length === 0
      ? h('p', { class: 'muted' }, `Nothing earned or paid in ${y.year}.`)
      : table(
          `Earnings ${y.year}`,
          [
            { label: 'Currency' },
            { label: 'Paid', numeric: true },
            { label: 'Payouts', numeric: true },
            { label: 'Approved, not paid yet', numeric: true },
            { label: 'Pending', numeric: true },
          ],
          y.data.map((d) => [
            d.currency.toUpperCase(),
            formatMoney(d.paid, d.currency),
            String(d.payouts),
            formatMoney(d.approved, d.currency),
            formatMoney(d.pending, d.currency),
          ]),
        ),
    h(
      'p',
      { class: 'muted small' },
      'Paid counts payouts by the day they were completed (UTC). Your statements list each payout’s commissions.',
    ),
  );
}

const CONNECT_TEXT: Record<StripeConnectStatus['status'], string> = {
  none: 'Stripe pays you straight to your bank account. Set up takes a few minutes on Stripe’s site.',
  ready: 'Your Stripe account is ready: payouts go to it.',
  needs_information: 'Stripe needs more information before it can pay you.',
  restricted: 'Stripe has restricted your account. Check your Stripe dashboard or contact the program.',
};

/**
 * The "Get paid with Stripe" card: the account's status, and (unless ready or restricted) the onboarding form
 * (country + password) that sends the partner to Stripe; `onboard` answers the Account Link URL.
 */
export function renderStripeConnectCard(
  c: StripeConnectStatus,
  onboard: (body: { country: string; password: string }) => Promise<string>,
): HTMLElement {
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'form-status' }),
    c.accountId
      ? null
      : field({
          label: 'Country',
          name: 'country',
          required: true,
          maxlength: 2,
          placeholder: 'US',
          hint: 'Where you live, as a two-letter code (US, DE, FR…). Stripe cannot change it later.',
        }),
    field({
      label: 'Your password',
      name: 'password',
      type: 'password',
      required: true,
      autocomplete: 'current-password',
      hint: 'Needed to change where payouts go.',
    }),
    h(
      'div',
      null,
      h(
        'button',
        { type: 'submit', class: 'btn btn-primary' },
        c.status === 'none' ? 'Get paid with Stripe' : 'Continue on Stripe',
      ),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const country = (form.querySelector('input[name="country"]') as HTMLInputElement | null)?.value.trim() ?? '';
    const password = (form.querySelector('input[name="password"]') as HTMLInputElement).value;
    if (!c.accountId && !/^[A-Za-z]{2}$/.test(country))
      return showFormError(form, 'country: Enter a two-letter country code');
    if (!password) return showFormError(form, 'password: Enter your password to confirm');
    try {
      const url = await busy(form, 'Opening Stripe…', () => onboard({ country: country || c.country || '', password }));
      window.location.assign(url);
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not reach Stripe.');
    }
  });
  const label: Record<StripeConnectStatus['status'], string> = {
    none: 'Not set up',
    ready: 'Ready',
    needs_information: 'Stripe needs more information',
    restricted: 'Restricted',
  };
  return h(
    'section',
    { class: 'card stack tight', 'aria-labelledby': 'connect-title' },
    h('h2', { id: 'connect-title' }, 'Get paid with Stripe'),
    h('p', { class: 'connect-status' }, h('strong', null, label[c.status]), ' — ', CONNECT_TEXT[c.status]),
    c.requirementsDue.length && c.status === 'needs_information'
      ? h('p', { class: 'muted small' }, `Stripe asks for: ${c.requirementsDue.join(', ').replace(/_/g, ' ')}.`)
      : null,
    c.status === 'ready' || c.status === 'restricted' ? null : form,
  );
}

/** Why a payout cannot be requested yet, or null when it can. */
export function requestBlocker(p: Payouts): string | null {
  if (!p.balance.some((b) => b.reachesMinimum)) {
    const main = p.balance.find((b) => b.currency === p.minimum.currency);
    return `Payouts start at ${formatMoney(main?.minimum ?? p.minimum.amount, p.minimum.currency)}; you have ${formatMoney(main?.amount ?? 0, p.minimum.currency)} approved.`;
  }
  if (!p.payoutMethod) return 'Add a payout method below first.';
  if (p.openPayouts > 0) return 'A payout is already on its way.';
  return null;
}

export function renderBalance(p: Payouts, onRequest: () => Promise<void>): HTMLElement {
  const main = p.balance.find((b) => b.currency === p.minimum.currency);
  const others = p.balance.filter((b) => b.currency !== p.minimum.currency && b.amount !== 0);
  const blocker = p.canRequest ? null : requestBlocker(p);
  const status = h('div', { class: 'form-status' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-primary',
      disabled: Boolean(blocker),
      'aria-describedby': blocker ? 'request-blocker' : undefined,
    },
    'Request payout',
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await onRequest();
    } catch (err) {
      status.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'The request failed.'));
      button.disabled = false;
    }
  });
  return h(
    'section',
    { class: 'card stack tight', 'aria-labelledby': 'balance-title' },
    h('h2', { id: 'balance-title' }, 'Available for payout'),
    h('p', { class: 'big-number' }, formatMoney(main?.amount ?? 0, p.minimum.currency)),
    main && main.maturing > 0
      ? h(
          'p',
          { class: 'muted' },
          `${formatMoney(main.maturing, p.minimum.currency)} more becomes payable within 30 days.`,
        )
      : null,
    others.length
      ? h('p', { class: 'muted' }, 'Also approved: ', others.map((b) => formatMoney(b.amount, b.currency)).join(' · '))
      : null,
    h(
      'p',
      { class: 'muted small' },
      `Minimum payout: ${formatMoney(main?.minimum ?? p.minimum.amount, p.minimum.currency)}.`,
      p.nextPayoutDate ? ` Next payout run: ${formatDate(p.nextPayoutDate)}.` : '',
      p.payoutMethod ? ` Paid to ${p.payoutMethod.summary}.` : '',
    ),
    status,
    h(
      'div',
      { class: 'row' },
      button,
      blocker ? h('span', { id: 'request-blocker', class: 'muted small' }, blocker) : null,
    ),
  );
}

type Method = 'paypal' | 'bank_transfer' | 'stripe_connect';

/** The payout method form; `save` sends `{ method, details, password }`. */
export function renderPayoutSettingsForm(
  current: PayoutSettings,
  save: (body: { method: Method; details: Record<string, string>; password: string }) => Promise<PayoutSettings>,
): HTMLElement {
  const d = current.details ?? {};
  const groups: Record<Method, HTMLElement> = {
    paypal: h(
      'div',
      { class: 'stack' },
      field({
        label: 'PayPal email',
        name: 'email',
        type: 'email',
        value: d.email,
        required: true,
        autocomplete: 'email',
      }),
    ),
    bank_transfer: h(
      'div',
      { class: 'stack' },
      field({
        label: 'Account holder',
        name: 'accountHolder',
        value: d.accountHolder,
        required: true,
        autocomplete: 'name',
      }),
      h(
        'div',
        { class: 'grid-2' },
        field({
          label: 'IBAN',
          name: 'iban',
          value: d.iban,
          hint: 'Or fill in account and routing number below.',
          autocomplete: 'off',
        }),
        field({ label: 'BIC / SWIFT', name: 'bic', value: d.bic, autocomplete: 'off' }),
        field({ label: 'Account number', name: 'accountNumber', value: d.accountNumber, autocomplete: 'off' }),
        field({ label: 'Routing number', name: 'routingNumber', value: d.routingNumber, autocomplete: 'off' }),
        field({ label: 'Bank name', name: 'bankName', value: d.bankName }),
        field({
          label: 'Country',
          name: 'country',
          value: d.country,
          required: true,
          maxlength: 2,
          placeholder: 'DE',
          hint: 'Two-letter code, e.g. US, DE, FR.',
        }),
      ),
    ),
    stripe_connect: h(
      'div',
      { class: 'stack' },
      field({
        label: 'Stripe account ID',
        name: 'accountId',
        value: d.accountId,
        required: true,
        placeholder: 'acct_…',
        hint: 'Find it in your Stripe dashboard under Settings → Account details.',
      }),
    ),
  };
  let method: Method = current.method ?? 'paypal';
  const radioName = uid('method');
  const radios = (Object.keys(groups) as Method[]).map((m) =>
    h(
      'label',
      { class: 'radio' },
      h('input', { type: 'radio', name: radioName, value: m, checked: m === method, onchange: () => select(m) }),
      METHOD_LABELS[m],
    ),
  );
  const select = (m: Method) => {
    method = m;
    for (const [k, g] of Object.entries(groups)) g.hidden = k !== m;
  };
  select(method);
  const form = h(
    'form',
    { class: 'stack', novalidate: true, 'aria-labelledby': 'method-title' },
    h('h2', { id: 'method-title' }, 'Payout method'),
    h(
      'p',
      { class: 'muted method-summary' },
      current.summary ? `Currently: ${current.summary}.` : 'Tell us where to send your money.',
    ),
    h('div', { class: 'form-status' }),
    h('fieldset', { class: 'radios' }, h('legend', null, 'Get paid with'), radios),
    ...Object.values(groups),
    field({
      label: 'Your password',
      name: 'password',
      type: 'password',
      required: true,
      autocomplete: 'current-password',
      hint: 'Needed to change where payouts go.',
    }),
    h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save payout method')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const details: Record<string, string> = {};
    for (const input of Array.from(groups[method].querySelectorAll('input')) as HTMLInputElement[]) {
      if (input.value.trim() !== '') details[input.name] = input.value.trim();
    }
    const password = (form.querySelector('input[name="password"]') as HTMLInputElement).value;
    if (!password) return showFormError(form, 'password: Enter your password to confirm');
    try {
      const saved = await busy(form, 'Saving…', () => save({ method, details, password }));
      (form.querySelector('input[name="password"]') as HTMLInputElement).value = '';
      form.querySelector('.form-status')!.replaceChildren(notice(`Saved. Payouts go to ${saved.summary}.`));
      form.querySelector('.method-summary')!.textContent = `Currently: ${saved.summary}.`;
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message.replace(/^details\./, '') : 'Could not save.');
    }
  });
  return form;
}

export async function payoutsView(ctx: AppContext, root: HTMLElement): Promise<void> {
  const balance = h('div', null, loading('Loading your balance…'));
  const history = h('div', null, loading('Loading payouts…'));
  const settings = h('section', { class: 'card' }, loading('Loading your payout method…'));
  const connect = h('div', null);
  const year = h('div', null, loading('Loading your yearly earnings…'));
  root.replaceChildren(
    h(
      'div',
      { class: 'stack' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Payouts')),
      balance,
      connect,
      settings,
      year,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'history-title' },
        h('h2', { id: 'history-title' }, 'Payout history'),
        history,
      ),
    ),
  );
  const loadPayouts = async (offset: number) => {
    try {
      const page = await ctx.api.get<Payouts>('/payouts', { limit: 25, offset });
      balance.replaceChildren(
        renderBalance(page, async () => {
          await ctx.api.post('/payouts/request', { currency: page.minimum.currency });
          await loadPayouts(0);
          balance
            .querySelector('.form-status')
            ?.replaceChildren(notice('Payout requested. You will see it below as it is processed.'));
        }),
      );
      history.replaceChildren(renderPayoutHistory(page), pager(page.total, page.limit, page.offset, loadPayouts) ?? '');
    } catch (err) {
      const msg = err instanceof ApiError ? err.message : 'Could not load payouts.';
      balance.replaceChildren(errorBox(msg));
      history.replaceChildren();
    }
  };
  const loadSettings = async () => {
    try {
      const current = await ctx.api.get<PayoutSettings>('/payout-settings');
      settings.replaceChildren(
        renderPayoutSettingsForm(current, async (body) => {
          const saved = await ctx.api.put<PayoutSettings>('/payout-settings', body);
          void loadPayouts(0);
          void ctx.refreshMe().catch(() => {});
          return saved;
        }),
      );
    } catch (err) {
      settings.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load your payout method.'));
    }
  };
  const loadConnect = async () => {
    try {
      const c = await ctx.api.get<StripeConnectStatus>('/stripe-connect');
      // Offered only where the program pays through Stripe, or once the partner has an account.
      if (!c.available && c.status === 'none') return connect.replaceChildren();
      const card = renderStripeConnectCard(c, async (body) => {
        const link = await ctx.api.post<{ url: string }>('/stripe-connect/onboard', body);
        return link.url;
      });
      // Back from Stripe's onboarding (its return and refresh URLs lead here).
      const back = new URLSearchParams(window.location.search).get('stripe');
      const message =
        back === 'refresh'
          ? 'The Stripe link expired. Continue again to get a new one.'
          : back === 'return' && c.status !== 'ready'
            ? 'Welcome back. Stripe may take a moment to check your details.'
            : null;
      if (message) card.querySelector('h2')!.after(notice(message));
      connect.replaceChildren(card);
    } catch {
      connect.replaceChildren();
    }
  };
  const loadYear = async (y?: number) => {
    try {
      const data = await ctx.api.get<YearEarnings>('/earnings', { year: y });
      year.replaceChildren(renderYearEarnings(data, (next) => void loadYear(next)));
    } catch (err) {
      year.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load your yearly earnings.'));
    }
  };
  await Promise.all([loadPayouts(0), loadSettings(), loadConnect(), loadYear()]);
}
