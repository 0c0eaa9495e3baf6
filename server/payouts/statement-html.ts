/**
 * The printable HTML page of a payout statement (`GET /api/v1/partner/payouts/:id/statement.html`): a standalone
 * page with a print stylesheet and no script. Every value that came from a person (program and partner names,
 * e-mail, legal name, rule names, references) goes through `escape-html`, so nothing typed can become markup; the
 * route also answers a `Content-Security-Policy` that allows no script at all.
 */
import escapeHtml from 'escape-html';
import { toDecimalString } from '../commissions/money.ts';
import type { Statement } from './earnings.ts';

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '—');
const money = (amount: number, currency: string) => `${toDecimalString(amount, currency)} ${currency.toUpperCase()}`;

/** The page as one string (UTF-8). */
export function statementHtml(s: Statement): string {
  const e = escapeHtml;
  const p = s.payout;
  const facts: [string, string][] = [
    ['Program', s.program.name],
    ['Partner', s.affiliate.name],
    ['Email', s.affiliate.email],
    ...(s.affiliate.legalName ? ([['Legal name', s.affiliate.legalName]] as [string, string][]) : []),
    ...(s.affiliate.country ? ([['Country', s.affiliate.country]] as [string, string][]) : []),
    ...(s.affiliate.taxId ? ([['Tax ID', s.affiliate.taxId]] as [string, string][]) : []),
    ['Payout', p.id],
    ['Status', p.status],
    ['Method', p.method.replace(/_/g, ' ')],
    ['Reference', p.reference ?? '—'],
    ['Created', day(p.createdAt)],
    ['Paid', day(p.completedAt)],
    ['Amount', money(p.amount, p.currency)],
  ];
  const rows = s.lines
    .map(
      (l) =>
        `<tr><td>${e(day(l.conversionAt))}</td><td>${e(l.description)}</td><td class="mono">${e(l.commissionId)}</td>` +
        `<td class="num">${e(money(l.amount, l.currency))}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payout statement ${e(p.id)} · ${e(s.program.name)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #111; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .25rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.5rem; }
dt { color: #555; }
dd { margin: 0; }
table { width: 100%; border-collapse: collapse; margin-top: 1.5rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
.mono { font-family: ui-monospace, monospace; font-size: 12px; }
tfoot td { font-weight: 600; border-bottom: 0; }
.hint { color: #555; font-size: 12px; }
@media print { .hint { display: none; } body { margin: 0; } }
</style>
</head>
<body>
<h1>Payout statement</h1>
<p class="hint">Print this page (Ctrl+P / ⌘P) to keep it or save it as PDF.</p>
<dl>
${facts.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('\n')}
</dl>
<table>
<thead><tr><th scope="col">Conversion date</th><th scope="col">Commission</th><th scope="col">ID</th><th scope="col" class="num">Amount</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="4">No commissions</td></tr>'}
</tbody>
<tfoot><tr><td colspan="3">Total</td><td class="num">${e(money(p.amount, p.currency))}</td></tr></tfoot>
</table>
</body>
</html>
`;
}
