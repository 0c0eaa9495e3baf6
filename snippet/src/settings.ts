/**
 * Returns the one tiny helper that reads the snippet's settings: `data-<name>` on its own `<script>`
 * tag, or '' when absent. Settings (all optional except `key`):
 * `key` (program public key), `params` (default `ref,via`), `cookie-days`, `cookie-domain`
 * (`auto` | `none` | a domain), `attribution` (`first_click` | `last_click`), `consent` (`required`),
 * `domains` (comma list), `api` (API origin).
 */
export const reader =
  (script: Element) =>
  (name: string): string =>
    script.getAttribute('data-' + name) || '';

/** Splits a comma list (`"ref, via"`) into its non-empty, trimmed items. */
export const list = (value: string): string[] => value.match(/[^,\s]+/g) || [];
