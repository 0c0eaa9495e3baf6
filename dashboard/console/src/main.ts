/**
 * The merchant console at `/app/`: the program owner runs the affiliate program from here, on the same admin API
 * the API key reaches (`/api/v1/...`, authenticated by the console session cookie + `X-CSRF-Token`) and the
 * console-only API (`/api/v1/console/...`). Plain TypeScript over the partner dashboard's DOM helpers, formatting
 * and chart (`dashboard/src/`). Public pages: setup (first run, `?token=`), log in, accept an invitation
 * (`#invite=<token>`, a fragment that never reaches the server's logs).
 */
import { ApiError, createApi } from '../../src/api.js';
import { errorBox, h } from '../../src/dom.js';
import type { ConsoleContext, ConsoleMe, ConsoleView } from './context.js';
import { inviteView, loginView, setupView } from './views/auth.js';
import { onboardingView } from './views/onboarding.js';
import { overviewView } from './views/overview.js';
import { affiliatesView } from './views/affiliates.js';
import { commissionsView } from './views/commissions.js';
import { commissionDetailView } from './views/commission-detail.js';
import { payoutsView } from './views/payouts.js';
import { settingsView } from './views/settings.js';
import { teamView } from './views/team.js';
import { rulesView } from './views/rules.js';

interface Route {
  path: string;
  view: ConsoleView;
  title: string;
  auth: boolean;
  nav?: string;
  /** A path with `:name` segments (`/app/commissions/:id`), matched instead of `path`; the segments become params. */
  pattern?: string;
}

const ROUTES: Route[] = [
  { path: '/app/', view: overviewView, title: 'Overview', auth: true, nav: 'Overview' },
  { path: '/app/onboarding', view: onboardingView, title: 'Get started', auth: true, nav: 'Get started' },
  { path: '/app/affiliates', view: affiliatesView, title: 'Affiliates', auth: true, nav: 'Affiliates' },
  { path: '/app/commissions', view: commissionsView, title: 'Commissions', auth: true, nav: 'Commissions' },
  { path: '/app/payouts', view: payoutsView, title: 'Payouts', auth: true, nav: 'Payouts' },
  { path: '/app/rules', view: rulesView, title: 'Commission rules', auth: true, nav: 'Rules' },
  { path: '/app/settings', view: settingsView, title: 'Settings', auth: true, nav: 'Settings' },
  { path: '/app/team', view: teamView, title: 'Team', auth: true, nav: 'Team' },
  { path: '/app/login', view: loginView, title: 'Log in', auth: false },
  { path: '/app/setup', view: setupView, title: 'Set up partnerkit', auth: false },
  {
    path: '/app/commissions',
    pattern: '/app/commissions/:id',
    view: commissionDetailView,
    title: 'Commission',
    auth: true,
  },
];

/** The `:name` segments of `path` when it matches `pattern` (same number of segments), else null. */
function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (!want[i]!.startsWith(':')) {
      if (want[i] !== got[i]) return null;
      continue;
    }
    try {
      params[want[i]!.slice(1)] = decodeURIComponent(got[i]!);
    } catch {
      return null;
    }
    if (!params[want[i]!.slice(1)]) return null;
  }
  return params;
}

const PROGRAM_KEY = 'pk_console_program';

