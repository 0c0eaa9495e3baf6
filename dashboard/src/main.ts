/**
 * The partner dashboard: one page under `/partner/`, plain TypeScript and small DOM helpers, routed with the
 * History API. Public pages: log in, forgot password, set a password (`#set-password=<token>` or
 * `#reset-password=<token>` in the URL fragment, which never reaches the server's logs), and
 * `/partner/<program>/apply`. Everything else needs a session.
 */
import { ApiError, createApi } from './api.js';
import type { AppContext, View } from './context.js';
import { errorBox, h } from './dom.js';
import { applyBranding, brandMark } from './branding.js';
import type { Me } from './types.js';
import { applyView, forgotView, loginView, setPasswordView } from './views/auth.js';
import { overviewView } from './views/overview.js';
import { linksView } from './views/links.js';
import { commissionsView, referralsView } from './views/referrals.js';
import { payoutsView } from './views/payouts.js';
import { accountView } from './views/account.js';

interface Route {
  pattern: RegExp;
  view: View;
  title: string;
  /** Needs a logged-in partner. */
  auth: boolean;
  /** Label in the navigation, when listed there. */
  nav?: string;
  /** Names of the pattern's capture groups. */
  keys?: string[];
}

const ROUTES: Route[] = [
  { pattern: /^\/partner\/?$/, view: overviewView, title: 'Overview', auth: true, nav: 'Overview' },
  { pattern: /^\/partner\/links\/?$/, view: linksView, title: 'Links', auth: true, nav: 'Links' },
  { pattern: /^\/partner\/referrals\/?$/, view: referralsView, title: 'Referrals', auth: true, nav: 'Referrals' },
  {
    pattern: /^\/partner\/commissions\/?$/,
    view: commissionsView,
    title: 'Commissions',
    auth: true,
    nav: 'Commissions',
  },
  { pattern: /^\/partner\/payouts\/?$/, view: payoutsView, title: 'Payouts', auth: true, nav: 'Payouts' },
  { pattern: /^\/partner\/account\/?$/, view: accountView, title: 'Account', auth: true, nav: 'Account' },
  { pattern: /^\/partner\/login\/?$/, view: loginView, title: 'Log in', auth: false },
  { pattern: /^\/partner\/forgot\/?$/, view: forgotView, title: 'Reset your password', auth: false },
  {
    pattern: /^\/partner\/([A-Za-z0-9_-]{1,100})\/apply\/?$/,
    view: applyView,
    title: 'Apply',
    auth: false,
    keys: ['program'],
  },
];

const NAV_PATHS: Record<string, string> = {
  Overview: '/partner/',
  Links: '/partner/links',
  Referrals: '/partner/referrals',
  Commissions: '/partner/commissions',
  Payouts: '/partner/payouts',
  Account: '/partner/account',
};

