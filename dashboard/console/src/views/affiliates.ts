/**
 * `/app/affiliates`: the program's affiliates with search (`?search=`), a status filter, a sort (`?sort=`,
 * `?order=`) and pages; approve, reject with a reason, suspend, edit name / e-mail / code
 * (`PATCH /api/v1/affiliates/:id`); invite a new affiliate; CSV export (`GET /affiliates/export`, same filters) and
 * import (`POST /affiliates/import`, one result per row). Each name opens `/app/affiliates/:id`. State lives in the
 * URL query.
 */
import { ApiError } from '../../../src/api.js';
import {
  badge,
  busy,
  copyField,
  emptyState,
  field,
  formValues,
  h,
  loading,
  notice,
  showFormError,
  table,
  uid,
} from '../../../src/dom.js';
import { formatDate } from '../../../src/format.js';
import type { ConsoleContext, ConsoleView } from '../context.js';
import { act, selectField, simplePager, exportCsvButton, searchToolbar } from './shared.js';

export interface Affiliate {
  id: string;
  code: string;
  email: string;
  name: string;
  status: 'pending' | 'approved' | 'rejected' | 'suspended';
  referralLink: string;
  hasPassword: boolean;
  rejectionReason: string | null;
  payoutMethod: 'paypal' | 'bank_transfer' | 'stripe_connect' | null;
  createdAt: string;
  application: { website: string | null; promotionMethod: string | null } | null;
}

interface ImportResult {
  created: number;
  skipped: number;
  errors: number;
  rows: Array<
    | { row: number; result: 'created'; affiliate: Affiliate }
    | { row: number; result: 'skipped' | 'error'; email: string; reason: string }
  >;
}

const LIMIT = 25;

/** The sort choices: `<sort>:<order>` as the select's value. */
const SORTS: [string, string][] = [
  ['created_at:desc', 'Newest first'],
  ['created_at:asc', 'Oldest first'],
  ['name:asc', 'Name A–Z'],
  ['name:desc', 'Name Z–A'],
  ['earnings:desc', 'Most earned'],
];

/** A form in a card, with a heading, a status area and Save / Cancel; `submit` runs with the form's values. */
function cardForm(
  slot: HTMLElement,
  title: string,
  fields: HTMLElement[],
  submitLabel: string,
  submit: (values: Record<string, string>, form: HTMLFormElement) => Promise<void>,
): HTMLFormElement {
  const form = h(
    'form',
    { class: 'card stack', novalidate: true, 'aria-label': title },
    h('h2', { tabindex: '-1' }, title),
    h('div', { class: 'grid-3' }, fields),
    h('div', { class: 'form-status', 'aria-live': 'polite' }),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel),
      h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => form.remove() }, 'Cancel'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await busy(form, 'Working…', () => submit(formValues(form), form));
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'That did not work; try again.');
    }
  });
  slot.replaceChildren(form);
  (form.querySelector('h2') as HTMLElement).focus();
  return form;
}

/**
 * The buttons for one affiliate (none for a viewer): approve, reject (asks for a reason), suspend, edit. Outcomes
 * and forms appear in `slot`; `redraw` runs after a change. Used by the list and the affiliate's page.
 */
