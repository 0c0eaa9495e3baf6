// @vitest-environment happy-dom
/**
 * The partner dashboard's branding pieces in happy-dom: the program's accent lands in the CSS custom properties
 * (and leaves with an unbranded program), and the logo replaces the initial with the program's name as alt text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyBranding, brandMark } from '../../dashboard/src/branding.ts';

const branded = {
  name: 'Acme <Shop>',
  branding: { logoUrl: 'https://cdn.acme.test/logo.svg', accentColor: '#ffcc00', accentTextColor: '#000000' as const },
};
const plain = { name: 'Acme', branding: { logoUrl: null, accentColor: null, accentTextColor: null } };
const prop = (name: string) => document.documentElement.style.getPropertyValue(name);

afterEach(() => applyBranding(null));

describe('partner dashboard branding', () => {
  it('sets --brand-accent and --brand-accent-text, and removes them for an unbranded program', () => {
    applyBranding(branded);
    expect([prop('--brand-accent'), prop('--brand-accent-text')]).toEqual(['#ffcc00', '#000000']);
    applyBranding(plain);
    expect([prop('--brand-accent'), prop('--brand-accent-text')]).toEqual(['', '']);
  });

  it('shows the logo with the program name as alt text (as text, never markup), else the initial', () => {
    const logo = brandMark(branded);
    expect(logo.tagName).toBe('IMG');
    expect(logo.getAttribute('src')).toBe('https://cdn.acme.test/logo.svg');
    expect(logo.getAttribute('alt')).toBe('Acme <Shop>');
    const mark = brandMark(plain);
    expect([mark.tagName, mark.textContent, mark.getAttribute('aria-hidden')]).toEqual(['SPAN', 'A', 'true']);
  });
});
