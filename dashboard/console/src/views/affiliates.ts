/**
 * `/app/affiliates`: the program's affiliates with search (`?search=`), a status filter and pages; approve, reject,
 * suspend, and edit name / e-mail / code (`PATCH /api/v1/affiliates/:id`). State lives in the URL query.
 */
import { ApiError } from '../../../src/api.js';
import { badge, busy, emptyState, field, formValues, h, loading, showFormError, table, uid } from '../../../src/dom.js';
import { formatDate } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import { act, selectField, simplePager } from './shared.js';

interface Affiliate {
  id: string;
  code: string;
  email: string;
  name: string;
  status: 'pending' | 'approved' | 'rejected' | 'suspended';
  createdAt: string;
  application: { website: string | null; promotionMethod: string | null } | null;
}

const LIMIT = 25;

export const affiliatesView: ConsoleView = async (ctx, root, params) => {
  const slot = h('div', { 'aria-live': 'polite' });
  const listArea = h('div', null, loading());
  const search = h('input', { id: uid('q'), type: 'search', name: 'search', value: params.search ?? '' });
  const state = { search: params.search ?? '', status: params.status ?? '', offset: Number(params.offset ?? 0) || 0 };
  const go = () => {
    const q = new URLSearchParams();
    if (state.search) q.set('search', state.search);
    if (state.status) q.set('status', state.status);
    if (state.offset) q.set('offset', String(state.offset));
    ctx.navigate(`/app/affiliates${q.size ? `?${q}` : ''}`);
  };
  const toolbar = h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        state.search = search.value.trim();
        state.offset = 0;
        go();
      },
    },
    h('div', { class: 'field' }, h('label', { for: search.id }, 'Search name, e-mail or code'), search),
    selectField(
      'Status',
      [
        ['', 'All'],
        ['pending', 'Pending'],
        ['approved', 'Approved'],
        ['rejected', 'Rejected'],
        ['suspended', 'Suspended'],
      ],
      state.status,
      (v) => {
        state.status = v;
        state.offset = 0;
        go();
      },
    ),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search'),
  );
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Affiliates')),
    toolbar,
    slot,
    listArea,
  );

  const draw = async () => {
    const { data } = await ctx.api.get<{ data: Affiliate[] }>('/affiliates', {
      search: state.search || undefined,
      status: state.status || undefined,
      limit: LIMIT,
      offset: state.offset,
    });
    if (data.length === 0) {
      listArea.replaceChildren(
        emptyState(
          'No affiliates',
          state.search || state.status
            ? 'Nothing matches these filters.'
            : 'Affiliates appear here when they apply or you add them.',
        ),
      );
      return;
    }
    const actions = (a: Affiliate) => {
      if (!ctx.canWrite()) return null;
      const button = (label: string, action: string, done: string, cls = 'btn-secondary') => {
        const b: HTMLButtonElement = h(
          'button',
          {
            type: 'button',
            class: `btn ${cls} btn-small`,
            'aria-label': `${label} ${a.name}`,
            onclick: () => act(b, slot, done, () => ctx.api.post(`/affiliates/${a.id}/${action}`, {}), draw),
          },
          label,
        );
        return b;
      };
      const edit = h(
        'button',
        {
          type: 'button',
          class: 'btn btn-secondary btn-small',
          'aria-label': `Edit ${a.name}`,
          onclick: () => openEditor(a),
        },
        'Edit',
      );
      return h(
        'div',
        { class: 'row' },
        a.status === 'pending' || a.status === 'rejected' || a.status === 'suspended'
          ? button('Approve', 'approve', `${a.name} approved`, 'btn-primary')
          : null,
        a.status === 'pending' ? button('Reject', 'reject', `${a.name} rejected`) : null,
        a.status === 'approved' ? button('Suspend', 'suspend', `${a.name} suspended`, 'btn-danger') : null,
        edit,
      );
    };
    listArea.replaceChildren(
      table(
        'Affiliates',
        [
          { label: 'Name' },
          { label: 'E-mail' },
          { label: 'Code' },
          { label: 'Status' },
          { label: 'Joined' },
          { label: 'Actions' },
        ],
        data.map((a) => [
          a.name,
          a.email,
          h('span', { class: 'mono' }, a.code),
          badge(a.status),
          formatDate(a.createdAt),
          actions(a),
        ]),
      ),
      simplePager(data.length, LIMIT, state.offset, (o) => {
        state.offset = o;
        go();
      }),
    );
  };

  const openEditor = (a: Affiliate) => {
    const form = h(
      'form',
      { class: 'card stack', novalidate: true, 'aria-label': `Edit ${a.name}` },
      h('h2', { tabindex: '-1' }, `Edit ${a.name}`),
      h(
        'div',
        { class: 'grid-3' },
        field({ label: 'Name', name: 'name', value: a.name, required: true }),
        field({ label: 'E-mail', name: 'email', type: 'email', value: a.email, required: true }),
        field({
          label: 'Code',
          name: 'code',
          value: a.code,
          required: true,
          hint: 'Changing it breaks links that use the old code.',
        }),
      ),
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save'),
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => form.remove() }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = formValues(form);
      const changed = Object.fromEntries(
        Object.entries(v).filter(([k, val]) => (a as unknown as Record<string, string>)[k] !== val),
      );
      try {
        if (Object.keys(changed).length)
          await busy(form, 'Saving…', () => ctx.api.patch(`/affiliates/${a.id}`, changed));
        form.remove();
        await draw();
      } catch (err) {
        showFormError(form, err instanceof ApiError ? err.message : 'Could not save');
      }
    });
    slot.replaceChildren(form);
    (form.querySelector('h2') as HTMLElement).focus();
  };

  await draw();
};
