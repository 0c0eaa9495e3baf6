/**
 * Program branding (issue 20, console Settings): the logo the partner dashboard, its public pages and the e-mails
 * show, and the accent colour they use. The checks repeat the API's zod rules (`programs/branding.ts`) so that no
 * other writer (SQL by hand, a later script) can store a logo that is not `https:` — the pages load it under a CSP
 * that allows `img-src https:` only — or a colour the pages could not use as a CSS value.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE programs
      ADD COLUMN logo_url text
        CONSTRAINT programs_logo_url_check CHECK (logo_url ~ '^https://[^\\s]+$' AND length(logo_url) <= 2048),
      ADD COLUMN accent_color text
        CONSTRAINT programs_accent_color_check CHECK (accent_color ~ '^#[0-9a-f]{6}$');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE programs DROP COLUMN logo_url, DROP COLUMN accent_color;`.execute(db);
}
