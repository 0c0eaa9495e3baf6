/**
 * `/app/onboarding`: the checklist that checks itself. It reads `GET /api/v1/console/onboarding` every 2 seconds
 * while the page is open, so "first click seen" and "first Stripe event verified" turn green on their own. The
 * optional restricted key step is the Stripe page's panel (permissions, set, "Test connection").
 */
import { ApiError } from '../../../src/api.js';
import { busy, copyField, errorBox, field, formValues, h, loading, showFormError } from '../../../src/dom.js';
import { formatDate } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import type { Onboarding } from '../types.js';
import { restrictedKeyPanel } from './stripe.js';

export const POLL_MS = 2000;

function step(
  id: string,
  title: string,
  done: boolean,
  doneText: string | { done: string; waiting: string },
  ...body: (Node | null)[]
): HTMLElement {
  const [doneLabel, waitingLabel] =
    typeof doneText === 'string' ? [doneText, 'Waiting'] : [doneText.done, doneText.waiting];
  return h(
    'li',
    { class: `check ${done ? 'check-done' : 'check-todo'}`, 'data-step': id },
    h(
      'h2',
      null,
      h('span', { class: 'check-mark', 'aria-hidden': 'true' }, done ? '✓' : '○'),
      ` ${title} `,
      h(
        'span',
        { class: `badge ${done ? 'badge-approved' : 'badge-pending'}`, 'data-state': done ? 'done' : 'waiting' },
        done ? doneLabel : waitingLabel,
      ),
    ),
    ...body,
  );
}

export const onboardingView: ConsoleView = async (ctx, root) => {
  const list = h('ol', { class: 'checklist stack' });
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Get started')),
    h('p', { class: 'muted' }, 'Each step turns green by itself when it happens.'),
    live,
    list,
  );
  const load = async () => (await ctx.api.get<{ onboarding: Onboarding }>('/console/onboarding')).onboarding;
  let last = '';
  let secretForm: HTMLFormElement | null = null;
  // Drawn once and kept across redraws (its form may be half filled in when the checklist changes).
  const keyPanel = h('div', { class: 'stack' }, loading());
  void restrictedKeyPanel(ctx, keyPanel, async () => draw(await load())).catch((err) =>
    keyPanel.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load the key')),
  );

  const draw = (o: Onboarding) => {
    const key = JSON.stringify([o.webhookSecretSet, o.stripeApiKeySet, !!o.firstClickAt, !!o.firstStripeEvent]);
    if (key === last) return;
    if (last) live.textContent = 'The checklist was updated.';
    last = key;
    if (!secretForm && ctx.canWrite()) {
      secretForm = h(
        'form',
        { class: 'stack', novalidate: true },
        field({
          label: 'Webhook signing secret',
          name: 'secret',
          required: true,
          hint: 'whsec_… shown by Stripe for this endpoint.',
        }),
        h('div', { class: 'form-status', 'aria-live': 'polite' }),
        h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Save secret'),
      );
      const form = secretForm;
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await busy(form, 'Saving…', () => ctx.api.post('/webhook-secrets', { secret: formValues(form).secret }));
          form.reset();
          draw(await load());
        } catch (err) {
          showFormError(form, err instanceof ApiError ? err.message : 'Could not save the secret');
        }
      });
    }
    list.replaceChildren(
      step(
        'snippet',
        'Add the snippet to your site',
        !!o.firstClickAt,
        'Installed',
        h('p', null, 'Paste this tag into every page of your site, before </body>.'),
        copyField('Snippet tag', o.snippet),
      ),
      step(
        'webhook',
        'Send Stripe events here',
        o.webhookSecretSet,
        'Secret set',
        h(
          'p',
          null,
          'In Stripe, add a webhook endpoint with this URL, select the event types below, then save its signing secret here.',
        ),
        copyField('Webhook URL', o.webhookUrl),
        h(
          'details',
          null,
          h('summary', null, `Event types to select (${o.eventTypes.length})`),
          h(
            'ul',
            { class: 'mono small' },
            o.eventTypes.map((t) => h('li', null, t)),
          ),
        ),
        secretForm,
      ),
      step(
        'stripe-key',
        'Optional: a restricted Stripe key',
        o.stripeApiKeySet,
        { done: 'Key set', waiting: 'Optional' },
        h(
          'p',
          null,
          'With a restricted key partnerkit looks up what an event leaves out: referral metadata on customers and subscriptions, which sale a refund or dispute belongs to, line items for per-product rules; and it can pay partners through Stripe Connect. Without one, events are processed from their payload alone.',
        ),
        keyPanel,
      ),
      step(
        'click',
        'First click seen',
        !!o.firstClickAt,
        'Seen',
        h(
          'p',
          null,
          o.firstClickAt
            ? `First click at ${formatDate(o.firstClickAt)}.`
            : 'Open your site with ?ref=<an affiliate code> to test it.',
        ),
      ),
      step(
        'event',
        'First Stripe event verified',
        !!o.firstStripeEvent,
        'Verified',
        h(
          'p',
          null,
          o.firstStripeEvent
            ? `${o.firstStripeEvent.type} received ${formatDate(o.firstStripeEvent.receivedAt)}.`
            : 'Make a test purchase, or send a test event from Stripe.',
        ),
      ),
    );
  };

  draw(await load());
  const timer = setInterval(async () => {
    if (!root.isConnected) {
      clearInterval(timer);
      return;
    }
    try {
      draw(await load());
    } catch {
      // A missed poll is retried on the next tick.
    }
  }, POLL_MS);
};
