/**
 * Pieces the console's list pages share: a toolbar select, a next/previous pager for lists without a total, an
 * action button's outcome, and the affiliates' names for a page of rows.
 */
import { ApiError } from '../../../src/api.js';
import { errorBox, h, notice, uid } from '../../../src/dom.js';
import type { ConsoleContext } from '../context.js';

/** A labelled select; `onChange` gets the chosen value ('' = all). */
export function selectField(label: string, options: [string, string][], value: string, onChange: (v: string) => void) {
  const id = uid('sel');
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) },
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
    ),
  );
}

/** Previous / next for an offset list that answers at most `limit` rows (no total); an empty span for one page. */
export function simplePager(count: number, limit: number, offset: number, go: (offset: number) => void) {
  if (offset === 0 && count < limit) return h('span');
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-secondary',
        disabled: offset === 0,
        onclick: () => go(Math.max(0, offset - limit)),
      },
      '← Previous',
    ),
    h('span', null, `${offset + 1}–${offset + count}`),
    h(
      'button',
      { type: 'button', class: 'btn btn-secondary', disabled: count < limit, onclick: () => go(offset + limit) },
      'Next →',
    ),
  );
}

/** Run an action from a button: disable it meanwhile, then show the outcome in `slot` and redraw. */
export async function act(
  button: HTMLButtonElement,
  slot: HTMLElement,
  done: string,
  work: () => Promise<unknown>,
  redraw: () => Promise<void>,
) {
  button.disabled = true;
  try {
    await work();
    await redraw();
    slot.replaceChildren(notice(done));
  } catch (err) {
    button.disabled = false;
    slot.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'That did not work; try again.'));
  }
}

export interface AffiliateName {
  id: string;
  name: string | null;
  email: string;
}

/** Names of the affiliates a page shows, by id (one `GET /affiliates?ids=` request for up to 100 ids). */
export async function affiliateNames(ctx: ConsoleContext, ids: string[]): Promise<Map<string, AffiliateName>> {
  const unique = [...new Set(ids)].slice(0, 100);
  if (!unique.length) return new Map();
  const r = await ctx.api.get<{ data: AffiliateName[] }>('/affiliates', { ids: unique.join(','), limit: 100 });
  return new Map(r.data.map((a) => [a.id, a]));
}

/** The affiliate cell: a link to its page with its name (or e-mail), the id when it is not known. */
export function affiliateCell(names: Map<string, AffiliateName>, id: string) {
  const a = names.get(id);
  return h('a', { href: `/app/affiliates/${id}`, 'data-link': '' }, a ? a.name || a.email : id);
}

/**
 * A list's search toolbar (`role="search"`): the labelled search box first, then `controls` (filters, sort, the
 * submit button); submitting calls `onSearch` with the trimmed text.
 */
export function searchToolbar(
  search: HTMLInputElement,
  label: string,
  onSearch: (text: string) => void,
  ...controls: (Node | null)[]
): HTMLFormElement {
  return h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        onSearch(search.value.trim());
      },
    },
    h('div', { class: 'field' }, h('label', { for: search.id }, label), search),
    ...controls,
  );
}

/** "Export CSV": downloads `path` with the list's current `query()` (`Api.download`), the outcome in `slot`. */
export function exportCsvButton(
  ctx: ConsoleContext,
  slot: HTMLElement,
  path: string,
  query: () => Record<string, string | undefined>,
  done: string,
): HTMLButtonElement {
  const button: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-secondary',
      onclick: async () => {
        button.disabled = true;
        try {
          await ctx.api.download(path, query());
          slot.replaceChildren(notice(done));
        } catch (err) {
          slot.replaceChildren(
            errorBox(err instanceof ApiError ? err.message : 'The download did not work; try again.'),
          );
        } finally {
          button.disabled = false;
        }
      },
    },
    'Export CSV',
  );
  return button;
}
