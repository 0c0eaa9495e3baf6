/** Account: who is logged in, change password, e-mail preferences, log out everywhere. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { busy, errorBox, field, formValues, h, loading, notice, showFormError } from '../dom.js';
import type { EmailPreference } from '../types.js';

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