export function affiliateActions(
  ctx: ConsoleContext,
  a: Affiliate,
  slot: HTMLElement,
  redraw: () => Promise<void>,
): HTMLElement | null {
  if (!ctx.canWrite()) return null;
  const button = (label: string, action: string, done: string, cls = 'btn-secondary') => {
    const b: HTMLButtonElement = h(
      'button',
      {
        type: 'button',
        class: `btn ${cls} btn-small`,
        'aria-label': `${label} ${a.name}`,
        onclick: () => act(b, slot, done, () => ctx.api.post(`/affiliates/${a.id}/${action}`, {}), redraw),
      },
      label,
    );
    return b;
  };
  const opener = (label: string, open: () => void) =>
    h(
      'button',
      { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': `${label} ${a.name}`, onclick: open },
      label,
    );
  const reject = () =>
    cardForm(
      slot,
      `Reject ${a.name}`,
      [
        field({
          label: 'Reason',
          name: 'reason',
          multiline: true,
          maxlength: 500,
          hint: 'Kept with the application and sent in the e-mail to the applicant.',
        }),
      ],
      'Reject',
      async (v, form) => {
        await ctx.api.post(`/affiliates/${a.id}/reject`, v.reason ? { reason: v.reason } : {});
        form.remove();
        await redraw();
        slot.replaceChildren(notice(`${a.name} rejected`));
      },
    );
  const edit = () =>
    cardForm(
      slot,
      `Edit ${a.name}`,
      [
        field({ label: 'Name', name: 'name', value: a.name, required: true }),
        field({ label: 'E-mail', name: 'email', type: 'email', value: a.email, required: true }),
        field({
          label: 'Code',
          name: 'code',
          value: a.code,
          required: true,
          hint: 'Changing it breaks links that use the old code.',
        }),
      ],
      'Save',
      async (v, form) => {
        const changed = Object.fromEntries(
          Object.entries(v).filter(([k, val]) => (a as unknown as Record<string, string>)[k] !== val),
        );
        if (Object.keys(changed).length) await ctx.api.patch(`/affiliates/${a.id}`, changed);
        form.remove();
        await redraw();
      },
    );
  return h(
    'div',
    { class: 'row' },
    a.status !== 'approved' ? button('Approve', 'approve', `${a.name} approved`, 'btn-primary') : null,
    a.status === 'pending' || a.status === 'rejected'
      ? opener(a.status === 'rejected' ? 'Change reason' : 'Reject', reject)
      : null,
    a.status === 'approved' ? button('Suspend', 'suspend', `${a.name} suspended`, 'btn-danger') : null,
    opener('Edit', edit),
  );
}

/** The status badge, with the rejection reason under it when there is one. */
export function statusCell(a: Affiliate): HTMLElement {
  return h(
    'div',
    null,
    badge(a.status),
    a.rejectionReason ? h('p', { class: 'hint' }, `Reason: ${a.rejectionReason}`) : null,
  );
}

export const affiliatesView: ConsoleView = async (ctx, root, params) => {
  const slot = h('div', { 'aria-live': 'polite' });
  const listArea = h('div', null, loading());
  const search = h('input', { id: uid('q'), type: 'search', name: 'search', value: params.search ?? '' });
  const sortValue = `${params.sort ?? 'created_at'}:${params.order ?? (params.sort === 'name' ? 'asc' : 'desc')}`;
  const state = {
    search: params.search ?? '',
    status: params.status ?? '',
    sort: SORTS.some(([v]) => v === sortValue) ? sortValue : 'created_at:desc',
    offset: Number(params.offset ?? 0) || 0,
  };
  const query = () => {
    const [sort, order] = state.sort.split(':') as [string, string];
    return {
      search: state.search || undefined,
      status: state.status || undefined,
      sort: state.sort === 'created_at:desc' ? undefined : sort,
      order: state.sort === 'created_at:desc' ? undefined : order,
    };
  };
  const go = () => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query())) if (v) q.set(k, v);
    if (state.offset) q.set('offset', String(state.offset));
    ctx.navigate(`/app/affiliates${q.size ? `?${q}` : ''}`);
  };
  const toolbar = searchToolbar(
    search,
    'Search name, e-mail or code',
    (text) => {
      state.search = text;
      state.offset = 0;
      go();
    },
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
    selectField('Sort', SORTS, state.sort, (v) => {
      state.sort = v;
      state.offset = 0;
      go();
    }),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Search'),
  );

  const exportButton = exportCsvButton(ctx, slot, '/affiliates/export', query, 'Affiliates CSV downloaded');

  const openInvite = () =>
    cardForm(
      slot,
      'Invite an affiliate',
      [
        field({ label: 'Name', name: 'name', required: true }),
        field({ label: 'E-mail', name: 'email', type: 'email', required: true }),
        field({ label: 'Code', name: 'code', hint: 'Generated from the name when empty.' }),
      ],
      'Invite',
      async (v) => {
        const res = await ctx.api.post<{ affiliate: Affiliate; setPasswordUrl?: string; emailSent?: boolean }>(
          '/affiliates',
          { ...v, status: 'approved' },
        );
        await draw();
        slot.replaceChildren(
          notice(
            `${res.affiliate.name} is approved${res.emailSent ? ' and was e-mailed a link to set a password' : ''}.`,
          ),
          res.setPasswordUrl ? copyField('One-time set-password link', res.setPasswordUrl) : h('span'),
        );
      },
    );

  const openImport = () => {
    const fileId = uid('file');
    const file = h('input', { id: fileId, type: 'file', name: 'file', accept: '.csv,text/csv', required: true });
    const form = cardForm(
      slot,
      'Import affiliates from CSV',
      [
        h(
          'div',
          { class: 'field' },
          h('label', { for: fileId }, 'CSV file'),
          file,
          h('p', { class: 'hint' }, 'First line: email,name,code (code optional). At most 5000 rows, 1 MB.'),
        ),
      ],
      'Import',
      async () => {
        const chosen = file.files?.[0];
        if (!chosen) {
          showFormError(form, 'Choose a CSV file first');
          return;
        }
        const result = await ctx.api.postText<ImportResult>('/affiliates/import', await chosen.text(), 'text/csv');
        await draw();
        const problems = result.rows.filter((r) => r.result !== 'created');
        slot.replaceChildren(
          notice(`Imported: ${result.created} created, ${result.skipped} skipped, ${result.errors} with errors.`),
          problems.length
            ? table(
                'Rows not imported',
                [{ label: 'Row', numeric: true }, { label: 'E-mail' }, { label: 'Result' }, { label: 'Why' }],
                problems.map((r) => [
                  String(r.row),
                  'email' in r ? r.email : '',
                  r.result,
                  'reason' in r ? r.reason.replace(/_/g, ' ') : '',
                ]),
              )
            : h('span'),
        );
      },
    );
  };

  root.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, 'Affiliates'),
      h(
        'div',
        { class: 'row' },
        ctx.canWrite()
          ? h('button', { type: 'button', class: 'btn btn-primary', onclick: openInvite }, 'Invite affiliate')
          : null,
        ctx.canWrite()
          ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: openImport }, 'Import CSV')
          : null,
        exportButton,
      ),
    ),
    toolbar,
    slot,
    listArea,
  );

  const draw = async () => {
    const { data } = await ctx.api.get<{ data: Affiliate[] }>('/affiliates', {
      ...query(),
      limit: LIMIT,
      offset: state.offset,
    });
    if (data.length === 0) {
      listArea.replaceChildren(
        emptyState(
          'No affiliates',
          state.search || state.status
            ? 'Nothing matches these filters.'
            : 'Affiliates appear here when they apply, or when you invite or import them.',
        ),
      );
      return;
    }
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
          h('a', { href: `/app/affiliates/${encodeURIComponent(a.id)}`, 'data-link': '' }, a.name),
          a.email,
          h('span', { class: 'mono' }, a.code),
          statusCell(a),
          formatDate(a.createdAt),
          affiliateActions(ctx, a, slot, draw),
        ]),
      ),
      simplePager(data.length, LIMIT, state.offset, (o) => {
        state.offset = o;
        go();
      }),
    );
  };

  await draw();
};
