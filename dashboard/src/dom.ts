/**
 * Tiny DOM helpers. Every piece of data goes in as a text node or a property, never as HTML, so nothing an
 * affiliate, a customer or a merchant typed can run as markup (no innerHTML anywhere in the dashboard).
 */

type Child = Node | string | number | null | undefined | false | Child[];
type Props = Record<string, unknown> & { class?: string; style?: string };

/**
 * Create an element: `h('a', { href: '/x', class: 'btn', onclick: fn }, 'text', child)`.
 * Props starting with `on` become listeners; `class`, `for`, `aria-*`, `data-*`, `role` and other strings become
 * attributes; `true` booleans become empty attributes; `false`/null/undefined are skipped.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value as EventListener);
      } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') {
        (el as unknown as Record<string, unknown>)[key] = value;
        if (key !== 'value' && value === true) el.setAttribute(key, '');
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = 'pk'): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A loading placeholder announced to screen readers. */
export function loading(label = 'Loading…'): HTMLElement {
  return h(
    'div',
    { class: 'loading', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    label,
  );
}

/** An empty state: a title, a sentence and an optional action. */
export function emptyState(title: string, text: string, action?: Node): HTMLElement {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), h('p', null, text), action ?? null);
}

/** An error box (role=alert, so it is read out when it appears). */
export function errorBox(message: string): HTMLElement {
  return h('div', { class: 'alert alert-error', role: 'alert' }, message);
}

export function notice(message: string): HTMLElement {
  return h('div', { class: 'alert alert-ok', role: 'status' }, message);
}

/** A labelled form field; `hint` and errors are wired with aria-describedby. */
export function field(opts: {
  label: string;
  name: string;
  type?: string;
  value?: string;
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
  hint?: string;
  multiline?: boolean;
  minlength?: number;
  maxlength?: number;
  inputmode?: string;
}): HTMLElement {
  const id = uid('f');
  const hintId = opts.hint ? `${id}-hint` : undefined;
  const common = {
    id,
    name: opts.name,
    required: opts.required,
    autocomplete: opts.autocomplete,
    placeholder: opts.placeholder,
    minlength: opts.minlength,
    maxlength: opts.maxlength,
    inputmode: opts.inputmode,
    'aria-describedby': hintId,
    value: opts.value,
  };
  const control = opts.multiline
    ? h('textarea', { ...common, rows: 4 })
    : h('input', { ...common, type: opts.type ?? 'text' });
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, opts.label, opts.required ? null : h('span', { class: 'optional' }, ' (optional)')),
    control,
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
  );
}

/** The form's values by input name (trimmed strings; empty ones left out). */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const el of Array.from(form.elements) as HTMLInputElement[]) {
    if (!el.name || el.disabled) continue;
    if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) continue;
    const v = el.type === 'password' ? el.value : el.value.trim();
    if (v !== '') out[el.name] = v;
  }
  return out;
}

/**
 * Show a server error on a form: the message in the form's alert area, and when the message names a field
 * (`email: Invalid email address`), that field is marked invalid and focused.
 */
export function showFormError(form: HTMLFormElement, message: string): void {
  const slot = form.querySelector('.form-status');
  slot?.replaceChildren(errorBox(message));
  for (const el of Array.from(form.querySelectorAll('[aria-invalid]'))) el.removeAttribute('aria-invalid');
  const name = /^([A-Za-z.]+):/.exec(message)?.[1]?.split('.').pop();
  const target = name ? (form.querySelector(`[name="${name}"]`) as HTMLElement | null) : null;
  if (target) {
    target.setAttribute('aria-invalid', 'true');
    target.focus();
  }
}

/** Disable a form's submit button while `work` runs, with a busy label. */
export async function busy<T>(form: HTMLFormElement, label: string, work: () => Promise<T>): Promise<T> {
  const button = form.querySelector('button[type="submit"]') as HTMLButtonElement | null;
  const original = button?.textContent ?? '';
  if (button) {
    button.disabled = true;
    button.textContent = label;
  }
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    form.removeAttribute('aria-busy');
    if (button) {
      button.disabled = false;
      button.textContent = original;
    }
  }
}

/** Copy text to the clipboard; falls back to selecting a hidden textarea where the API is unavailable. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

/** A read-only link field with a Copy button that announces the result. */
export function copyField(label: string, value: string): HTMLElement {
  const id = uid('copy');
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const input = h('input', {
    id,
    type: 'text',
    readonly: true,
    value,
    class: 'copy-input',
    onfocus: (e: Event) => (e.target as HTMLInputElement).select(),
  });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-secondary',
      'aria-describedby': id,
      onclick: async () => {
        const ok = await copyText(value);
        status.textContent = ok ? 'Copied!' : 'Press Ctrl+C to copy';
        if (!ok) input.select();
        setTimeout(() => (status.textContent = ''), 2500);
      },
    },
    'Copy',
  );
  return h(
    'div',
    { class: 'copy' },
    h('label', { for: id, class: 'copy-label' }, label),
    h('div', { class: 'copy-row' }, input, button),
    status,
  );
}

/** A table inside a scrollable region; `columns` name the header cells, rows are arrays of cells. */
export function table(
  caption: string,
  columns: { label: string; numeric?: boolean; className?: string }[],
  rows: Child[][],
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) =>
            h(
              'th',
              { scope: 'col', class: [c.numeric ? 'num' : '', c.className ?? ''].join(' ').trim() || undefined },
              c.label,
            ),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            null,
            r.map((cell, i) =>
              h(
                'td',
                {
                  class: [columns[i]?.numeric ? 'num' : '', columns[i]?.className ?? ''].join(' ').trim() || undefined,
                  'data-label': columns[i]?.label,
                },
                cell,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A status badge, e.g. `approved`, `on_hold` → "On hold". */
export function badge(status: string): HTMLElement {
  const label = status.replace(/_/g, ' ');
  return h('span', { class: `badge badge-${status}` }, label.charAt(0).toUpperCase() + label.slice(1));
}

/** Previous / next buttons for an offset-paged list. */
export function pager(total: number, limit: number, offset: number, go: (offset: number) => void): HTMLElement | null {
  if (total <= limit) return null;
  const from = Math.min(total, offset + 1);
  const to = Math.min(total, offset + limit);
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
      '← Newer',
    ),
    h('span', null, `${from}–${to} of ${total}`),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-secondary',
        disabled: offset + limit >= total,
        onclick: () => go(offset + limit),
      },
      'Older →',
    ),
  );
}
