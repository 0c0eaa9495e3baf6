/**
 * A program's branding in the partner dashboard (issue 20): its accent colour as the CSS custom properties
 * `--brand-accent` / `--brand-accent-text` (primary buttons, the header's mark and rule; the text colour on it is the
 * server's WCAG pick, `accentTextColor`), and its logo (alt text: the program's name) in place of the initial. Links
 * and other text keep the dashboard's own `--accent`, whose contrast is known: a merchant's accent may be any colour.
 */
import { h } from './dom.js';
import type { PublicProgram } from './types.js';

type Branded = Pick<PublicProgram, 'name' | 'branding'>;

/** Use `program`'s accent on the page, or the dashboard's own colours when null or unbranded. */
export function applyBranding(program: Branded | null): void {
  const root = document.documentElement.style;
  const b = program?.branding;
  if (b?.accentColor && b.accentTextColor) {
    root.setProperty('--brand-accent', b.accentColor);
    root.setProperty('--brand-accent-text', b.accentTextColor);
  } else {
    root.removeProperty('--brand-accent');
    root.removeProperty('--brand-accent-text');
  }
}

/** The program's logo (alt = its name) when it has one, else its initial in the accent-coloured mark (decorative). */
export function brandMark(program: Branded): HTMLElement {
  return program.branding.logoUrl
    ? h('img', { class: 'brand-logo', src: program.branding.logoUrl, alt: program.name })
    : h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, program.name.slice(0, 1).toUpperCase());
}
