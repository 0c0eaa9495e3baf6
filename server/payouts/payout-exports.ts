/**
 * Payment files for a payout batch, to upload where the merchant sends money (pure: rows in, CSV text out).
 *
 * - PayPal Payouts (web upload): no header; one row per payout: recipient e-mail, amount in major units,
 *   currency, customer id (our payout id, ≤ 30 characters, no spaces), note to recipient, wallet `PAYPAL`.
 *   One currency per file. Source: https://developer.paypal.com/docs/payouts/integrate/ui-integration/
 *   ("Create a payment file").
 * - Wise batch payments (a "send to bank accounts" template): a header row of Wise's column names, one row per
 *   payout, a fixed target amount (the affiliate receives exactly the amount owed, the merchant pays the fees),
 *   the payout id as payment reference; bank details from the affiliate's payout method, or only the e-mail
 *   when Wise should ask the recipient for them. Source: https://wise.com/help/articles/2663302
 *
 * Cells a spreadsheet would run as a formula are prefixed with `'` (OWASP "CSV injection").
 */
import { stringify } from 'csv-stringify/sync';
import { toDecimalString } from '../commissions/money.ts';
import { neutraliseFormula } from '../lib/csv.ts';

export type ExportFormat = 'paypal' | 'wise';

export interface ExportRow {
  payoutId: string;
  amount: number;
  currency: string;
  affiliateName: string;
  affiliateEmail: string;
  /** The payout method details snapshot (`{ email }`, `{ accountHolder, iban, bic, ... }`). */
  details: Readonly<Record<string, string>> | null;
  note: string;
}

const safe = neutraliseFormula;

/** PayPal Payouts CSV (no header). All rows must share one currency (PayPal's rule; checked by the caller). */
export function paypalPayoutsCsv(rows: readonly ExportRow[]): string {
  return stringify(
    rows.map((r) => [
      safe(r.details?.email ?? r.affiliateEmail),
      toDecimalString(r.amount, r.currency),
      r.currency.toUpperCase(),
      r.payoutId.slice(0, 30),
      safe(r.note.slice(0, 400)),
      'PAYPAL',
    ]),
  );
}

export const WISE_COLUMNS = [
  'name',
  'recipientEmail',
  'paymentReference',
  'receiverType',
  'amountCurrency',
  'amount',
  'sourceCurrency',
  'targetCurrency',
  'IBAN',
  'BIC',
  'accountNumber',
  'abartn',
] as const;

/** Wise batch CSV with a header row. */
export function wiseBatchCsv(rows: readonly ExportRow[]): string {
  return stringify(
    rows.map((r) => {
      const d = r.details ?? {};
      const currency = r.currency.toUpperCase();
      return [
        safe(d.accountHolder ?? r.affiliateName),
        safe(d.email ?? r.affiliateEmail),
        r.payoutId,
        'PRIVATE',
        'target',
        toDecimalString(r.amount, r.currency),
        currency,
        currency,
        safe(d.iban ?? ''),
        safe(d.bic ?? ''),
        safe(d.accountNumber ?? ''),
        safe(d.routingNumber ?? ''),
      ];
    }),
    { header: true, columns: [...WISE_COLUMNS] },
  );
}
