/**
 * Text colour on a coloured background, by WCAG 2.x contrast: relative luminance and contrast ratio as defined in
 * WCAG 2.2, "relative luminance" and "contrast ratio" (https://www.w3.org/TR/WCAG22/#dfn-relative-luminance).
 * Pure and dependency-free: the server computes a program's `accentTextColor` with it, and the console's live
 * preview imports the same file, so the swatch shows what the pages will show.
 */

/** WCAG relative luminance (0 = black … 1 = white) of a `#rrggbb` colour. */
export function relativeLuminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG contrast ratio (1 … 21) between two `#rrggbb` colours. */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * `#000000` or `#ffffff`, whichever contrasts more with the `#rrggbb` background `accent` (black on a tie): the
 * text colour for buttons and bars drawn in a program's accent colour.
 */
export function textColorOn(accent: string): '#000000' | '#ffffff' {
  return contrastRatio(accent, '#000000') >= contrastRatio(accent, '#ffffff') ? '#000000' : '#ffffff';
}
