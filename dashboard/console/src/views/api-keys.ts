/**
 * `/app/api-keys`: the program's admin API keys (`/api/v1/api-keys`, the same routes and service as the API and the
 * CLI's `api-key …`). Owners and admins create a key with a name — its secret is shown once, with a Copy button,
 * and never again (only a hash is stored) — and revoke one after confirming; everyone sees the list with the
 * prefix, creation and last use. A viewer's page has no buttons, and the server refuses a viewer's writes (403).
 */
import { ApiError } from '../../../src/api.js';
import {
  busy,
  copyField,
  emptyState,
  errorBox,
  field,
  formValues,
  h,
  loading,
  showFormError,
  table,
} from '../../../src/dom.js';
import { formatDate } from '../../../src/format.js';
import type { ConsoleContext, ConsoleView } from '../context.js';
import type { ApiKey } from '../types.js';
import { act, selectField } from './shared.js';

type Show = 'active' | 'revoked' | '';

export const apiKeysView: ConsoleView = async (ctx, root, params) => {
  const slot = h('div', { 'aria-live': 'polite' });
  const listArea = h('div', null, loading());
  let show: Show = params.show === 'revoked' || params.show === '' ? params.show : 'active';
  let search = '';
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'API keys')),
    h(
      'p',
      { class: 'muted' },
      'Keys open the admin API (Authorization: Bearer sk_pk_…) for this program. A revoked key stops working at once.',
    ),
    slot,
  );
  if (ctx.canWrite()) root.append(createForm(ctx, slot, () => draw(true)));

  const toolbar = h(
    'div',
    { class: 'toolbar' },
    selectField(
      'Show',
      [
        ['active', 'Active keys'],
        ['revoked', 'Revoked keys'],
        ['', 'All keys'],
      ],
      show,
      (v) => {
        show = v as Show;
        history.replaceState(null, '', `/app/api-keys${show === 'active' ? '' : `?show=${show}`}`);
        void draw();
      },
    ),
    field({ label: 'Search by name or prefix', name: 'search', type: 'search' }),
  );
  const searchInput = toolbar.querySelector('input')!;
  searchInput.addEventListener('input', () => {
    search = searchInput.value.trim().toLowerCase();
    void draw();
  });
  root.append(
    h(
      'section',
      { class: 'card stack', 'aria-labelledby': 'keys-h' },
      h('h2', { id: 'keys-h' }, 'Keys'),
      toolbar,
      listArea,
    ),
  );

  let keys: ApiKey[] | null = null;
  async function draw(reload = false) {
    if (!keys || reload) keys = (await ctx.api.get<{ data: ApiKey[] }>('/api-keys')).data;
    const shown = keys
      .filter((k) => (show === 'active' ? !k.revokedAt : show === 'revoked' ? Boolean(k.revokedAt) : true))
      .filter(
        (k) => !search || (k.name ?? '').toLowerCase().includes(search) || k.prefix.toLowerCase().includes(search),
      );
    if (shown.length === 0) {
      listArea.replaceChildren(
        emptyState(
          search || show !== 'active' ? 'No keys match' : 'No active keys',
          'Create one above to use the API.',
        ),
      );
      return;
    }
    listArea.replaceChildren(
      table(
        'API keys',
        [
          { label: 'Name' },
          { label: 'Key' },
          { label: 'Created' },
          { label: 'Last used' },
          { label: 'Status' },
          { label: 'Actions' },
        ],
        shown.map((k) => [
          k.name ?? '(no name)',
          h('span', { class: 'mono' }, `${k.prefix}…`),
          formatDate(k.createdAt),
          k.lastUsedAt ? formatDate(k.lastUsedAt) : 'Never',
          k.revokedAt
            ? h('span', { class: 'badge badge-rejected' }, `Revoked ${formatDate(k.revokedAt)}`)
            : h('span', { class: 'badge badge-approved' }, 'Active'),
          ctx.canWrite() && !k.revokedAt ? revokeControl(ctx, k, slot, () => draw(true)) : null,
        ]),
      ),
    );
  }
  await draw();
};

/** The create form: a name; the answer's key is shown once in `slot`, with a Copy button. */
function createForm(ctx: ConsoleContext, slot: HTMLElement, redraw: () => Promise<void>): HTMLFormElement {
  const form = h(
    'form',
    { class: 'card stack', novalidate: true, 'aria-labelledby': 'new-key-h' },
    h('h2', { id: 'new-key-h' }, 'Create an API key'),
    field({
      label: 'Key name',
      name: 'name',
      required: true,
      maxlength: 100,
      hint: 'What uses it, e.g. "Zapier" or "billing sync".',
    }),
    h('div', { class: 'form-status', 'aria-live': 'polite' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { name } = formValues(form);
    if (!name) return showFormError(form, 'name: Give the key a name');
    try {
      const res = await busy(form, 'Creating…', () =>
        ctx.api.post<{ apiKey: ApiKey & { key: string } }>('/api-keys', { name }),
      );
      form.reset();
      await redraw();
      showNewKey(slot, res.apiKey, 'created');
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not create the key');
    }
  });
  return form;
}

/** A new key's secret in `slot`, once, with a Copy button. */
function showNewKey(slot: HTMLElement, key: ApiKey & { key: string }, verb: 'created' | 'rotated'): void {
  slot.replaceChildren(
    h(
      'div',
      { class: 'card stack', role: 'status' },
      h('p', null, h('strong', null, `Key “${key.name}” ${verb}.`), ' Copy it now: it is shown only once.'),
      copyField(`New API key ${key.name}`, key.key),
    ),
  );
}

/**
 * "Rotate" (a new key with the same name, the old one revoked at once: `POST /api-keys/:id/rotate`) and "Revoke",
 * then "Yes, revoke" / "Cancel" in its place: a revoked key cannot be brought back.
 */
function revokeControl(ctx: ConsoleContext, k: ApiKey, slot: HTMLElement, redraw: () => Promise<void>): HTMLElement {
  const label = k.name ?? k.prefix;
  const cell = h('div', { class: 'row-actions' });
  const ask = () => {
    const confirm: HTMLButtonElement = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-danger btn-small',
        onclick: () => act(confirm, slot, `Key “${label}” revoked`, () => ctx.api.delete(`/api-keys/${k.id}`), redraw),
      },
      `Yes, revoke ${label}`,
    );
    cell.replaceChildren(
      confirm,
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: initial }, 'Cancel'),
    );
    confirm.focus();
  };
  const rotate: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-secondary btn-small',
      'aria-label': `Rotate key ${label}`,
      onclick: async () => {
        rotate.disabled = true;
        try {
          const res = await ctx.api.post<{ apiKey: ApiKey & { key: string } }>(`/api-keys/${k.id}/rotate`, {});
          await redraw();
          showNewKey(slot, res.apiKey, 'rotated');
        } catch (err) {
          rotate.disabled = false;
          slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not rotate the key'));
        }
      },
    },
    'Rotate',
  );
  const initial = () => {
    cell.replaceChildren(
      rotate,
      h(
        'button',
        { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': `Revoke key ${label}`, onclick: ask },
        'Revoke',
      ),
    );
  };
  initial();
  return cell;
}
