/** Account: who is logged in, tax details, change password, e-mail preferences, log out everywhere. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { busy, errorBox, field, formValues, h, loading, notice, showFormError } from '../dom.js';
import type { EmailPreference, TaxInfo } from '../types.js';

/**
 * The partner's e-mail preferences: one checkbox per kind of e-mail (`GET /email-preferences`); each change is
 * saved at once with `save` (`PUT /email-preferences`), and the box shows what the server answered. Set-password
 * and reset e-mails are always sent and not listed.
 */
export function renderEmailPreferences(
  preferences: EmailPreference[],
  save: (changes: Record<string, boolean>) => Promise<EmailPreference[]>,
): HTMLElement {
  const status = h('div', { class: 'form-status', role: 'status' });
  const boxes = preferences.map((p) => {
    const input = h('input', { type: 'checkbox', name: p.kind, checked: p.subscribed });
    input.addEventListener('change', async () => {
      input.disabled = true;
      try {
        const answer = await save({ [p.kind]: input.checked });
        const now = answer.find((a) => a.kind === p.kind);
        if (now) input.checked = now.subscribed;
        status.replaceChildren(notice('Saved.'));
      } catch (err) {
        input.checked = !input.checked;
        status.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not save your choice.'));
      } finally {
        input.disabled = false;
      }
    });
    return h('label', { class: 'check' }, input, ` ${p.label}`);
  });
  return h(
    'fieldset',
    { class: 'stack', 'aria-labelledby': 'mail-title' },
    h('h2', { id: 'mail-title' }, 'E-mails'),
    h('p', { class: 'muted' }, 'Choose what we e-mail you about. Password e-mails are always sent.'),
    status,
    ...boxes,
  );
}

/**
 * The tax details form (legal name, country, tax id; needs the password). The tax id on file is shown masked only
 * (`•••• 6789`); the field starts empty, and saving sends the whole set again.
 */
export function renderTaxInfoForm(
  current: TaxInfo,
  save: (body: { legalName: string; country: string; taxId: string; password: string }) => Promise<TaxInfo>,
): HTMLFormElement {
  const onFile = (t: TaxInfo) =>
    t.taxId ? `On file: ${t.legalName} (${t.country}), tax ID ${t.taxId}.` : 'No tax details on file yet.';
  const form = h(
    'form',
    { class: 'stack', novalidate: true, 'aria-labelledby': 'tax-title' },
    h('h2', { id: 'tax-title' }, 'Tax details'),
    h(
      'p',
      { class: 'muted' },
      'The program reports what it pays you with these (for example on a US 1099-NEC). Your tax ID is stored encrypted and only ever shown masked.',
    ),
    h('p', { class: 'tax-on-file' }, onFile(current)),
    h('div', { class: 'form-status' }),
    field({
      label: 'Legal name',
      name: 'legalName',
      value: current.legalName ?? '',
      required: true,
      autocomplete: 'name',
      hint: 'Your name or your company’s, as on your tax filings.',
    }),
    field({
      label: 'Country',
      name: 'country',
      value: current.country ?? '',
      required: true,
      maxlength: 2,
      placeholder: 'US',
      hint: 'Two-letter code, e.g. US, DE, FR.',
    }),
    field({
      label: 'Tax ID',
      name: 'taxId',
      required: true,
      autocomplete: 'off',
      hint: current.taxId
        ? `Enter it again to change your details (on file: ${current.taxId}).`
        : 'SSN, EIN, VAT or national tax number.',
    }),
    field({
      label: 'Your password',
      name: 'password',
      type: 'password',
      required: true,
      autocomplete: 'current-password',
      hint: 'Needed to change your tax details.',
    }),
    h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save tax details')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.legalName) return showFormError(form, 'legalName: Enter your legal name');
    if (!/^[A-Za-z]{2}$/.test(v.country ?? '')) return showFormError(form, 'country: Enter a two-letter country code');
    if (!v.taxId) return showFormError(form, 'taxId: Enter your tax ID');
    if (!v.password) return showFormError(form, 'password: Enter your password to confirm');
    try {
      const saved = await busy(form, 'Saving…', () =>
        save({ legalName: v.legalName!, country: v.country!, taxId: v.taxId!, password: v.password! }),
      );
      for (const name of ['taxId', 'password'])
        (form.querySelector(`input[name="${name}"]`) as HTMLInputElement).value = '';
      form.querySelector('.tax-on-file')!.textContent = onFile(saved);
      form.querySelector('.form-status')!.replaceChildren(notice(`Saved. Tax ID on file: ${saved.taxId}.`));
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not save your tax details.');
    }
  });
  return form;
}

