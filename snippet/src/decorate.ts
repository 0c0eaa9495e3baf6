const SELECTOR = 'a,form[data-partnerkit],stripe-pricing-table,stripe-buy-button';

/** Sets `name` to `value` in `query`, or deletes it when `value` is ''. */
const put = (query: URLSearchParams, name: string, value: string) =>
  value ? query.set(name, value) : query.delete(name);

/**
 * Hands `referral` to everything under `root` (and `root` itself) that goes to Stripe or to the
 * merchant's other domains:
 * - Payment Links `https://buy.stripe.com/...`: `client_reference_id=<referral>` (replacing any value);
 * - `<stripe-pricing-table>`, `<stripe-buy-button>`: attribute `client-reference-id`;
 * - `<form data-partnerkit>`: one hidden `<input name="partnerkit_referral">`, created once, then updated;
 * - links to one of `domains` (or a subdomain of it) on another host than this page's:
 *   `<param>=<affiliate>&pk_ref=<referral>`, so the snippet there continues the same referral.
 * With `referral` '' (consent withdrawn) it takes all of that back instead: those parameters and the
 * `client-reference-id` removed, the hidden input removed. Idempotent; other links are left untouched. A link
 * is only written when its query changes, so the `href` observer of `onAdded` ends after one round.
 */
export const decorate = (
  root: ParentNode,
  referral: string,
  affiliate: string | null,
  domains: string[],
  param: string,
): void => {
  for (const element of [root as Element, ...root.querySelectorAll<any>(SELECTOR)]) {
    if (!element.matches?.(SELECTOR)) continue; // the document itself, or a changed non-matching parent
    if (element.localName == 'a') {
      const host = (element as HTMLAnchorElement).hostname;
      const query = new URLSearchParams((element as HTMLAnchorElement).search);
      if (host == 'buy.stripe.com') put(query, 'client_reference_id', referral);
      else if (
        affiliate &&
        host != location.hostname &&
        domains.some((domain) => ('.' + host).endsWith('.' + domain))
      ) {
        put(query, param, referral && affiliate);
        put(query, 'pk_ref', referral);
      } else continue;
      // Only on a change: writing `search` is an `href` mutation, which would decorate this link again.
      if (element.search.slice(1) != query) (element as HTMLAnchorElement).search = '' + query;
    } else if (element.localName == 'form')
      // form.partnerkit_referral: the form's own named-control lookup finds the input added last time.
      referral
        ? ((
            element.partnerkit_referral ||
            element.appendChild(
              Object.assign(document.createElement('input'), { type: 'hidden', name: 'partnerkit_referral' }),
            )
          ).value = referral)
        : element.partnerkit_referral?.remove();
    else
      referral ? element.setAttribute('client-reference-id', referral) : element.removeAttribute('client-reference-id');
  }
};

/**
 * Calls `callback` with every element (or the document) whose children changed from now on (a framework, a
 * modal...) and every element whose `href` changed (a monthly/yearly toggle swapping a Payment Link), once per
 * batch of mutations each. Why one MutationObserver on the document: it is the only way to see elements rendered
 * after load. Why the changed parent and not only the added nodes: it holds them, it costs fewer bytes, and a list
 * rendered item by item is one call per batch, not one per item. Returns the observer.
 */
export const onAdded = (callback: (element: ParentNode) => void): MutationObserver => {
  const observer = new MutationObserver((mutations) =>
    new Set(mutations.map((mutation) => mutation.target as ParentNode)).forEach((target) => callback(target)),
  );
  observer.observe(document, { childList: true, subtree: true, attributeFilter: ['href'] });
  return observer;
};
