// @vitest-environment happy-dom
/**
 * The dashboard shell in happy-dom: which page a visitor lands on, what happens to a one-time token in the
 * URL, and what they see when the server cannot be reached. The network is the browser's `fetch`, answered
 * here the way the partner API answers (the real API is exercised in test/integration and test/e2e).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startApp } from '../../dashboard/src/main.ts';

type Handler = (path: string, init: RequestInit) => { status: number; body?: unknown } | Promise<never>;

function serve(handler: Handler) {
  const calls: { path: string; init: RequestInit }[] = [];
  vi.stubGlobal('fetch', async (input: string, init: RequestInit = {}) => {
    calls.push({ path: input, init });
    const answer = await handler(input, init);
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  });
  return calls;
}

function open(url: string) {
  history.replaceState(null, '', url);
  document.body.innerHTML = '<div id="app"></div>';
  const root = document.getElementById('app')!;
  startApp(root);
  return root;
}

const h1 = (root: HTMLElement) => root.querySelector('h1')?.textContent;

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

describe('dashboard shell', () => {
  it('sends a visitor without a session to the login page', async () => {
    serve(() => ({ status: 401, body: { error: { code: 'not_logged_in', message: 'Log in first' } } }));
    const root = open('/partner/payouts');
    await vi.waitFor(() => expect(h1(root)).toBe('Log in to your partner dashboard'));
    expect(location.pathname + location.search).toBe('/partner/login?next=%2Fpartner%2Fpayouts');
  });

  it('takes the set-password token out of the address bar and offers the form', async () => {
    const calls = serve(() => ({ status: 401, body: { error: { code: 'not_logged_in', message: 'Log in first' } } }));
    const root = open('/partner/#set-password=pt_abcdefghijklmnopqrstuvwxyz');
    await vi.waitFor(() => expect(h1(root)).toBe('Welcome! Set your password'));
    expect(location.hash).toBe('');
    expect(location.href).not.toContain('pt_abc');
    expect(calls).toEqual([]);
  });

  it('says so when the server cannot be reached', async () => {
    serve(() => Promise.reject(new TypeError('Failed to fetch')));
    const root = open('/partner/');
    await vi.waitFor(() =>
      expect(root.querySelector('[role="alert"]')?.textContent).toBe(
        'Cannot reach the server. Check your connection and try again.',
      ),
    );
  });

  it('shows “not found” for an unknown page', async () => {
    serve(() => ({ status: 401, body: { error: { code: 'not_logged_in', message: 'Log in first' } } }));
    const root = open('/partner/nope/nope/nope');
    await vi.waitFor(() => expect(h1(root)).toBe('Page not found'));
  });
});
