/**
 * The affiliate CSV files: what an import file must look like (`parseImportCsv`: `email,name,code`, parsed by
 * csv-parse, bounded) and the export's columns (`EXPORT_COLUMNS`). The rows themselves are written and read by the
 * affiliates service (`importCsv`, `exportCsv`), so the API, the console and the CLI share one rule.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { ValidationError } from '../lib/errors.ts';

/** At most this many data rows per import file (the header not counted). */
export const IMPORT_MAX_ROWS = 5000;
/** At most this many bytes per import file (`POST /api/v1/affiliates/import` answers 413 above it). */
export const IMPORT_MAX_BYTES = 1024 * 1024;
/** The columns an import file may have (any order, any case; `code` optional, generated when empty). */
export const IMPORT_COLUMNS = ['email', 'name', 'code'] as const;

/** The export's header, one cell per `exportCsv` row cell. Amounts in minor units of `currency`. */
export const EXPORT_COLUMNS = [
  'id',
  'email',
  'name',
  'code',
  'status',
  'rejection_reason',
  'payout_method',
  'earnings',
  'currency',
  'created_at',
] as const;

/** One data row of an import file: its number (1 = the first after the header) and its trimmed cells. */
export interface ImportRow {
  row: number;
  email: string;
  name: string;
  code: string;
}

/**
 * The rows of an import file. The whole file is checked before anything is written: UTF-8 (a BOM is dropped), a
 * header naming `email` and `name` (and optionally `code`) once each and nothing else, the same number of cells on
 * every line, quotes closed, at most `IMPORT_MAX_ROWS` rows. Cells are trimmed; blank lines skipped. Quoted cells
 * may hold commas, quotes (`""`) and line breaks (RFC 4180).
 * @throws ValidationError `invalid_encoding` | `empty_csv` | `invalid_csv_header` | `invalid_csv` (with the parser's
 *   line) | `too_many_rows`
 */
export function parseImportCsv(bytes: Uint8Array): ImportRow[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ValidationError('The file is not UTF-8 text', 'invalid_encoding');
  }
  if (text.trim() === '') throw new ValidationError('The file is empty: send a header line and rows', 'empty_csv');
  let records: string[][];
  try {
    records = parse(text, {
      skip_empty_lines: true,
      trim: true,
      // The header, the allowed rows and one more: "too many" is seen without parsing the rest.
      to: IMPORT_MAX_ROWS + 2,
      max_record_size: 64 * 1024,
    }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) throw new ValidationError(`The CSV is malformed: ${err.message}`, 'invalid_csv');
    throw err;
  }
  const [header, ...rows] = records;
  const names = (header ?? []).map((h) => h.toLowerCase());
  const known = new Set<string>(IMPORT_COLUMNS);
  if (
    !names.includes('email') ||
    !names.includes('name') ||
    names.some((n) => !known.has(n)) ||
    new Set(names).size !== names.length
  ) {
    throw new ValidationError(
      `The first line must name the columns email, name and optionally code (got: ${names.join(',').slice(0, 200)})`,
      'invalid_csv_header',
    );
  }
  if (rows.length > IMPORT_MAX_ROWS)
    throw new ValidationError(`At most ${IMPORT_MAX_ROWS} rows per file`, 'too_many_rows');
  const at = (cells: string[], column: string) => cells[names.indexOf(column)] ?? '';
  // Rows, not lines, are numbered: a quoted cell may span lines.
  return rows.map((cells, i) => ({
    row: i + 1,
    email: at(cells, 'email'),
    name: at(cells, 'name'),
    code: at(cells, 'code'),
  }));
}
