/** Account: who is logged in, change password, log out everywhere. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { busy, field, formValues, h, notice, showFormError } from '../dom.js';

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
