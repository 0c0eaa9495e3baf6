/** The click endpoint's 200 answer. */
export interface ClickAnswer {
  referral: string;
  affiliate: string;
  /** The program's cookie window in days. */
  cookieDays: number;
  /** The program's attribution model: `first_click` | `last_click`. */
  attribution: string;
}

/**
 * POSTs `body` as JSON with `Content-Type: text/plain;charset=UTF-8` and resolves to the parsed 2xx JSON answer,
 * or a falsy value on a 4xx/5xx answer or a network failure. Never rejects, never logs.
 */
export const post = (url: string, body: object): Promise<ClickAnswer | false | void> =>
  fetch(url, {
    method: 'POST',
    // Why keepalive: the visitor often clicks on at once; the request must outlive the page.
    keepalive: true,
    // Why include: lets the API's own same-site Set-Cookie land; it forces no preflight (text/plain),
    // only that the API answers Allow-Credentials: true with the exact origin, which it does.
    credentials: 'include',
    // No headers: a string body goes out as `text/plain;charset=UTF-8`, a CORS-safelisted type, so the
    // browser sends no OPTIONS preflight (and an explicit header would only cost bytes).
    body: JSON.stringify(body),
  })
    .then((response) => response.ok && response.json())
    .catch(() => {});

/**
 * Sends `body` as JSON fire-and-forget (`Content-Type: text/plain;charset=UTF-8`, cookies included).
 * Why sendBeacon: a lead is usually followed by a form submit or a redirect, and the browser keeps a
 * beacon queued across that navigation (all browsers, where fetch keepalive came late to Firefox).
 * No answer is needed, which is exactly where sendBeacon fits; the click needs one, so it uses fetch.
 */
export const beacon = (url: string, body: object) => navigator.sendBeacon(url, JSON.stringify(body));
