/**
 * CSV cells for files merchants and partners open in a spreadsheet.
 */

/**
 * A cell that a spreadsheet would run as a formula (starts with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`
 * (OWASP "CSV injection"); a plain number such as `-12.50` stays as it is, so amounts remain numbers.
 */
export function neutraliseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) && !/^-?\d+(\.\d+)?$/.test(cell) ? `'${cell}` : cell;
}
