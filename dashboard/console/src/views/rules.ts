/**
 * `/app/rules`: the program's commission rules in evaluation order (`GET /api/v1/commission-rules`: ascending
 * priority, first match wins), searched by name, filtered by event, deleted ones shown on demand; create, edit
 * (every field the rule schema takes: priority, event, affiliate, Stripe product / price, percentage in % or flat
 * amounts per currency, min / max caps, recurring policy and months, rate after them) and delete (archive: past
 * commissions keep their rule). A preview form asks `POST /api/v1/commission-rules/preview` what a sale or lead
 * would earn, by which rule. The server's validation messages are shown on the field they name. A viewer sees
 * the rules read-only (the server answers 403 `read_only` to every change) and may run previews (they write nothing).
 */
import { ApiError } from '../../../src/api.js';
import {
  badge,
  busy,
  emptyState,
  field,
  formValues,
  h,
  loading,
  notice,
  showFormError,
  table,
  uid,
} from '../../../src/dom.js';
import { exponent, formatBps, formatMoney, toDecimal } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import type { CommissionPreview, CommissionRule } from '../types.js';
import { act, type AffiliateName, selectField } from './shared.js';

type Rule = CommissionRule;

/** The labels people see for the API's field names (server messages start with the field: `rateBps: …`). */
const LABELS: Record<string, string> = {
  name: 'Name',
  priority: 'Priority',
  event: 'Applies to',
  affiliateId: 'Affiliate',
  stripeProductId: 'Stripe product',
  stripePriceId: 'Stripe price',
  type: 'Pays',
  rateBps: 'Rate (%)',
  flatAmounts: 'Flat amount',
  minAmounts: 'Minimum',
  maxAmounts: 'Maximum',
  recurring: 'Recurring payments',
  recurringMonths: 'Months paid',
  rateAfterBps: 'Rate after those months (%)',
  amount: 'Sale amount',
  currency: 'Currency',
  productId: 'Stripe product',
  priceId: 'Stripe price',
  recurringMonth: 'Payment month',
  kind: 'Conversion',
};

/** A form error naming its field by the label people see (the field itself is marked and focused). */
function formError(form: HTMLFormElement, err: unknown, fallback: string) {
  const message = err instanceof ApiError ? err.message : fallback;
  showFormError(form, message);
  const m = /^([A-Za-z]+): (.*)$/.exec(message);
  if (m && LABELS[m[1]!]) form.querySelector('.form-status [role="alert"]')!.textContent = `${LABELS[m[1]!]}: ${m[2]}`;
}

class InputError extends ApiError {
  constructor(fieldName: string, message: string) {
    super(400, 'invalid_request', `${fieldName}: ${message}`);
  }
}

/** "25.00" in `currency` → minor units, exactly (no float); null when it is not a plain non-negative decimal. */
function toMinor(text: string, currency: string): number | null {
  const m = /^(\d{1,12})(?:[.,](\d+))?$/.exec(text.trim());
  const exp = exponent(currency);
  if (!m || (m[2] ?? '').length > exp) return null;
  return Number(m[1]) * 10 ** exp + Number((m[2] ?? '').padEnd(exp, '0') || 0);
}

/** "12.5" (%) → 1250 basis points; null when empty. @throws InputError */
function toBps(fieldName: string, text: string | undefined): number | null {
  if (!text) return null;
  const m = /^(\d{1,3})(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!m) throw new InputError(fieldName, 'write a percentage such as 12.5');
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** `{ usd: 2500, eur: 2300 }` ↔ "USD 25.00, EUR 23.00". */
function amountsText(map: Record<string, number> | null): string {
  return Object.entries(map ?? {})
    .map(([c, a]) => `${c.toUpperCase()} ${toDecimal(a, c)}`)
    .join(', ');
}
/** @throws InputError naming the field */
function parseAmounts(fieldName: string, text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (text ?? '').split(/\s*[;,]\s*(?=[A-Za-z])/).filter((p) => p.trim())) {
    const m = /^([A-Za-z]{3})\s*(\S+)$/.exec(part.trim());
    const minor = m ? toMinor(m[2]!, m[1]!.toLowerCase()) : null;
    if (!m || minor === null) throw new InputError(fieldName, 'write amounts as USD 25.00, EUR 23.00');
    out[m[1]!.toLowerCase()] = minor;
  }
  return out;
}

