/**
 * Affiliate codes and referral ids share one alphabet: `[A-Za-z0-9_-]{1,200}`, which is also what
 * Stripe accepts as a `client_reference_id`, so anything that passes here is safe to hand to Stripe.
 */
export const isCode = (value: unknown): value is string => /^[\w-]{1,200}$/.test((value as string) ?? '');

/**
 * Returns the first valid affiliate code found in `search` (a `location.search` string) under one
 * of `params` (checked in order), or undefined. Invalid values are ignored, not truncated.
 */
export const codeFrom = (search: string, params: string[]): string | undefined =>
  params.map((name) => new URLSearchParams(search).get(name)).find(isCode);

/** Splits a comma list (`"ref, via"`, from a `data-*` setting) into its non-empty, trimmed items. */
export const list = (value: string): string[] => value.match(/[^,\s]+/g) || [];
