/**
 * Test helpers for the snippet: a visitor's browser (happy-dom pages sharing one cookie jar, like tabs
 * of one profile) and a recording network.
 *
 * The snippet's modules use the page globals (`document`, `location`, `history`...). Each test opens a
 * fresh page and points those globals at it, so nothing the snippet installed (history wrappers, the
 * MutationObserver) leaks from one test into the next.
 */
import { Browser } from 'happy-dom';
import { vi } from 'vitest';

/** A request the snippet sent, as the server would receive it. */
export interface SentRequest {
  url: string;
  method: string;
  /** `Content-Type` the browser sends for this body. */
  contentType: string;
  credentials: RequestCredentials | undefined;
  keepalive: boolean | undefined;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
  /** How it was sent: `fetch` or `beacon` (navigator.sendBeacon). */
  via: 'fetch' | 'beacon';
}

/** A page's window, typed with the DOM library (happy-dom implements it). */
export type PageWindow = Window & typeof globalThis;

/** What the fake API answers for one click body: `[status, json]`. */
export type Answer = (body: Record<string, any>) => [number, unknown];

/** Answers every valid click with referral `ref_<code>` and a 30-day last_click program. */
export const answerClicks: Answer = (body) => [
  200,
  { referral: `ref_${body.code}`, affiliate: body.code, cookieDays: 30, attribution: 'last_click' },
];

/**
 * The network boundary of a unit test: `fetch` and `navigator.sendBeacon` replaced by a function
 * that records what would go over the wire and answers like the server's contract.
 */
export function network(answer: Answer = answerClicks) {
  const requests: SentRequest[] = [];
  const record = (url: string, body: string, via: SentRequest['via'], init: RequestInit = {}) => {
    // What a browser puts on the wire for a string body without an explicit Content-Type.
    const headers = new Headers(init.headers);
    requests.push({
      url,
      method: init.method ?? 'POST',
      contentType: headers.get('content-type') ?? 'text/plain;charset=UTF-8',
      credentials: via === 'beacon' ? 'include' : init.credentials,
      keepalive: via === 'beacon' ? true : init.keepalive,
      body: JSON.parse(body),
      via,
    });
  };
  const fetch = async (url: string, init: RequestInit) => {
    record(url, init.body as string, 'fetch', init);
    const [status, json] = answer(JSON.parse(init.body as string));
    return new Response(JSON.stringify(json), { status, headers: { 'content-type': 'application/json' } });
  };
  const sendBeacon = (url: string, data: string) => (record(url, data, 'beacon'), true);
  return { requests, fetch, sendBeacon };
}

/** A visitor's browser: pages share cookies. `close()` it after the test. */
export function visitor() {
  return new Browser({
    settings: {
      // The snippet under test is imported as modules; the page's <script> tag only carries data-*.
      disableJavaScriptFileLoading: true,
      handleDisabledFileLoadingAsSuccess: true,
    },
  });
}

/**
 * Opens `url` with `body` (HTML) in a new page of `browser`, makes it the page the snippet modules
 * see (globals), with `net` as its network, and returns its window.
 */
export function openPage(
  browser: Browser,
  url: string,
  body = '',
  net: ReturnType<typeof network> = network(),
): PageWindow {
  const page = browser.newPage();
  page.url = url;
  page.content = `<html><head></head><body>${body}</body></html>`;
  const window = page.mainFrame.window as unknown as PageWindow;
  Object.defineProperty(window.navigator, 'sendBeacon', { value: net.sendBeacon, configurable: true });
  vi.stubGlobal('window', window);
  vi.stubGlobal('document', window.document);
  vi.stubGlobal('location', window.location);
  vi.stubGlobal('history', window.history);
  vi.stubGlobal('navigator', window.navigator);
  vi.stubGlobal('MutationObserver', window.MutationObserver);
  vi.stubGlobal('addEventListener', window.addEventListener.bind(window));
  vi.stubGlobal('removeEventListener', window.removeEventListener.bind(window));
  vi.stubGlobal('fetch', net.fetch);
  return window;
}

/** The cookies the browser would send to `url`, by name, with their attributes. */
export function cookiesFor(browser: Browser, url: string) {
  const cookies = browser.defaultContext.cookieContainer.getCookies(new URL(url) as any);
  return Object.fromEntries(cookies.map((cookie) => [cookie.key, cookie]));
}

/** Resolves with the referral once the snippet on `window` knows it (`partnerkit('ready', cb)`). */
export const ready = (window: PageWindow): Promise<string | null> =>
  new Promise((resolve) => (window as any).partnerkit('ready', resolve));

/** Lets pending promise callbacks and MutationObserver records run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
