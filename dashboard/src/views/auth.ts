/** Public pages: log in, forgot password, set a password from a one-time link, and apply to a program. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import { busy, emptyState, errorBox, field, formValues, h, loading, notice, showFormError } from '../dom.js';
import { formatBps } from '../format.js';
import type { PublicProgram } from '../types.js';
import { applyBranding, brandMark } from '../branding.js';

const MIN_PASSWORD = 10;

function card(title: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: 'auth-card' }, h('h1', { tabindex: '-1' }, title), ...children);
}

/** `card`, headed by the program's logo (or its initial) and drawn in its accent colour. */
function brandedCard(program: PublicProgram, title: string, ...children: (Node | null)[]): HTMLElement {
  applyBranding(program);
  const c = card(title, ...children);
  c.prepend(h('div', { class: 'auth-logo' }, brandMark(program)));
  return c;
}

/** The public info of program `id` (name, terms, branding), or null when there is none. */
async function publicProgram(ctx: AppContext, id: string): Promise<PublicProgram | null> {
  try {
    return (await ctx.api.get<{ program: PublicProgram }>(`/programs/${encodeURIComponent(id)}`)).program;
  } catch {
    return null;
  }
}

const messageOf = (err: unknown) => (err instanceof ApiError ? err.message : 'Something went wrong. Please try again.');

/**
 * Log in. With `?program=<programId>` (the apply page's link, or a merchant's own) the page wears that program's
 * logo and accent colour; an unknown id shows the plain page.
 */
export async function loginView(ctx: AppContext, root: HTMLElement, params: Record<string, string>): Promise<void> {
  const program = params.program ? await publicProgram(ctx, params.program) : null;
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'form-status' }),
    field({
      label: 'Email',
      name: 'email',
      type: 'email',
      required: true,
      autocomplete: 'username',
      inputmode: 'email',
    }),
    field({ label: 'Password', name: 'password', type: 'password', required: true, autocomplete: 'current-password' }),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.email || !v.password)
      return showFormError(form, !v.email ? 'email: Enter your email address' : 'password: Enter your password');
    try {
      await busy(form, 'Logging in…', async () => {
        const res = await ctx.api.post<{ csrfToken: string }>('/login', { email: v.email, password: v.password });
        ctx.api.setCsrf(res.csrfToken);
        await ctx.refreshMe();
      });
      ctx.navigate(params.next?.startsWith('/partner/') ? params.next : '/partner/', { replace: true });
    } catch (err) {
      showFormError(form, messageOf(err));
    }
  });
  const parts = [
    params.reason === 'expired' ? notice('Your session ended. Please log in again.') : null,
    form,
    h('p', { class: 'muted center' }, h('a', { href: '/partner/forgot', 'data-link': '' }, 'Forgot your password?')),
  ];
  root.replaceChildren(
    program
      ? brandedCard(program, `Log in to the ${program.name} partner dashboard`, ...parts)
      : card('Log in to your partner dashboard', ...parts),
  );
}

export function forgotView(ctx: AppContext, root: HTMLElement): void {
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'form-status' }),
    field({
      label: 'Email',
      name: 'email',
      type: 'email',
      required: true,
      autocomplete: 'username',
      inputmode: 'email',
    }),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Send reset link'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.email) return showFormError(form, 'email: Enter your email address');
    try {
      await busy(form, 'Sending…', () => ctx.api.post('/password/reset', { email: v.email }));
      form.replaceChildren(
        notice(
          `If ${v.email} belongs to an approved partner account, a reset link is on its way. It works once, for one hour.`,
        ),
      );
    } catch (err) {
      showFormError(form, messageOf(err));
    }
  });
  root.replaceChildren(
    card(
      'Reset your password',
      h(
        'p',
        { class: 'muted' },
        'Enter the email address of your partner account and we will send you a link to choose a new password.',
      ),
      form,
      h('p', { class: 'muted center' }, h('a', { href: '/partner/login', 'data-link': '' }, 'Back to log in')),
    ),
  );
}