export function startConsole(root: HTMLElement): ConsoleContext {
  let checked = false;
  let inviteToken = readInvite();
  const ctx: ConsoleContext = {
    api: createApi(
      undefined,
      '/api/v1',
      (): Record<string, string> => (ctx.program ? { 'x-partnerkit-program': ctx.program.id } : {}),
    ),
    me: null,
    program: null,
    navigate(path, opts = {}) {
      if (opts.replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
      void render();
    },
    async refreshMe() {
      try {
        const me = await ctx.api.get<ConsoleMe>('/console/me');
        ctx.me = me;
        ctx.api.setCsrf(me.csrfToken);
        const saved = sessionStorage.getItem(PROGRAM_KEY);
        ctx.program = me.programs.find((p) => p.id === saved) ?? me.programs[0] ?? null;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) throw err;
        ctx.me = null;
        ctx.program = null;
        ctx.api.setCsrf(null);
      }
      checked = true;
      return ctx.me;
    },
    canWrite: () => ctx.program !== null && ctx.program.role !== 'viewer',
  };
  ctx.api.onUnauthorized = () => {
    if (!ctx.me) return;
    ctx.me = null;
    ctx.navigate('/app/login', { replace: true });
  };

  function readInvite(): string | null {
    const m = /^#invite=([A-Za-z0-9_-]{10,200})$/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, '', location.pathname + location.search);
    return m[1]!;
  }

  async function logout() {
    try {
      await ctx.api.post('/console/logout', {});
    } catch {
      // Already logged out.
    }
    ctx.me = null;
    ctx.program = null;
    ctx.api.setCsrf(null);
    ctx.navigate('/app/login', { replace: true });
  }

  function shell(active: Route, main: HTMLElement): HTMLElement {
    const me = ctx.me!;
    const programPicker =
      me.programs.length > 1
        ? h(
            'label',
            { class: 'program-picker' },
            h('span', { class: 'visually-hidden' }, 'Program'),
            h(
              'select',
              {
                onchange: (e: Event) => {
                  const id = (e.target as HTMLSelectElement).value;
                  ctx.program = me.programs.find((p) => p.id === id) ?? ctx.program;
                  sessionStorage.setItem(PROGRAM_KEY, id);
                  void render();
                },
              },
              me.programs.map((p) => h('option', { value: p.id, selected: p.id === ctx.program?.id }, p.name)),
            ),
          )
        : null;
    return h(
      'div',
      { class: 'layout' },
      h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
      h(
        'header',
        { class: 'topbar' },
        h(
          'a',
          { class: 'brand', href: '/app/', 'data-link': '' },
          h(
            'span',
            { class: 'brand-mark', 'aria-hidden': 'true' },
            (ctx.program?.name ?? 'P').slice(0, 1).toUpperCase(),
          ),
          h('span', null, ctx.program?.name ?? 'partnerkit', h('span', { class: 'brand-sub' }, ' Console')),
        ),
        h(
          'div',
          { class: 'topbar-right' },
          programPicker,
          ctx.program?.role === 'viewer' ? h('span', { class: 'badge badge-pending' }, 'Viewer') : null,
          h('span', { class: 'who hide-sm' }, me.user.email),
          h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: logout }, 'Log out'),
        ),
      ),
      h(
        'nav',
        { class: 'nav', 'aria-label': 'Console' },
        h(
          'ul',
          null,
          ROUTES.filter((r) => r.nav).map((r) =>
            h(
              'li',
              null,
              h('a', { href: r.path, 'data-link': '', 'aria-current': r === active ? 'page' : undefined }, r.nav!),
            ),
          ),
        ),
      ),
      h('main', { id: 'main', class: 'main', tabindex: '-1' }, main),
    );
  }

  const publicLayout = (main: HTMLElement) =>
    h('div', { class: 'public' }, h('main', { id: 'main', class: 'main-public', tabindex: '-1' }, main));

  async function render(): Promise<void> {
    const path = location.pathname.replace(/\/+$/, '') || '/app';
    const params = Object.fromEntries(new URLSearchParams(location.search));
    const content = h('div', { class: 'content' });
    try {
      if (inviteToken) {
        const token = inviteToken;
        inviteToken = null;
        document.title = 'Join the program · Console';
        root.replaceChildren(publicLayout(content));
        await inviteView(ctx, content, { token });
        return;
      }
      let pathParams: Record<string, string> = {};
      const route = ROUTES.find((r) => {
        if (!r.pattern) return r.path.replace(/\/$/, '') === path;
        pathParams = matchPattern(r.pattern, path) ?? {};
        return Object.keys(pathParams).length > 0;
      });
      if (!route) {
        root.replaceChildren(publicLayout(content));
        content.replaceChildren(
          h(
            'section',
            { class: 'auth-card' },
            h('h1', { tabindex: '-1' }, 'Page not found'),
            h('p', null, h('a', { href: '/app/', 'data-link': '' }, 'Go to the console')),
          ),
        );
        return;
      }
      if (!checked) await ctx.refreshMe();
      if (route.auth && !ctx.me) {
        ctx.navigate('/app/login', { replace: true });
        return;
      }
      if (route.view === loginView && ctx.me) {
        ctx.navigate('/app/', { replace: true });
        return;
      }
      document.title = `${route.title} · ${ctx.program?.name ?? 'partnerkit'} console`;
      root.replaceChildren(route.auth ? shell(route, content) : publicLayout(content));
      const work = route.view(ctx, content, { ...params, ...pathParams });
      const focusHeading = () => (root.querySelector('h1') as HTMLElement | null)?.focus();
      focusHeading();
      await work;
      // A view that redrew its heading once its data came lost the focus with the old one: give it back.
      if (!document.activeElement || document.activeElement === document.body) focusHeading();
    } catch (err) {
      content.replaceChildren(
        errorBox(err instanceof ApiError ? err.message : 'Something went wrong. Reload the page to try again.'),
      );
      if (!content.isConnected) root.replaceChildren(publicLayout(content));
    }
  }

  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    ctx.navigate(a.getAttribute('href')!);
  });
  window.addEventListener('popstate', () => void render());
  window.addEventListener('hashchange', () => {
    inviteToken = readInvite();
    if (inviteToken) void render();
  });
  void render();
  return ctx;
}

const root = typeof document !== 'undefined' ? document.getElementById('app') : null;
if (root) startConsole(root);