export function startApp(root: HTMLElement): AppContext {
  const api = createApi();
  let me: Me | null = null;
  let checkedSession = false;
  let firstRender = true;
  let pendingToken = readTokenFromFragment();

  const ctx: AppContext = {
    api,
    get me() {
      return me;
    },
    set me(value) {
      me = value;
    },
    navigate(path, opts = {}) {
      pendingToken = null;
      if (opts.replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
      void render();
    },
    async refreshMe() {
      try {
        me = await api.get<Me>('/me');
        api.setCsrf(me.csrfToken);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) throw err;
        me = null;
        api.setCsrf(null);
      }
      checkedSession = true;
      return me;
    },
  };
  // A request answered 401 mid-session (expired, logged out elsewhere): back to the login page.
  api.onUnauthorized = () => {
    if (!me) return;
    me = null;
    api.setCsrf(null);
    const next = location.pathname;
    ctx.navigate(`/partner/login?reason=expired&next=${encodeURIComponent(next)}`, { replace: true });
  };

  function readTokenFromFragment(): { token: string; purpose: 'set' | 'reset' } | null {
    const m = /^#(set|reset)-password=([A-Za-z0-9_-]{10,200})$/.exec(location.hash);
    if (!m) return null;
    // Drop the one-time token from the address bar and history (it must not linger or be bookmarked).
    history.replaceState(null, '', location.pathname + location.search);
    return { token: m[2]!, purpose: m[1] as 'set' | 'reset' };
  }

  async function logout() {
    try {
      await api.post('/logout', {});
    } catch {
      // Already logged out: nothing to end.
    }
    me = null;
    api.setCsrf(null);
    ctx.navigate('/partner/login', { replace: true });
  }

  function shell(active: Route, main: HTMLElement): HTMLElement {
    const program = me!.program;
    const nav = h(
      'nav',
      { class: 'nav', 'aria-label': 'Dashboard' },
      h(
        'ul',
        null,
        ROUTES.filter((r) => r.nav).map((r) =>
          h(
            'li',
            null,
            h(
              'a',
              { href: NAV_PATHS[r.nav!], 'data-link': '', 'aria-current': r === active ? 'page' : undefined },
              r.nav!,
            ),
          ),
        ),
      ),
    );
    return h(
      'div',
      { class: 'layout' },
      h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
      h(
        'header',
        { class: program.branding.accentColor ? 'topbar topbar-branded' : 'topbar' },
        h(
          'a',
          { class: 'brand', href: '/partner/', 'data-link': '' },
          brandMark(program),
          // With a logo, its alt text already says the name.
          h(
            'span',
            null,
            program.branding.logoUrl ? null : program.name,
            h('span', { class: 'brand-sub' }, ' Partners'),
          ),
        ),
        h(
          'div',
          { class: 'topbar-right' },
          h('span', { class: 'who hide-sm' }, me!.affiliate.email),
          h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: logout }, 'Log out'),
        ),
      ),
      nav,
      h('main', { id: 'main', class: 'main', tabindex: '-1' }, main),
    );
  }

  function publicLayout(main: HTMLElement): HTMLElement {
    return h('div', { class: 'public' }, h('main', { id: 'main', class: 'main-public', tabindex: '-1' }, main));
  }

  async function render(): Promise<void> {
    const path = location.pathname;
    const query = Object.fromEntries(new URLSearchParams(location.search));
    const content = h('div', { class: 'content' });
    // The logged-in partner's program, until a public page names another one (apply, login with ?program=).
    applyBranding(me?.program ?? null);
    try {
      if (pendingToken) {
        document.title = pendingToken.purpose === 'reset' ? 'Choose a new password' : 'Set your password';
        root.replaceChildren(publicLayout(content));
        await settle(setPasswordView(ctx, content, { token: pendingToken.token, purpose: pendingToken.purpose }));
      } else {
        let route: Route | undefined;
        const params: Record<string, string> = { ...query };
        for (const r of ROUTES) {
          const m = r.pattern.exec(path);
          if (m) {
            route = r;
            for (const [i, k] of (r.keys ?? []).entries()) params[k] = decodeURIComponent(m[i + 1]!);
            break;
          }
        }
        if (!route) {
          root.replaceChildren(publicLayout(content));
          content.replaceChildren(
            h(
              'section',
              { class: 'auth-card' },
              h('h1', { tabindex: '-1' }, 'Page not found'),
              h('p', null, h('a', { href: '/partner/', 'data-link': '' }, 'Go to your dashboard')),
            ),
          );
          document.title = 'Page not found · Partner dashboard';
          focusHeading();
        } else if (route.auth) {
          if (!me && !checkedSession) await ctx.refreshMe();
          if (!me) {
            ctx.navigate(`/partner/login${path === '/partner/' ? '' : `?next=${encodeURIComponent(path)}`}`, {
              replace: true,
            });
            return;
          }
          document.title = `${route.title} · ${me.program.name} partners`;
          root.replaceChildren(shell(route, content));
          await settle(route.view(ctx, content, params));
        } else {
          if (route.view === loginView && !checkedSession) await ctx.refreshMe();
          if (route.view === loginView && me) {
            ctx.navigate(params.next?.startsWith('/partner/') ? params.next : '/partner/', {
              replace: true,
            });
            return;
          }
          document.title = `${route.title} · Partner dashboard`;
          root.replaceChildren(publicLayout(content));
          await settle(route.view(ctx, content, params));
        }
      }
    } catch (err) {
      content.replaceChildren(
        errorBox(err instanceof ApiError ? err.message : 'Something went wrong. Reload the page to try again.'),
      );
      // A failure before the page was drawn (server unreachable while checking the session): show it anyway.
      if (!content.isConnected) root.replaceChildren(publicLayout(content));
    }
  }

  /** Focus the heading a view drew synchronously, then wait for its data. */
  async function settle(work: void | Promise<void>): Promise<void> {
    focusHeading();
    await work;
  }

  /** After a navigation, move focus to the page heading so screen readers announce the new page. */
  function focusHeading() {
    if (firstRender) {
      firstRender = false;
      return;
    }
    const heading = root.querySelector('h1') as HTMLElement | null;
    if (heading && document.activeElement !== heading && !root.querySelector(':focus')) heading.focus();
  }

  // Internal links navigate without a page load; modified clicks (new tab) keep the browser's behaviour.
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    ctx.navigate(a.getAttribute('href')!);
  });
  window.addEventListener('popstate', () => void render());
  window.addEventListener('hashchange', () => {
    const t = readTokenFromFragment();
    if (t) {
      pendingToken = t;
      void render();
    }
  });

  void render();
  return ctx;
}

const root = typeof document !== 'undefined' ? document.getElementById('app') : null;
if (root) startApp(root);