export function accountView(ctx: AppContext, root: HTMLElement): void {
  const me = ctx.me!;
  const form = h(
    'form',
    { class: 'stack', novalidate: true, 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Change password'),
    h('div', { class: 'form-status' }),
    field({
      label: 'Current password',
      name: 'currentPassword',
      type: 'password',
      required: true,
      autocomplete: 'current-password',
    }),
    field({
      label: 'New password',
      name: 'newPassword',
      type: 'password',
      required: true,
      autocomplete: 'new-password',
      minlength: 10,
      hint: 'At least 10 characters. Your other devices are logged out.',
    }),
    h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.currentPassword) return showFormError(form, 'currentPassword: Enter your current password');
    if (!v.newPassword || v.newPassword.length < 10)
      return showFormError(form, 'newPassword: Use at least 10 characters');
    try {
      await busy(form, 'Saving…', () => ctx.api.post('/password/change', v));
      form.reset();
      form.querySelector('.form-status')!.replaceChildren(notice('Password changed. Other devices were logged out.'));
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not change the password.');
    }
  });
  const everywhere = h('button', { type: 'button', class: 'btn btn-danger' }, 'Log out on all devices');
  everywhere.addEventListener('click', async () => {
    everywhere.disabled = true;
    try {
      await ctx.api.post('/logout', { everywhere: true });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        everywhere.disabled = false;
        return;
      }
    }
    ctx.api.setCsrf(null);
    await ctx.refreshMe();
    ctx.navigate('/partner/login', { replace: true });
  });
  const tax = h('section', { class: 'card' }, loading('Loading your tax details…'));
  void ctx.api
    .get<TaxInfo>('/tax-info')
    .then((current) =>
      tax.replaceChildren(renderTaxInfoForm(current, (body) => ctx.api.put<TaxInfo>('/tax-info', body))),
    )
    .catch((err) =>
      tax.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load your tax details.')),
    );
  const mailSection = h('section', { class: 'card' }, loading('Loading your e-mail preferences…'));
  const save = async (changes: Record<string, boolean>) =>
    (await ctx.api.put<{ preferences: EmailPreference[] }>('/email-preferences', { preferences: changes })).preferences;
  ctx.api
    .get<{ preferences: EmailPreference[] }>('/email-preferences')
    .then((r) => mailSection.replaceChildren(renderEmailPreferences(r.preferences, save)))
    .catch(() => mailSection.replaceChildren(errorBox('Could not load your e-mail preferences.')));
  root.replaceChildren(
    h(
      'div',
      { class: 'stack' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Account')),
      h(
        'section',
        { class: 'card' },
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Name'),
          h('dd', null, me.affiliate.name),
          h('dt', null, 'Email'),
          h('dd', null, me.affiliate.email),
          h('dt', null, 'Referral code'),
          h('dd', { class: 'mono' }, me.affiliate.code),
          h('dt', null, 'Program'),
          h('dd', null, me.program.name),
        ),
      ),
      tax,
      h('section', { class: 'card' }, form),
      mailSection,
      h(
        'section',
        { class: 'card stack' },
        h('h2', null, 'Sessions'),
        h(
          'p',
          { class: 'muted' },
          'Lost a device or logged in on a shared computer? End every session, including this one.',
        ),
        h('div', null, everywhere),
      ),
    ),
  );
}