function moneyList(map: Record<string, number> | null): string {
  const list = Object.entries(map ?? {}).map(([c, a]) => formatMoney(a, c));
  return list.length ? list.join(' · ') : '—';
}

function pays(r: Rule): string {
  const base = r.type === 'percentage' ? formatBps(r.rateBps ?? 0) : `${moneyList(r.flatAmounts)} flat`;
  const caps = [
    Object.keys(r.minAmounts).length ? `min ${moneyList(r.minAmounts)}` : '',
    Object.keys(r.maxAmounts).length ? `max ${moneyList(r.maxAmounts)}` : '',
  ].filter(Boolean);
  return caps.length ? `${base} (${caps.join(', ')})` : base;
}

function recurringText(r: Rule): string {
  if (r.event === 'lead') return '—';
  if (r.recurring === 'first_payment') return 'First payment only';
  if (r.recurring === 'lifetime') return 'Every payment';
  const after = r.rateAfterBps === null ? 'then nothing' : `then ${formatBps(r.rateAfterBps)}`;
  return `Months 1–${r.recurringMonths}, ${after}`;
}

/** A labelled select for a form (its value is sent under `name`). */
function formSelect(label: string, name: string, options: [string, string][], value: string, hint?: string) {
  const id = uid('sel');
  const hintId = hint ? `${id}-hint` : undefined;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, name, 'aria-describedby': hintId },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
    ),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
  );
}

