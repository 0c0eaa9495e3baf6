/**
 * `/app/stripe`: the program's Stripe side.
 * - Events inbox (`GET /api/v1/stripe-events?status=&limit=&offset=`): by status, in pages; one event's payload
 *   (`GET /:id`, `?event=` in the URL) and a replay (`POST /:id/replay`: processed again through the webhook's own
 *   path, so a sale is never counted twice).
 * - Webhook signing secrets (`/api/v1/webhook-secrets`): list, add one, retire one after a confirmation.
 * - The restricted key: the permissions it needs (`GET /api/v1/program/stripe-key`), set it (`PATCH /api/v1/program`
 *   `{ stripeApiKey }`), "Test connection" (`POST /api/v1/program/stripe-key/test`).
 * A viewer sees everything and changes nothing (the server refuses their writes too).
 */
import { ApiError } from '../../../src/api.js';
import {
  badge,
  busy,
  copyField,
  emptyState,
  errorBox,
  field,
  formValues,
  h,
  loading,
  notice,
  showFormError,
  table,
} from '../../../src/dom.js';
import { formatDate, formatDateTime } from '../../../src/format.js';
import type { ConsoleContext, ConsoleView } from '../context.js';
import type { StripeKeyStatus as KeyStatus, StripeKeyTest as KeyTest, StripeEvent, WebhookSecret } from '../types.js';
import { act, selectField, simplePager } from './shared.js';

const LIMIT = 25;
const STATUSES: [string, string][] = [
  ['', 'All'],
  ['received', 'Received'],
  ['processed', 'Processed'],
  ['ignored', 'Ignored'],
  ['retrying', 'Retrying'],
  ['failed', 'Failed'],
];

const failure = (err: unknown, fallback: string) => (err instanceof ApiError ? err.message : fallback);

