import { codeFrom, isCode, list } from './code.js';
import { cookieDomains, readCookie, writeCookie } from './cookies.js';
import { decorate, onAdded } from './decorate.js';
import { onNavigate } from './history.js';
import { beacon, post } from './network.js';

/** The global `window.partnerkit`: a command function that also carries the referral state. */
export interface Partnerkit {
  (command: 'ready', callback: (referral: string | null) => void): void;
  (command: 'lead', lead: { email: string }): void;
  (command: 'consent', granted: boolean): void;
  /** Referral id (`pk_ref` cookie), or null. */
  referral: string | null;
  /** Affiliate code of that referral (`pk_aff` cookie), or null. */
  affiliate: string | null;
  /** Calls made before the snippet loaded: the merchant's stub pushes their `arguments` here. */
  q?: ArrayLike<any>[];
}

/**
 * Starts the snippet from its `<script>` tag: reads the affiliate code from the URL now (before an SPA
 * router strips it) and on every SPA navigation, records clicks, keeps the `pk_ref`/`pk_aff` cookies,
 * hands the referral to Stripe elements, installs `window.partnerkit` and replays the calls the
 * merchant queued before it. Never throws; stays installed for the page's life.
 *
 * Settings, `data-*` on the tag: `key` (program public key; without it nothing happens), `params`
 * (URL params carrying the code, default `ref,via`), `cookie-days` (default: the program's window),
 * `cookie-domain` (`auto`: the registrable domain; `none`: host-only), `attribution` (`first_click`;
 * default: the program's model), `consent` (`required`: nothing written or sent before
 * `partnerkit('consent', true)`), `domains` (the merchant's other root domains), `api` (API origin,
 * default: the origin of the tag's `src`).
 */
export const install = (script: HTMLScriptElement | null): void => {
  try {
    // The one tiny helper that reads the settings: '' when absent.
    const get = (name: string) => script!.getAttribute('data-' + name) || '';
    const key = get('key');
    if (!key) return;
    const params = list(get('params') || 'ref,via');
    // NaN or 0 when unset: then the program's window applies.
    const days = +get('cookie-days');
    const api = new URL(get('api') || script!.src).origin + '/api/v1/track/';
    let granted = get('consent') != 'required';
    let referral: string | null;
    let affiliate: string | null;
    // The code seen at load, kept in memory while consent is pending.
    let pending: string | undefined;
    // The last code sent as a click from this page: never sent twice (SPA re-renders, a refused code).
    let sent: string | undefined;
    let unlock: () => void;
    // Settles once the referral state is known: at load, after consent, or after a click answer.
    let state: Promise<unknown> = new Promise<void>((resolve) => (unlock = resolve));

    // `.then(() => state)`: a callback queued before consent also waits for the click consent started.
    // Errors thrown by the callback end in the catch: the merchant's bug stays out of the console.
    const ready = (callback: (referral: string | null) => void) =>
      state
        .then(() => state)
        .then(() => callback(referral))
        .catch(() => {});

    // Writes both cookies on the registrable domain (data-cookie-domain="auto"): tried from the shortest
    // suffix until the browser keeps them (it refuses public suffixes). Deleting (value '') never stops
    // early, so it removes them under every domain they may have been set with, by us or by the API:
    // also with "none", since a same-site API's Set-Cookie names the registrable domain whatever the tag says.
    const setCookies = (value: string, code: string, maxAge: number) => {
      for (const domain of value && get('cookie-domain') == 'none' ? [''] : cookieDomains(location.hostname)) {
        writeCookie('pk_ref', value, maxAge, domain);
        writeCookie('pk_aff', code, maxAge, domain);
        // pk_aff has the same Domain and attributes: where pk_ref was kept, so was it.
        if (value && readCookie('pk_ref') == value) break;
      }
    };

    // `value` '' takes the current referral back off the page (consent withdrawn); nothing without a referral.
    const decorateAll = (root: ParentNode, value = referral) =>
      referral && decorate(root, value!, affiliate, list(get('domains')), params[0]);

    // Publishes the referral state and hands it to the Stripe elements already on the page.
    const show = (value: string | null, code?: string | null) => {
      partnerkit.referral = referral = value;
      partnerkit.affiliate = affiliate = value && code!;
      decorateAll(document);
    };

    const capture = (code = codeFrom(location.search, params)) => {
      try {
        if (!granted) return (pending = code || pending);
        show(readCookie('pk_ref'), readCookie('pk_aff'));
        // A new click: a valid code not sent yet from this page, and either no current referral, or
        // last_click (the default) and another affiliate's code. first_click keeps the current
        // referral; for a program whose model is first_click the server keeps it (the request carries it).
        if (code && code != sent && (!referral || (get('attribution') != 'first_click' && code != affiliate))) {
          sent = code;
          state = post(api + 'click', {
            key,
            code,
            // No cookie yet: a pk_ref in the URL (from /r/:slug or the merchant's other domain)
            // continues that referral instead of starting a new one.
            referral: referral || codeFrom(location.search, ['pk_ref']),
            url: location.href,
            referrer: document.referrer,
            // The answer is untrusted JSON: every field is validated before use.
          }).then((answer: any) => {
            if (granted && isCode(answer?.referral) && isCode(answer.affiliate)) {
              // When the server keeps an earlier referral (first_click), cookieDays is what is left of it.
              setCookies(answer.referral, answer.affiliate, (days || answer.cookieDays || 30) * 86400);
              // Memory, not the cookie, is the source here: the referral survives blocked cookies.
              show(answer.referral, answer.affiliate);
            }
          });
        }
        // This runs inside the router's pushState call: nothing may escape.
      } catch {}
    };

    const partnerkit = ((command: string, argument: any) => {
      try {
        if (command == 'consent') {
          if ((granted = !!argument)) capture(pending);
          else setCookies('', '', -1), decorateAll(document, ''), show(null);
          unlock();
        } else
          ready(
            command == 'lead'
              ? (value) => value && granted && beacon(api + 'lead', { key, referral: value, email: argument?.email })
              : argument, // 'ready'
          );
      } catch {}
    }) as Partnerkit;

    const queued = (window as any).partnerkit as Partnerkit | undefined;
    (window as any).partnerkit = partnerkit;
    show(null);
    capture();
    onNavigate(() => capture());
    onAdded(decorateAll);
    if (granted) unlock!();
    for (const args of queued?.q || []) partnerkit(...(args as [any, any]));
  } catch {}
};
