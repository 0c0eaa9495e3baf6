/**
 * Program branding (issue 20): a logo and an accent colour, set with `PATCH /api/v1/program` `{ branding }` (CLI
 * `program set-branding`, the console's Settings page) and shown by the partner dashboard (shell, apply and login
 * pages) and the e-mails. Stored in `programs.logo_url` / `accent_color`, whose CHECKs (migration 0032) repeat the
 * rules below.
 */
import { z } from 'zod';
import type { ProgramRow } from '../db/schema.ts';
import { textColorOn } from '../lib/contrast.ts';
import { isStorableText, NOT_STORABLE } from '../lib/validate.ts';

/** The longest logo URL stored (also a CHECK in migration 0032). */
export const MAX_LOGO_URL = 2048;

/**
 * A logo URL: `https:` only (the pages load it under `img-src https:`; `http:` would be mixed content, `javascript:`
 * and `data:` are refused outright), with a host name, at most MAX_LOGO_URL characters; stored as the WHATWG URL
 * parser writes it (`new URL(v).href`: quotes and spaces percent-encoded).
 */
export const logoUrlInput = z
  .url({ protocol: /^https$/, hostname: z.regexes.domain, error: 'must be an https:// URL of an image' })
  .max(MAX_LOGO_URL)
  .refine(isStorableText, NOT_STORABLE)
  .transform((v) => new URL(v).href)
  .refine((v) => v.length <= MAX_LOGO_URL, `must be at most ${MAX_LOGO_URL} characters`);

/** An accent colour `#rrggbb` (any case in, lower case out). */
export const accentColorInput = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, 'must be a colour #rrggbb, e.g. #0a66c2')
  .transform((v) => v.toLowerCase());

/**
 * `branding` of `PATCH /api/v1/program`: each field optional (omitted = unchanged), null clears it; `branding: null`
 * clears both.
 */
export const brandingInput = z
  .strictObject({ logoUrl: logoUrlInput.nullable(), accentColor: accentColorInput.nullable() })
  .partial()
  .nullable();

/** The public shape of a program's branding (`brandingShape` in lib/schemas.ts). */
export interface Branding {
  logoUrl: string | null;
  accentColor: string | null;
  /** Text colour on the accent, by WCAG contrast (`lib/contrast.ts`); null without an accent. */
  accentTextColor: '#000000' | '#ffffff' | null;
}

export function toBranding(p: Pick<ProgramRow, 'logo_url' | 'accent_color'>): Branding {
  return {
    logoUrl: p.logo_url,
    accentColor: p.accent_color,
    accentTextColor: p.accent_color ? textColorOn(p.accent_color) : null,
  };
}

/** The column changes for a parsed `branding` input (nothing for undefined). */
export function brandingPatch(
  b: z.output<typeof brandingInput> | undefined,
): Partial<Pick<ProgramRow, 'logo_url' | 'accent_color'>> {
  if (b === undefined) return {};
  if (b === null) return { logo_url: null, accent_color: null };
  return {
    ...(b.logoUrl !== undefined ? { logo_url: b.logoUrl } : {}),
    ...(b.accentColor !== undefined ? { accent_color: b.accentColor } : {}),
  };
}
