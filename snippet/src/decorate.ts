const SELECTOR = 'a,form[data-partnerkit],stripe-pricing-table,stripe-buy-button';

/**
 * Hands `referral` to everything under `root` (and `root` itself) that goes to Stripe or to the
 * merchant's other domains:
 * - Payment Links `https://buy.stripe.com/...`: `client_reference_id=<referral>` (replacing any value);
 * - `<stripe-pricing-table>`, `<stripe-buy-button>`: attribute `client-reference-id`;
 * - `<form data-partnerkit>`: one hidden `<input name="partnerkit_referral">`, created once, then updated;
 * - links to one of `domains` (or a subdomain of it) on another host than this page's:
 *   `<param>=<affiliate>&pk_ref=<referral>`, so the snippet there continues the same referral.
 * Idempotent; other links are left untouched.
 */
export const decorate = (
  root: ParentNode,
  referral: string,
  affiliate: string | null,
  domains: string[],
  param: string,
): void => {
  for (const element of [root as Element, ...root.querySelectorAll<any>(SELECTOR)]) {
    if (!element.matches?.(SELECTOR)) continue; // the document itself, or an added non-matching root
    if (element.localName == 'a') {
      const host = (element as HTMLAnchorElement).hostname;
      const query = new URLSearchParams((element as HTMLAnchorElement).search);
      if (host == 'buy.stripe.com') query.set('client_reference_id', referral);
      else if (
        affiliate &&
        host != location.hostname &&
        domains.some((domain) => ('.' + host).endsWith('.' + domain))
      ) {
        query.set(param, affiliate);
        query.set('pk_ref', referral);
      } else continue;
      (element as HTMLAnchorElement).search = '' + query;
    } else if (element.localName == 'form')
      // form.partnerkit_referral: the form's own named-control lookup finds the input added last time.
      (
        element.partnerkit_referral ||
        element.appendChild(
          Object.assign(document.createElement('input'), { type: 'hidden', name: 'partnerkit_referral' }),
        )
      ).value = referral;
    else element.setAttribute('client-reference-id', referral);
  }
};

/**
 * Calls `callback` with every element added to the document from now on (by a framework, a modal...).
 * Why one MutationObserver on the document: it is the only way to see elements rendered after load,
 * and looking only at added subtrees keeps each callback cheap. Returns the observer.
 */
export const onAdded = (callback: (element: Element) => void): MutationObserver => {
  const observer = new MutationObserver((mutations) =>
    mutations.forEach((mutation) =>
      mutation.addedNodes.forEach((node) => node.nodeType == 1 && callback(node as Element)),
    ),
  );
  observer.observe(document, { childList: true, subtree: true });
  return observer;
};
