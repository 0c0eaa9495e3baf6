/**
 * `/app/settings`: the fields `PATCH /api/v1/program` takes (name, default rate, attribution window and model, hold
 * period, minimum payout, payout schedule, fraud limit, allowed domains, Stripe API key). Only changed fields are
 * sent; a viewer sees them read-only.
 */
import { ApiError } from '../../../src/api.js';
import { busy, field, formValues, h, loading, notice, showFormError, uid } from '../../../src/dom.js';
import { exponent, toDecimal } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';

interface Settings {
  name: string;
  currency: string;
  defaultRateBps: number;
  cookieDays: number;
  holdDays: number;
  attributionModel: 'first_click' | 'last_click';
  minPayoutAmount: number;
  payoutSchedule: string;
  fraudIpDailyLimit: number | null;
  allowedDomains: string[];
  stripeApiKeySet: boolean;
}

export const settingsView: ConsoleView = async (ctx, root) => {
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Settings')), loading());
  const { program: s } = await ctx.api.get<{ program: Settings }>('/program');
  const modelId = uid('model');
  const form = h(
    'form',
    { class: 'card stack', novalidate: true },
    h(
      'fieldset',
      { class: 'stack', disabled: !ctx.canWrite() },
      h('legend', { class: 'visually-hidden' }, 'Program settings'),
      field({ label: 'Program name', name: 'name', value: s.name, required: true }),
      h(
        'div',
        { class: 'grid-3' },
        field({
          label: 'Default commission (%)',
          name: 'defaultRate',
          value: String(s.defaultRateBps / 100),
          inputmode: 'decimal',
          required: true,
        }),
        field({
          label: 'Attribution window (days)',
          name: 'cookieDays',
          value: String(s.cookieDays),
          inputmode: 'numeric',
          required: true,
        }),
        field({
          label: 'Hold period (days)',
          name: 'holdDays',
          value: String(s.holdDays),
          inputmode: 'numeric',
          required: true,
          hint: 'Days a commission waits before approval (refund window).',
        }),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: modelId }, 'Attribution model'),
        h(
          'select',
          { id: modelId, name: 'attributionModel' },
          h('option', { value: 'last_click', selected: s.attributionModel === 'last_click' }, 'Last click'),
          h('option', { value: 'first_click', selected: s.attributionModel === 'first_click' }, 'First click'),
        ),
      ),
      h(
        'div',
        { class: 'grid-3' },
        field({
          label: `Minimum payout (${s.currency.toUpperCase()})`,
          name: 'minPayout',
          value: toDecimal(s.minPayoutAmount, s.currency),
          inputmode: 'decimal',
          required: true,
        }),
        field({
          label: 'Payout schedule (cron, UTC)',
          name: 'payoutSchedule',
          value: s.payoutSchedule,
          required: true,
        }),
        field({
          label: 'Fraud limit: sales per IP per day',
          name: 'fraudIpDailyLimit',
          value: s.fraudIpDailyLimit === null ? '' : String(s.fraudIpDailyLimit),
          inputmode: 'numeric',
          hint: 'Empty = off.',
        }),
      ),
      field({
        label: 'Allowed domains',
        name: 'allowedDomains',
        value: s.allowedDomains.join(', '),
        hint: 'Your other root domains, comma-separated.',
      }),
      field({
        label: 'Stripe restricted API key',
        name: 'stripeApiKey',
        type: 'password',
        autocomplete: 'off',
        hint: s.stripeApiKeySet
          ? 'A key is set; enter a new one to replace it.'
          : 'rk_… with read access to Checkout Sessions, Invoices, Charges; transfers write for Stripe Connect payouts.',
      }),
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      ctx.canWrite()
        ? h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save settings')
        : h('p', { class: 'muted' }, 'Viewers cannot change settings.'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const num = (x: string | undefined) => (x === undefined ? Number.NaN : Number(x.replace(',', '.')));
    const next: Record<string, unknown> = {
      name: v.name,
      defaultRateBps: Math.round(num(v.defaultRate) * 100),
      cookieDays: num(v.cookieDays),
      holdDays: num(v.holdDays),
      attributionModel: v.attributionModel,
      minPayoutAmount: Math.round(num(v.minPayout) * 10 ** exponent(s.currency)),
      payoutSchedule: v.payoutSchedule,
      fraudIpDailyLimit: v.fraudIpDailyLimit ? num(v.fraudIpDailyLimit) : null,
      allowedDomains: (v.allowedDomains ?? '').split(/[\s,]+/).filter(Boolean),
      ...(v.stripeApiKey ? { stripeApiKey: v.stripeApiKey } : {}),
    };
    const current = s as unknown as Record<string, unknown>;
    const changed = Object.fromEntries(
      Object.entries(next).filter(([k, val]) => JSON.stringify(current[k]) !== JSON.stringify(val)),
    );
    try {
      if (Object.keys(changed).length) {
        const res = await busy(form, 'Saving…', () => ctx.api.patch<{ program: Settings }>('/program', changed));
        Object.assign(s, res.program);
      }
      form.querySelector('.form-status')!.replaceChildren(notice('Settings saved'));
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not save the settings');
    }
  });
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Settings')), form);
};