export const rulesView: ConsoleView = async (ctx, root, params) => {
  const state = { search: params.search ?? '', event: params.event ?? '', archived: params.archived === 'true' };
  const slot = h('div', { 'aria-live': 'polite' });
  const editorSlot = h('div');
  const listArea = h('div', null, loading());
  const previewSlot = h('div');
  const writable = ctx.canWrite();
  const [{ program }, { data: affiliates }] = await Promise.all([
    ctx.api.get<{ program: { currency: string } }>('/program'),
    ctx.api.get<{ data: AffiliateName[] }>('/affiliates', { limit: 500 }),
  ]);
  const currency = program.currency;
  const names = new Map(affiliates.map((a) => [a.id, a.name || a.email]));
  const affiliateOptions = (current: string | null): [string, string][] => [
    ['', 'Every affiliate'],
    ...(current && !names.has(current) ? [[current, current] as [string, string]] : []),
    ...affiliates.map((a) => [a.id, `${a.name || a.email} (${a.email})`] as [string, string]),
  ];

  const go = () => {
    const q = new URLSearchParams();
    if (state.search) q.set('search', state.search);
    if (state.event) q.set('event', state.event);
    if (state.archived) q.set('archived', 'true');
    ctx.navigate(`/app/rules${q.size ? `?${q}` : ''}`);
  };
  const search = h('input', { id: uid('q'), type: 'search', name: 'search', value: state.search });
  const newButton = h(
    'button',
    { type: 'button', class: 'btn btn-primary', disabled: !writable, onclick: () => openEditor(null) },
    'New rule',
  );
  const toolbar = h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        state.search = search.value.trim();
        go();
      },
    },
    h('div', { class: 'field' }, h('label', { for: search.id }, 'Search rule names'), search),
    selectField(
      'Applies to',
      [
        ['', 'Sales and leads'],
        ['sale', 'Sales'],
        ['lead', 'Leads'],
      ],
      state.event,
      (v) => {
        state.event = v;
        go();
      },
    ),
    selectField(
      'Show',
      [
        ['', 'Active rules'],
        ['true', 'Active and deleted rules'],
      ],
      state.archived ? 'true' : '',
      (v) => {
        state.archived = v === 'true';
        go();
      },
    ),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search'),
  );

  const draw = async () => {
    const { data } = await ctx.api.get<{ data: Rule[] }>('/commission-rules', {
      event: state.event || undefined,
      includeArchived: state.archived ? 'true' : undefined,
    });
    const needle = state.search.toLowerCase();
    const rules = needle ? data.filter((r) => r.name.toLowerCase().includes(needle)) : data;
    if (rules.length === 0) {
      listArea.replaceChildren(
        emptyState(
          'No rules',
          data.length
            ? 'No rule matches this search.'
            : `Every sale earns the program's default rate. Add a rule to pay some affiliates, products or leads differently.`,
        ),
      );
      return;
    }
    const actions = (r: Rule) =>
      r.archivedAt
        ? badge('deleted')
        : h(
            'div',
            { class: 'row' },
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-secondary btn-small',
                'aria-label': `Edit ${r.name}`,
                disabled: !writable,
                onclick: () => openEditor(r),
              },
              'Edit',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-danger btn-small',
                'aria-label': `Delete ${r.name}`,
                disabled: !writable,
                onclick: () => confirmDelete(r),
              },
              'Delete',
            ),
          );
    const appliesTo = (r: Rule) =>
      [
        r.event === 'lead' ? 'Leads' : 'Sales',
        r.affiliateId ? `by ${names.get(r.affiliateId) ?? r.affiliateId}` : '',
        r.stripeProductId ? `of ${r.stripeProductId}` : '',
        r.stripePriceId ? `at ${r.stripePriceId}` : '',
      ]
        .filter(Boolean)
        .join(' ');
    listArea.replaceChildren(
      table(
        'Commission rules, first match wins',
        [
          { label: 'Priority', numeric: true },
          { label: 'Name' },
          { label: 'Applies to' },
          { label: 'Pays' },
          { label: 'Recurring' },
          { label: 'Actions' },
        ],
        rules.map((r) => [r.priority, r.name, appliesTo(r), pays(r), recurringText(r), actions(r)]),
      ),
      h(
        'p',
        { class: 'muted small' },
        `Rules are tried from the lowest priority number; the first that matches pays. No match: the program default.`,
      ),
    );
  };

  const confirmDelete = (r: Rule) => {
    const yes: HTMLButtonElement = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-danger',
        onclick: () =>
          act(yes, slot, `Rule "${r.name}" deleted`, () => ctx.api.delete(`/commission-rules/${r.id}`), draw),
      },
      `Delete "${r.name}"`,
    );
    slot.replaceChildren(
      h(
        'div',
        { class: 'card stack', role: 'group', 'aria-label': `Delete ${r.name}` },
        h('p', null, `Delete the rule "${r.name}"? New sales stop using it; past commissions keep it as their rule.`),
        h(
          'div',
          { class: 'row' },
          yes,
          h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => slot.replaceChildren() }, 'Cancel'),
        ),
      ),
    );
    yes.focus();
  };

  const openEditor = (r: Rule | null) => {
    const title = r ? `Edit rule "${r.name}"` : 'New rule';
    const form = h(
      'form',
      { class: 'card stack', novalidate: true, 'aria-label': title },
      h('h2', { tabindex: '-1' }, title),
      h(
        'div',
        { class: 'grid-3' },
        field({ label: 'Name', name: 'name', value: r?.name ?? '', required: true }),
        field({
          label: 'Priority',
          name: 'priority',
          value: String(r?.priority ?? 100),
          inputmode: 'numeric',
          required: true,
          hint: 'Lower numbers are tried first.',
        }),
        formSelect(
          'Applies to',
          'event',
          [
            ['sale', 'Sales (first and recurring payments)'],
            ['lead', 'Leads (a signup: lead bounty)'],
          ],
          r?.event ?? 'sale',
        ),
      ),
      h(
        'div',
        { class: 'grid-3' },
        formSelect('Affiliate', 'affiliateId', affiliateOptions(r?.affiliateId ?? null), r?.affiliateId ?? ''),
        field({
          label: 'Stripe product',
          name: 'stripeProductId',
          value: r?.stripeProductId ?? '',
          placeholder: 'prod_…',
          hint: 'Only sales of this product.',
        }),
        field({
          label: 'Stripe price',
          name: 'stripePriceId',
          value: r?.stripePriceId ?? '',
          placeholder: 'price_…',
          hint: 'Only sales at this price.',
        }),
      ),
      h(
        'div',
        { class: 'grid-3' },
        formSelect(
          'Pays',
          'type',
          [
            ['percentage', 'A percentage of the sale'],
            ['flat', 'A flat amount'],
          ],
          r?.type ?? 'percentage',
        ),
        field({
          label: 'Rate (%)',
          name: 'rateBps',
          value: r?.rateBps == null ? '' : String(r.rateBps / 100),
          inputmode: 'decimal',
          hint: 'For a percentage rule, e.g. 20 or 12.5.',
        }),
        field({
          label: 'Flat amount',
          name: 'flatAmounts',
          value: amountsText(r?.flatAmounts ?? null),
          placeholder: `${currency.toUpperCase()} 25.00`,
          hint: 'For a flat rule or a lead bounty, per currency: USD 25.00, EUR 23.00.',
        }),
      ),
      h(
        'div',
        { class: 'grid-2' },
        field({
          label: 'Minimum',
          name: 'minAmounts',
          value: amountsText(r?.minAmounts ?? null),
          placeholder: `${currency.toUpperCase()} 5.00`,
          hint: 'At least this much per sale, per currency.',
        }),
        field({
          label: 'Maximum',
          name: 'maxAmounts',
          value: amountsText(r?.maxAmounts ?? null),
          placeholder: `${currency.toUpperCase()} 100.00`,
          hint: 'At most this much per sale, per currency.',
        }),
      ),
      h(
        'div',
        { class: 'grid-3' },
        formSelect(
          'Recurring payments',
          'recurring',
          [
            ['lifetime', 'Pay every payment'],
            ['first_payment', 'Pay the first payment only'],
            ['months', 'Pay the first months only'],
          ],
          r?.recurring ?? 'lifetime',
        ),
        field({
          label: 'Months paid',
          name: 'recurringMonths',
          value: r?.recurringMonths == null ? '' : String(r.recurringMonths),
          inputmode: 'numeric',
          hint: 'With "first months only": months 1 to N of the customer.',
        }),
        field({
          label: 'Rate after those months (%)',
          name: 'rateAfterBps',
          value: r?.rateAfterBps == null ? '' : String(r.rateAfterBps / 100),
          inputmode: 'decimal',
          hint: 'Empty: nothing after them.',
        }),
      ),
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, r ? 'Save rule' : 'Create rule'),
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => form.remove() }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const v = formValues(form);
        const body = {
          name: v.name ?? '',
          priority: /^\d+$/.test(v.priority ?? '') ? Number(v.priority) : v.priority,
          event: v.event,
          affiliateId: v.affiliateId ?? null,
          stripeProductId: v.stripeProductId ?? null,
          stripePriceId: v.stripePriceId ?? null,
          type: v.type,
          rateBps: toBps('rateBps', v.rateBps),
          flatAmounts: v.flatAmounts ? parseAmounts('flatAmounts', v.flatAmounts) : null,
          minAmounts: parseAmounts('minAmounts', v.minAmounts),
          maxAmounts: parseAmounts('maxAmounts', v.maxAmounts),
          recurring: v.recurring,
          recurringMonths: v.recurringMonths
            ? /^\d+$/.test(v.recurringMonths)
              ? Number(v.recurringMonths)
              : v.recurringMonths
            : null,
          rateAfterBps: toBps('rateAfterBps', v.rateAfterBps),
        };
        const saved = await busy(form, 'Saving…', () =>
          r
            ? ctx.api.patch<{ rule: Rule }>(`/commission-rules/${r.id}`, body)
            : ctx.api.post<{ rule: Rule }>('/commission-rules', body),
        );
        form.remove();
        await draw();
        slot.replaceChildren(notice(`Rule "${saved.rule.name}" ${r ? 'saved' : 'created'}`));
      } catch (err) {
        formError(form, err, 'Could not save the rule');
      }
    });
    editorSlot.replaceChildren(form);
    (form.querySelector('h2') as HTMLElement).focus();
  };

  // The preview: a hypothetical sale or lead, answered by the server's own rules engine.
  const previewForm = h(
    'form',
    { class: 'card stack', novalidate: true, 'aria-labelledby': 'preview-h' },
    h('h2', { id: 'preview-h' }, 'Preview a sale'),
    h(
      'p',
      { class: 'muted' },
      'What a sale or lead would earn, and by which rule: the same calculation real Stripe sales get.',
    ),
    h(
      'fieldset',
      { class: 'stack' },
      h('legend', { class: 'visually-hidden' }, 'The sale to preview'),
      h(
        'div',
        { class: 'grid-3' },
        formSelect(
          'Conversion',
          'kind',
          [
            ['sale', 'A sale'],
            ['lead', 'A lead'],
          ],
          'sale',
        ),
        field({
          label: 'Sale amount',
          name: 'amount',
          inputmode: 'decimal',
          required: true,
          hint: 'Excluding tax, e.g. 100.00 (not used for a lead).',
        }),
        field({ label: 'Currency', name: 'currency', value: currency.toUpperCase(), required: true }),
      ),
      h(
        'div',
        { class: 'grid-2' },
        field({ label: 'Stripe product', name: 'productId', placeholder: 'prod_…' }),
        field({ label: 'Stripe price', name: 'priceId', placeholder: 'price_…' }),
      ),
      h(
        'div',
        { class: 'grid-2' },
        formSelect('Affiliate', 'affiliateId', affiliateOptions(null), ''),
        field({
          label: 'Payment month',
          name: 'recurringMonth',
          value: '1',
          inputmode: 'numeric',
          hint: "The customer's month: 1 = their first payment.",
        }),
      ),
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Preview'),
    ),
    previewSlot,
  );
  previewForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(previewForm);
    const cur = (v.currency ?? '').toLowerCase();
    try {
      let amount: number | undefined;
      if (!/^[a-z]{3}$/.test(cur)) throw new InputError('currency', 'must be a 3-letter ISO 4217 code');
      if (v.kind === 'sale') {
        const minor = v.amount ? toMinor(v.amount, cur) : null;
        if (v.amount && minor === null) throw new InputError('amount', 'write an amount such as 100.00');
        amount = minor ?? undefined;
      }
      const body = {
        kind: v.kind,
        amount,
        currency: v.currency ?? '',
        productId: v.productId,
        priceId: v.priceId,
        affiliateId: v.affiliateId,
        recurringMonth: /^\d+$/.test(v.recurringMonth ?? '') ? Number(v.recurringMonth) : v.recurringMonth,
      };
      const p = await busy(previewForm, 'Asking…', () =>
        ctx.api.post<CommissionPreview>('/commission-rules/preview', body),
      );
      previewForm.querySelector('.form-status')!.replaceChildren();
      const what =
        v.kind === 'lead'
          ? 'A lead'
          : `A sale of ${formatMoney(amount ?? 0, cur)}${v.productId ? ` of product ${v.productId}` : ''}${v.priceId ? ` at price ${v.priceId}` : ''}`;
      const who = v.affiliateId ? ` by ${names.get(v.affiliateId) ?? v.affiliateId}` : '';
      const by = p.ruleName ? `by rule "${p.ruleName}"` : p.commission.amount ? 'by the program default' : '';
      previewSlot.replaceChildren(
        h(
          'div',
          { class: 'alert alert-ok', role: 'status', 'data-preview': '' },
          h(
            'p',
            null,
            `${what}${who} earns `,
            h('strong', null, formatMoney(p.commission.amount, p.commission.currency)),
            by ? ` ${by}.` : '.',
          ),
          h('p', { class: 'small' }, p.explanation),
        ),
      );
    } catch (err) {
      previewSlot.replaceChildren();
      formError(previewForm, err, 'Could not preview this sale');
    }
  });

  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Commission rules'), newButton),
    writable ? '' : h('p', { class: 'muted' }, 'You are a viewer: rules are shown read-only.'),
    toolbar,
    h('div', { class: 'stack' }, slot, editorSlot, listArea, previewForm),
  );
  await draw();
};
