/**
 * One layout for every outbox e-mail: a plain-text part and an HTML part built from the same blocks, the
 * program's branding as the header (its logo, with the name as alt text, or the name alone; the accent colour on the
 * header rule and the call-to-action button), and a footer with the unsubscribe link. Every value goes through
 * `escape-html` in the HTML part: names, reasons, websites and the logo URL are typed by affiliates and merchants.
 */
import escapeHtml from 'escape-html';
import type { Mail } from './mailer.ts';
import { textColorOn } from '../lib/contrast.ts';

/** A paragraph, a call-to-action link, or a list of label/value facts. */
export type Block = { p: string } | { link: string; label: string } | { facts: [string, string][] };

export interface MailContent {
  subject: string;
  /** First line of the body, e.g. `Hi Ada,`. */
  greeting: string;
  blocks: Block[];
}

/**
 * Money for reading, from integer minor units (`{ amount: 1999, currency: 'usd' }` → `$19.99`); zero-decimal
 * currencies stay whole (Intl knows their digits).
 */
export function formatMoney(amount: number, currency: string): string {
  try {
    const f = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() });
    const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
    return f.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency}`;
  }
}

/**
 * The mail for `to`: both parts, and the RFC 8058 headers when `unsubscribeUrl` is given
 * (`List-Unsubscribe: <url>`, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`).
 * @param program the sender's name and website, shown at the top of both parts, and its branding (migration 0032:
 *   `logo_url` an https URL, `accent_color` `#rrggbb`, both checked by the database; null = the plain look)
 */
export function renderMail(
  to: string,
  program: { name: string; website: string | null; logo_url?: string | null; accent_color?: string | null },
  content: MailContent,
  unsubscribeUrl: string | null,
): Mail {
  const accent = program.accent_color ?? '#222222';
  const onAccent = textColorOn(accent);
  const text: string[] = [program.name, '', content.greeting, ''];
  const html: string[] = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#222;max-width:560px;margin:0 auto;padding:16px">',
    program.logo_url
      ? `<p style="border-bottom:3px solid ${escapeHtml(accent)};padding-bottom:8px"><img src="${escapeHtml(program.logo_url)}" alt="${escapeHtml(program.name)}" style="max-height:48px;max-width:240px"></p>`
      : `<p style="font-size:18px;font-weight:600;border-bottom:3px solid ${escapeHtml(accent)};padding-bottom:8px">${escapeHtml(program.name)}</p>`,
    `<p>${escapeHtml(content.greeting)}</p>`,
  ];
  for (const b of content.blocks) {
    if ('p' in b) {
      text.push(b.p, '');
      html.push(`<p>${escapeHtml(b.p)}</p>`);
    } else if ('link' in b) {
      text.push(`${b.label}: ${b.link}`, '');
      html.push(
        `<p><a href="${escapeHtml(b.link)}" style="background:${escapeHtml(accent)};color:${onAccent};padding:8px 14px;border-radius:4px;text-decoration:none">${escapeHtml(b.label)}</a></p>`,
      );
    } else {
      for (const [k, v] of b.facts) text.push(`${k}: ${v}`);
      text.push('');
      html.push(
        `<table>${b.facts.map(([k, v]) => `<tr><td style="color:#666;padding-right:12px">${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`,
      );
    }
  }
  if (program.website) {
    text.push(program.website);
    html.push(`<p style="color:#666">${escapeHtml(program.website)}</p>`);
  }
  const headers: Record<string, string> = {};
  if (unsubscribeUrl) {
    text.push('', `To stop these e-mails: ${unsubscribeUrl}`);
    html.push(
      `<p style="color:#666;font-size:12px"><a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe from these e-mails</a></p>`,
    );
    headers['List-Unsubscribe'] = `<${unsubscribeUrl}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  html.push('</body></html>');
  return { to, subject: content.subject, text: text.join('\n'), html: html.join('\n'), headers };
}
