/** Public console pages: first-run setup, log in, accept an invitation. */
import { ApiError } from '../../../src/api.js';
import { busy, copyField, field, formValues, h, showFormError } from '../../../src/dom.js';
import type { ConsoleView } from '../context.js';

const status = () => h('div', { class: 'form-status', 'aria-live': 'polite' });
const messageOf = (err: unknown) => (err instanceof ApiError ? err.message : 'Something went wrong; try again.');

/** `/app/setup?token=…`: the owner account and the first program, with the setup token printed to the log. */
export const setupView: ConsoleView = async (ctx, root, params) => {
  const card = h('section', { class: 'auth-card stack' }, h('h1', { tabindex: '-1' }, 'Set up partnerkit'));
  root.replaceChildren(card);
  const needed = await ctx.api.get<{ needed: boolean }>('/console/setup');
  if (!needed.needed) {
    card.append(
      h('p', null, 'This console is already set up.'),
      h('p', null, h('a', { href: '/app/login', 'data-link': '' }, 'Log in')),
    );
    return;
  }
  if (!params.token) {
    card.append(h('p', null, 'Open the one-time setup link printed in the server log when it started.'));
    return;
  }
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('p', { class: 'muted' }, 'Create the owner account and your first affiliate program.'),
    h(
      'fieldset',
      { class: 'stack' },
      h('legend', null, 'Your account'),
      field({ label: 'Email', name: 'email', type: 'email', required: true, autocomplete: 'email' }),
      field({
        label: 'Password',
        name: 'password',
        type: 'password',
        required: true,
        autocomplete: 'new-password',
        minlength: 10,
        hint: 'At least 10 characters.',
      }),
    ),
    h(
      'fieldset',
      { class: 'stack' },
      h('legend', null, 'Your program'),
      field({ label: 'Program name', name: 'name', required: true }),
      field({ label: 'Website', name: 'website', type: 'url', required: true, placeholder: 'https://shop.example' }),
      field({
        label: 'Currency',
        name: 'currency',
        value: 'usd',
        required: true,
        maxlength: 3,
        hint: 'ISO 4217, e.g. usd, eur.',
      }),
      field({
        label: 'Stripe webhook signing secret',
        name: 'stripeWebhookSecret',
        hint: 'whsec_… from your Stripe webhook endpoint; you can add it later in Get started.',
      }),
    ),
    status(),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Create program'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    try {
      const res = await busy(form, 'Creating…', () =>
        ctx.api.post<{ csrfToken: string; program: { apiKey: string } }>('/console/setup', {
          token: params.token,
          email: v.email,
          password: v.password,
          program: {
            name: v.name,
            website: v.website,
            currency: v.currency,
            ...(v.stripeWebhookSecret ? { stripeWebhookSecret: v.stripeWebhookSecret } : {}),
          },
        }),
      );
      await ctx.refreshMe();
      card.replaceChildren(
        h('h1', { tabindex: '-1' }, 'Your program is ready'),
        h('p', null, 'This API key is shown once. Keep it somewhere safe (for the CLI and your own integrations).'),
        copyField('API key', res.program.apiKey),
        h(
          'p',
          null,
          h('a', { class: 'btn btn-primary', href: '/app/onboarding', 'data-link': '' }, 'Continue to Get started'),
        ),
      );
      (card.querySelector('h1') as HTMLElement).focus();
    } catch (err) {
      showFormError(form, messageOf(err));
    }
  });
  card.append(form);
};

/** `/app/login`. */
export const loginView: ConsoleView = (ctx, root) => {
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    field({ label: 'Email', name: 'email', type: 'email', required: true, autocomplete: 'username' }),
    field({ label: 'Password', name: 'password', type: 'password', required: true, autocomplete: 'current-password' }),
    status(),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await busy(form, 'Logging in…', () => ctx.api.post('/console/login', formValues(form)));
      await ctx.refreshMe();
      ctx.navigate('/app/', { replace: true });
    } catch (err) {
      showFormError(form, messageOf(err));
    }
  });
  root.replaceChildren(
    h('section', { class: 'auth-card stack' }, h('h1', { tabindex: '-1' }, 'Log in to the console'), form),
  );
};

/** `#invite=<token>`: an invited member chooses a password. */
export const inviteView: ConsoleView = (ctx, root, params) => {
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    field({
      label: 'Choose a password',
      name: 'password',
      type: 'password',
      required: true,
      autocomplete: 'new-password',
      minlength: 10,
      hint: 'At least 10 characters.',
    }),
    status(),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Join'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await busy(form, 'Joining…', () =>
        ctx.api.post('/console/invite/accept', { token: params.token, password: formValues(form).password }),
      );
      await ctx.refreshMe();
      ctx.navigate('/app/', { replace: true });
    } catch (err) {
      showFormError(form, messageOf(err));
    }
  });
  root.replaceChildren(
    h('section', { class: 'auth-card stack' }, h('h1', { tabindex: '-1' }, 'Join the program'), form),
  );
};