/** A titled card of the page (`h2` labelling the region). */
function section(id: string, title: string, ...children: (Node | null)[]) {
  return h('section', { class: 'card stack', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export const stripeView: ConsoleView = async (ctx, root, params) => {
  const state = {
    status: params.status ?? '',
    offset: Number(params.offset ?? 0) || 0,
    event: params.event ?? '',
  };
  const go = () => {
    const q = new URLSearchParams();
    if (state.status) q.set('status', state.status);
    if (state.offset) q.set('offset', String(state.offset));
    if (state.event) q.set('event', state.event);
    const s = q.toString();
    ctx.navigate(`/app/stripe${s ? `?${s}` : ''}`);
  };
  const onboarding = await ctx.api
    .get<{ onboarding: { webhookUrl: string } }>('/console/onboarding')
    .then((r) => r.onboarding)
    .catch(() => null);
  const eventsArea = h('div', null, loading());
  const detailArea = h('div');
  const eventsSlot = h('div', { 'aria-live': 'polite' });
  const secretsArea = h('div', null, loading());
  const keyArea = h('div', null, loading());

  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Stripe')),
    section(
      'events-h',
      'Events',
      onboarding ? copyField('Webhook endpoint URL', onboarding.webhookUrl) : null,
      h(
        'div',
        { class: 'toolbar' },
        selectField('Status', STATUSES, state.status, (v) => {
          state.status = v;
          state.offset = 0;
          state.event = '';
          go();
        }),
      ),
      eventsSlot,
      detailArea,
      eventsArea,
    ),
    section('secrets-h', 'Webhook signing secrets', secretsArea),
    section('key-h', 'Restricted API key', keyArea),
  );

  const replayButton = (e: StripeEvent, redraw: () => Promise<void>) => {
    if (!ctx.canWrite()) return null;
    const b: HTMLButtonElement = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-secondary btn-small',
        'aria-label': `Replay event ${e.id}`,
        onclick: () =>
          act(
            b,
            eventsSlot,
            `Event ${e.id} replayed`,
            () => ctx.api.post(`/stripe-events/${encodeURIComponent(e.id)}/replay`, {}),
            redraw,
          ),
      },
      'Replay',
    );
    return b;
  };

  const drawDetail = async () => {
    if (!state.event) {
      detailArea.replaceChildren();
      return;
    }
    try {
      const { event: e } = await ctx.api.get<{ event: StripeEvent }>(
        `/stripe-events/${encodeURIComponent(state.event)}`,
      );
      detailArea.replaceChildren(
        h(
          'div',
          { class: 'stack', role: 'region', 'aria-label': `Event ${e.id}` },
          h('h3', null, `${e.type} · ${e.id}`),
          h(
            'p',
            null,
            badge(e.status),
            ` ${e.attempts} attempt(s), received ${formatDateTime(e.receivedAt)}`,
            e.error ? h('span', { class: 'small muted' }, ` — ${e.error}`) : null,
          ),
          h(
            'pre',
            { class: 'payload mono small', tabindex: '0', 'aria-label': 'Payload' },
            JSON.stringify(e.payload, null, 2),
          ),
          h(
            'div',
            { class: 'row' },
            replayButton(e, redraw),
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-secondary btn-small',
                onclick: () => {
                  state.event = '';
                  go();
                },
              },
              'Close payload',
            ),
          ),
        ),
      );
    } catch (err) {
      detailArea.replaceChildren(errorBox(failure(err, 'Could not load the event')));
    }
  };

  const drawEvents = async () => {
    const { data } = await ctx.api.get<{ data: StripeEvent[] }>('/stripe-events', {
      status: state.status || undefined,
      limit: LIMIT,
      offset: state.offset,
    });
    if (data.length === 0) {
      eventsArea.replaceChildren(
        emptyState(
          state.status ? `No ${state.status} events` : 'No Stripe events yet',
          'Events appear here as Stripe delivers them to the webhook endpoint above.',
        ),
      );
      return;
    }
    const rows = data.map((e) => [
      formatDateTime(e.receivedAt),
      h('span', { class: 'mono small' }, e.type),
      h('span', null, badge(e.status), e.error ? h('span', { class: 'small muted' }, ` ${e.error}`) : null),
      String(e.attempts),
      h(
        'div',
        { class: 'row' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary btn-small',
            'aria-label': `View payload of event ${e.id}`,
            onclick: () => {
              state.event = e.id;
              go();
            },
          },
          'View',
        ),
        replayButton(e, redraw),
      ),
    ]);
    eventsArea.replaceChildren(
      table(
        'Stripe events',
        [
          { label: 'Received' },
          { label: 'Type' },
          { label: 'Status' },
          { label: 'Attempts', numeric: true },
          { label: 'Actions' },
        ],
        rows,
      ),
      simplePager(data.length, LIMIT, state.offset, (o) => {
        state.offset = o;
        state.event = '';
        go();
      }),
    );
  };
  const redraw = async () => {
    await Promise.all([drawEvents(), drawDetail()]);
  };

  const secretsSlot = h('div', { 'aria-live': 'polite' });
  const drawSecrets = async (list?: WebhookSecret[]) => {
    const data = list ?? (await ctx.api.get<{ data: WebhookSecret[] }>('/webhook-secrets')).data;
    const rows = data.map((s) => {
      const actions = h('div', { class: 'row' });
      const askRetire = () => {
        const yes: HTMLButtonElement = h(
          'button',
          {
            type: 'button',
            class: 'btn btn-danger btn-small',
            onclick: () =>
              act(
                yes,
                secretsSlot,
                `Secret ${s.hint ?? s.id} retired`,
                () => ctx.api.delete(`/webhook-secrets/${encodeURIComponent(s.id)}`),
                () => drawSecrets(),
              ),
          },
          'Yes, retire it',
        );
        actions.replaceChildren(
          h('span', { class: 'small' }, `Events signed only with ${s.hint ?? 'this secret'} will be refused.`),
          yes,
          h(
            'button',
            { type: 'button', class: 'btn btn-secondary btn-small', onclick: () => void drawSecrets(data) },
            'Cancel',
          ),
        );
        yes.focus();
      };
      if (!s.retiredAt && ctx.canWrite())
        actions.append(
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-secondary btn-small',
              'aria-label': `Retire secret ${s.hint ?? s.id}`,
              onclick: askRetire,
            },
            'Retire',
          ),
        );
      return [
        h('span', { class: 'mono' }, s.hint ?? '—'),
        formatDate(s.createdAt),
        s.retiredAt ? h('span', null, badge('retired'), ` ${formatDate(s.retiredAt)}`) : badge('active'),
        actions,
      ];
    });
    const form = h(
      'form',
      { class: 'stack', novalidate: true },
      field({
        label: 'New signing secret',
        name: 'secret',
        type: 'password',
        autocomplete: 'off',
        required: true,
        hint: 'whsec_… from the webhook endpoint in your Stripe dashboard. During a roll, keep both until Stripe signs with the new one.',
      }),
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add secret'),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const res = await busy(form, 'Adding…', () =>
          ctx.api.post<{ data: WebhookSecret[] }>('/webhook-secrets', { secret: formValues(form).secret ?? '' }),
        );
        await drawSecrets(res.data);
        secretsSlot.replaceChildren(notice('Secret added'));
      } catch (err) {
        showFormError(form, failure(err, 'Could not add the secret'));
      }
    });
    secretsArea.replaceChildren(
      secretsSlot,
      data.length
        ? table(
            'Webhook signing secrets',
            [{ label: 'Secret' }, { label: 'Added' }, { label: 'Status' }, { label: 'Actions' }],
            rows,
          )
        : emptyState('No signing secret', 'Add the whsec_… secret of your Stripe webhook endpoint.'),
      ctx.canWrite() ? form : h('p', { class: 'muted' }, 'Viewers cannot change secrets.'),
    );
  };

  await Promise.all([
    redraw().catch((err) => eventsArea.replaceChildren(errorBox(failure(err, 'Could not load the events')))),
    drawSecrets().catch((err) => secretsArea.replaceChildren(errorBox(failure(err, 'Could not load the secrets')))),
    restrictedKeyPanel(ctx, keyArea).catch((err) =>
      keyArea.replaceChildren(errorBox(failure(err, 'Could not load the key'))),
    ),
  ]);
};

