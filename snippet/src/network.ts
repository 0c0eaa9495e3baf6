/** The click endpoint's 200 answer; `referral` null (nothing else) for an unknown or unapproved code. */
export interface ClickAnswer {
  referral: string | null;
  affiliate: string;
  /** The program's cookie window in days. */
  cookieDays: number;
  /** The program's attribution model: `first_click` | `last_click`. */
  attribution: string;
}

/**
 * POSTs `body` as JSON (`Content-Type: text/plain;charset=UTF-8`, cookies included) and resolves to
 * the parsed JSON answer (also of a 4xx/5xx: `{ error }`, `{ referral: null }`, untrusted either way), or
 * undefined when the answer is not JSON or the network failed. Never rejects, never logs.
 */
export const post = (url: string, body: object): Promise<ClickAnswer | undefined> =>
  fetch(url, {
    method: 'POST',
    // Why keepalive: a visitor may leave the landing page at once; the click must still arrive.
    keepalive: true,
    // Why include: so the API's same-site Set-Cookie (not capped by Safari's 7 days) lands; no preflight.
    credentials: 'include',
    // No headers: a string body goes out as `text/plain;charset=UTF-8`, a CORS-safelisted type, so the
    // browser sends no OPTIONS preflight (and an explicit header would only cost bytes).
    body: JSON.stringify(body),
  })
    // No `response.ok` check: an error answer's JSON has no referral, which the caller validates anyway.
    .then((response) => response.json())
    .catch(() => {});

/**
 * Sends `body` as JSON fire-and-forget (`Content-Type: text/plain;charset=UTF-8`, cookies included).
 * Why sendBeacon: a lead is usually followed by a form submit or a redirect, and the browser keeps a
 * beacon queued across that navigation (all browsers, where fetch keepalive came late to Firefox).
 * No answer is needed, which is exactly where sendBeacon fits; the click needs one, so it uses fetch.
 */
export const beacon = (url: string, body: object) => navigator.sendBeacon(url, JSON.stringify(body));
