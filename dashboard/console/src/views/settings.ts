/**
 * `/app/settings`: the fields `PATCH /api/v1/program` takes (name, default rate, attribution window and model, hold
 * period, minimum payout, payout schedule, fraud limit, allowed domains, Stripe API key). Only changed fields are
 * sent; a viewer sees them read-only.
 */
import { ApiError } from '../../../src/api.js';
import { busy, field, formValues, h, loading, notice, showFormError, uid } from '../../../src/dom.js';
import { exponent, toDecimal } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import type { ProgramSettings as Settings } from '../types.js';
import { contrastRatio, textColorOn } from '../../../../server/lib/contrast.js';

const HEX = /^#[0-9A-Fa-f]{6}$/;
/** The partner dashboard's own accent, used when the program has none. */
const DEFAULT_ACCENT = '#4f46e5';

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
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Settings')),
    form,
    brandingForm(ctx, s),
  );
};

/**
 * The Branding section: logo URL (https only) and accent colour (text `#rrggbb` and a colour picker, kept in step),
 * with a preview that follows every keystroke: the header mark or logo and a primary button in the accent, its text
 * black or white by WCAG contrast (`server/lib/contrast.ts`, the same function the server answers
 * `accentTextColor` with). Empty fields clear the branding.
 */
function brandingForm(ctx: Parameters<ConsoleView>[0], s: Settings): HTMLFormElement {
  const writable = ctx.canWrite();
  const pickerId = uid('accent-picker');
  const logo = field({
    label: 'Logo URL',
    name: 'logoUrl',
    type: 'url',
    value: s.branding.logoUrl ?? '',
    placeholder: 'https://',
    hint: 'An https:// image (PNG, SVG…), shown in the partner dashboard, its apply and login pages, and e-mails.',
  });
  const accent = field({
    label: 'Accent colour',
    name: 'accentColor',
    value: s.branding.accentColor ?? '',
    placeholder: '#rrggbb',
    hint: 'Buttons and the header rule. Empty = the default colours.',
  });
  const picker = h('input', {
    id: pickerId,
    type: 'color',
    class: 'color-picker',
    value: s.branding.accentColor ?? DEFAULT_ACCENT,
  });
  const mark = h('span', { class: 'brand-preview-mark' });
  const name = h('span', { class: 'brand-preview-name' });
  const button = h('span', { class: 'brand-preview-button' }, 'Log in');
  const contrast = h('p', { class: 'hint', 'data-preview': 'contrast' });
  const preview = h(
    'div',
    { class: 'brand-preview', role: 'group', 'aria-label': 'Preview' },
    h('div', { class: 'brand-preview-bar' }, mark, name),
    h('div', { class: 'brand-preview-body' }, button),
    contrast,
  );
  const logoInput = logo.querySelector('input')!;
  const accentInput = accent.querySelector('input')!;
  const draw = () => {
    const color = HEX.test(accentInput.value.trim()) ? accentInput.value.trim().toLowerCase() : DEFAULT_ACCENT;
    const text = textColorOn(color);
    preview.style.setProperty('--preview-accent', color);
    preview.style.setProperty('--preview-accent-text', text);
    const url = logoInput.value.trim();
    const hasLogo = /^https:\/\/\S+$/.test(url);
    // As the dashboard's header: with a logo, its alt text says the name.
    name.textContent = hasLogo ? 'Partners' : `${s.name} Partners`;
    mark.replaceChildren(
      hasLogo
        ? h('img', { class: 'brand-logo', src: url, alt: s.name })
        : h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, s.name.slice(0, 1).toUpperCase()),
    );
    contrast.textContent = `Text on the accent: ${text === '#ffffff' ? 'white' : 'black'}, contrast ${contrastRatio(color, text).toFixed(1)}:1${HEX.test(accentInput.value.trim()) || !accentInput.value.trim() ? '' : ' (not a #rrggbb colour yet: showing the default)'}`;
  };
  accentInput.addEventListener('input', () => {
    if (HEX.test(accentInput.value.trim())) picker.value = accentInput.value.trim().toLowerCase();
    draw();
  });
  picker.addEventListener('input', () => {
    accentInput.value = picker.value;
    draw();
  });
  logoInput.addEventListener('input', draw);
  const form = h(
    'form',
    { class: 'card stack', novalidate: true, 'aria-labelledby': 'branding-h' },
    h('h2', { id: 'branding-h' }, 'Branding'),
    h(
      'fieldset',
      { class: 'stack', disabled: !writable },
      h('legend', { class: 'visually-hidden' }, 'Branding'),
      logo,
      h(
        'div',
        { class: 'accent-row' },
        accent,
        h('div', { class: 'field' }, h('label', { for: pickerId }, 'Pick a colour'), picker),
      ),
      preview,
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      writable
        ? h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save branding')
        : h('p', { class: 'muted' }, 'Viewers cannot change the branding.'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const branding = { logoUrl: v.logoUrl || null, accentColor: v.accentColor || null };
    try {
      const res = await busy(form, 'Saving…', () => ctx.api.patch<{ program: Settings }>('/program', { branding }));
      Object.assign(s, res.program);
      form.querySelector('.form-status')!.replaceChildren(notice('Branding saved'));
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not save the branding');
    }
  });
  draw();
  return form;
}