export function setPasswordView(ctx: AppContext, root: HTMLElement, params: Record<string, string>): void {
  const reset = params.purpose === 'reset';
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'form-status' }),
    field({
      label: 'New password',
      name: 'password',
      type: 'password',
      required: true,
      autocomplete: 'new-password',
      minlength: MIN_PASSWORD,
      hint: `At least ${MIN_PASSWORD} characters. A few unrelated words make a strong, memorable password.`,
    }),
    field({
      label: 'Repeat the password',
      name: 'confirm',
      type: 'password',
      required: true,
      autocomplete: 'new-password',
      minlength: MIN_PASSWORD,
    }),
    h(
      'button',
      { type: 'submit', class: 'btn btn-primary btn-block' },
      reset ? 'Save new password' : 'Set password and continue',
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.password || v.password.length < MIN_PASSWORD)
      return showFormError(form, `password: Use at least ${MIN_PASSWORD} characters`);
    if (v.password !== v.confirm) return showFormError(form, 'confirm: The two passwords differ');
    try {
      await busy(form, 'Saving…', async () => {
        const res = await ctx.api.post<{ csrfToken: string }>('/password', {
          token: params.token,
          password: v.password,
        });
        ctx.api.setCsrf(res.csrfToken);
        await ctx.refreshMe();
      });
      ctx.navigate('/partner/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_token') {
        root.replaceChildren(
          card(
            'This link no longer works',
            errorBox('The link was already used or has expired.'),
            h(
              'p',
              null,
              'Ask for a new one: ',
              h('a', { href: '/partner/forgot', 'data-link': '' }, 'reset your password'),
              ', or ask the program owner to invite you again.',
            ),
          ),
        );
        return;
      }
      showFormError(form, messageOf(err));
    }
  });
  root.replaceChildren(
    card(
      reset ? 'Choose a new password' : 'Welcome! Set your password',
      h(
        'p',
        { class: 'muted' },
        reset
          ? 'Your other sessions will be logged out.'
          : 'You will use it with your email address to log in to your partner dashboard.',
      ),
      form,
    ),
  );
}

export async function applyView(ctx: AppContext, root: HTMLElement, params: Record<string, string>): Promise<void> {
  root.replaceChildren(loading());
  const program = await publicProgram(ctx, params.program!);
  if (!program) {
    root.replaceChildren(
      card(
        'Program not found',
        emptyState('We could not find this partner program.', 'Check the link you were given.'),
      ),
    );
    return;
  }
  document.title = `Apply · ${program.name} partner program`;
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('div', { class: 'form-status' }),
    field({ label: 'Your name', name: 'name', required: true, autocomplete: 'name', maxlength: 200 }),
    field({ label: 'Email', name: 'email', type: 'email', required: true, autocomplete: 'email', inputmode: 'email' }),
    field({
      label: 'Website',
      name: 'website',
      type: 'url',
      autocomplete: 'url',
      placeholder: 'https://',
      hint: 'Your site, blog or main social profile.',
    }),
    field({
      label: 'How will you promote us?',
      name: 'promotionMethod',
      required: true,
      multiline: true,
      maxlength: 2000,
      hint: 'Your audience, channels (newsletter, YouTube, reviews…) and roughly how many people you reach.',
    }),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Send application'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (!v.name) return showFormError(form, 'name: Enter your name');
    if (!v.email) return showFormError(form, 'email: Enter your email address');
    if (!v.promotionMethod) return showFormError(form, 'promotionMethod: Tell us how you will promote');
    try {
      await busy(form, 'Sending…', () => ctx.api.post(`/programs/${encodeURIComponent(program.id)}/apply`, v));
      const done = brandedCard(
        program,
        'Thanks, your application is in',
        notice(
          `${program.name} will review it. Once you are approved, we send a link to ${v.email} to set your password.`,
        ),
      );
      root.replaceChildren(done);
      (done.querySelector('h1') as HTMLElement).focus();
    } catch (err) {
      showFormError(form, messageOf(err));
    }
  });
  root.replaceChildren(
    brandedCard(
      program,
      `Join the ${program.name} partner program`,
      h(
        'p',
        { class: 'muted' },
        `Earn ${formatBps(program.defaultRateBps)} of every sale you refer to `,
        h('a', { href: program.website, rel: 'noopener' }, new URL(program.website).hostname),
        `. Referrals are credited for ${program.cookieDays} days after a click.`,
      ),
      form,
      h(
        'p',
        { class: 'muted center' },
        'Already a partner? ',
        h('a', { href: `/partner/login?program=${encodeURIComponent(program.id)}`, 'data-link': '' }, 'Log in'),
      ),
    ),
  );
}