/**
 * The restricted key panel (the Stripe page and the onboarding checklist): whether a key is set and in which mode,
 * the permissions it needs (`GET /api/v1/program/stripe-key`), a form to set it (`PATCH /api/v1/program`
 * `{ stripeApiKey }`) and "Test connection" (`POST /api/v1/program/stripe-key/test`, the typed key or the stored one),
 * drawn into `area`; `onSaved` runs after a key is saved.
 */
export async function restrictedKeyPanel(ctx: ConsoleContext, area: HTMLElement, onSaved?: () => void): Promise<void> {
  const { stripeKey: k } = await ctx.api.get<{ stripeKey: KeyStatus }>('/program/stripe-key');
  const result = h('div', { 'aria-live': 'polite' });
  const showTest = (t: KeyTest) =>
    result.replaceChildren(
      t.ok ? notice(t.message) : errorBox(t.message),
      t.checks.length === 0
        ? ''
        : h(
            'ul',
            { class: 'stack small', 'aria-label': 'Connection test results' },
            t.checks.map((c) =>
              h(
                'li',
                null,
                c.ok === null ? 'Not tested: ' : c.ok ? '✓ Allowed: ' : '✗ Missing: ',
                h('strong', null, c.permission),
                c.error ? h('span', { class: 'muted' }, ` — ${c.error}`) : null,
              ),
            ),
          ),
    );
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    field({
      label: 'Restricted key',
      name: 'key',
      type: 'password',
      autocomplete: 'off',
      hint: k.set ? 'A key is set; enter a new one to replace it.' : 'rk_live_… or rk_test_…',
    }),
    h('div', { class: 'form-status', 'aria-live': 'polite' }),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save key'),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-secondary',
          onclick: async () => {
            const key = formValues(form).key;
            try {
              const res = await busy(form, 'Testing…', () =>
                ctx.api.post<{ test: KeyTest }>('/program/stripe-key/test', key ? { key } : {}),
              );
              showTest(res.test);
            } catch (err) {
              result.replaceChildren(errorBox(failure(err, 'Could not test the key')));
            }
          },
        },
        'Test connection',
      ),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = formValues(form).key;
    if (!key) {
      showFormError(form, 'Enter the restricted key first');
      return;
    }
    try {
      await busy(form, 'Saving…', () => ctx.api.patch('/program', { stripeApiKey: key }));
      await restrictedKeyPanel(ctx, area, onSaved);
      onSaved?.();
      area.querySelector('.form-status')?.replaceChildren(notice('Key saved'));
    } catch (err) {
      showFormError(form, failure(err, 'Could not save the key'));
    }
  });
  area.replaceChildren(
    h(
      'p',
      null,
      k.set
        ? h('span', null, badge('active'), ` A ${k.mode} mode key is set.`)
        : 'No key is set: events are processed from their payload alone.',
    ),
    h('p', null, 'Create a restricted key in the Stripe dashboard (Developers → API keys) with these permissions:'),
    h(
      'ul',
      { class: 'stack small', 'aria-label': 'Permissions the key needs' },
      k.permissions.map((p) => h('li', null, h('strong', null, p.permission), ` — ${p.use}`)),
    ),
    ctx.canWrite() ? form : h('p', { class: 'muted' }, 'Viewers cannot change the key.'),
    result,
  );
}
