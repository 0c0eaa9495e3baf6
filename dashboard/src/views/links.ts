/** Links: the default referral link, tracking links with per-link clicks and conversions, and a form to add one. */
import { ApiError } from '../api.js';
import type { AppContext } from '../context.js';
import {
  busy,
  copyField,
  copyText,
  emptyState,
  errorBox,
  field,
  formValues,
  h,
  loading,
  notice,
  showFormError,
  table,
} from '../dom.js';
import { formatCount, formatDate } from '../format.js';
import type { Link, Links, Me } from '../types.js';

function copyLinkButton(url: string): HTMLElement {
  const status = h('span', { class: 'visually-hidden', role: 'status' });
  return h(
    'span',
    { class: 'inline-copy' },
    h('a', { href: url, rel: 'noopener', target: '_blank', class: 'mono' }, url.replace(/^https?:\/\//, '')),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-small btn-secondary',
        'aria-label': `Copy ${url}`,
        onclick: async () => {
          status.textContent = (await copyText(url)) ? 'Copied' : 'Copy failed';
        },
      },
      'Copy',
    ),
    status,
  );
}

/** The links table, or its empty state (no network). */
export function renderLinksTable(links: Link[]): HTMLElement {
  if (links.length === 0) {
    return emptyState(
      'No tracking links yet',
      'Create one per channel or campaign (newsletter, YouTube, a blog post…) to see which one brings sales.',
    );
  }
  return table(
    'Your tracking links',
    [
      { label: 'Link' },
      { label: 'Goes to', className: 'hide-sm' },
      { label: 'Campaign' },
      { label: 'Clicks', numeric: true },
      { label: 'Conversions', numeric: true },
      { label: 'Created', className: 'hide-sm' },
    ],
    links.map((l) => [
      copyLinkButton(l.url),
      h('span', { class: 'truncate', title: l.destinationUrl }, l.destinationUrl.replace(/^https?:\/\//, '')),
      l.campaign ?? '—',
      formatCount(l.clicks),
      formatCount(l.conversions),
      formatDate(l.createdAt),
    ]),
  );
}

export function renderCreateLinkForm(
  me: Me,
  onCreated: (link: Link) => void,
  create: (body: Record<string, string>) => Promise<Link>,
): HTMLFormElement {
  const host = new URL(me.program.website).hostname;
  const form = h(
    'form',
    { class: 'stack', novalidate: true, 'aria-labelledby': 'new-link-title' },
    h('h2', { id: 'new-link-title' }, 'Create a tracking link'),
    h('div', { class: 'form-status' }),
    h(
      'div',
      { class: 'grid-3' },
      field({
        label: 'Slug',
        name: 'slug',
        placeholder: 'spring-sale',
        maxlength: 64,
        hint: `Your link becomes ${me.linkBase}<slug>; leave empty for a random one.`,
      }),
      field({
        label: 'Destination',
        name: 'destinationUrl',
        type: 'url',
        placeholder: me.program.website,
        hint: `A page on ${host}. Default: the home page.`,
      }),
      field({
        label: 'Campaign / sub-ID',
        name: 'campaign',
        maxlength: 100,
        placeholder: 'newsletter-may',
        hint: 'Shows up in your reports.',
      }),
    ),
    h('div', null, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create link')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = formValues(form);
    if (v.slug && !/^[A-Za-z0-9_-]{1,64}$/.test(v.slug))
      return showFormError(form, 'slug: Use letters, digits, - and _ only');
    try {
      const link = await busy(form, 'Creating…', () => create(v));
      form.reset();
      form.querySelector('.form-status')!.replaceChildren(notice(`Created ${link.url}`));
      onCreated(link);
    } catch (err) {
      showFormError(form, err instanceof ApiError ? err.message : 'Could not create the link.');
    }
  });
  return form;
}

export async function linksView(ctx: AppContext, root: HTMLElement): Promise<void> {
  const me = ctx.me!;
  const body = h('div', null, loading('Loading your links…'));
  root.replaceChildren(
    h('div', { class: 'stack' }, h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Links')), body),
  );
  let data: Links;
  try {
    data = await ctx.api.get<Links>('/links');
  } catch (err) {
    body.replaceChildren(errorBox(err instanceof ApiError ? err.message : 'Could not load your links.'));
    return;
  }
  const list = h('div', null, renderLinksTable(data.links));
  const form = renderCreateLinkForm(
    me,
    (link) => {
      data.links.unshift(link);
      list.replaceChildren(renderLinksTable(data.links));
    },
    async (v) => (await ctx.api.post<{ link: Link }>('/links', v)).link,
  );
  body.replaceChildren(
    h(
      'div',
      { class: 'stack' },
      h(
        'section',
        { class: 'card' },
        copyField('Default referral link', data.defaultLink.url),
        h(
          'p',
          { class: 'muted small' },
          `${formatCount(data.defaultLink.clicks)} clicks · ${formatCount(data.defaultLink.conversions)} conversions through this link.`,
        ),
      ),
      h('section', { class: 'card' }, form),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'links-title' },
        h('h2', { id: 'links-title' }, 'Your tracking links'),
        list,
      ),
    ),
  );
}
