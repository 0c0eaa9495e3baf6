/**
 * A CSV file answered as a download, streamed: `records` (header first) are read as the client takes them and
 * written through csv-stringify (RFC 4180 quoting), so a large export never sits in memory.
 */
import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Context } from 'koa';

/**
 * Answers `records` as `text/csv` named `filename`. `pipeline`, not `pipe`: a failure while reading (the database
 * went away) destroys the answer's stream too, so the client sees a cut-off download instead of one that never
 * ends; Koa logs the error (the headers are gone by then).
 */
export function sendCsvDownload(ctx: Context, filename: string, records: AsyncIterable<string[]>): void {
  ctx.type = 'text/csv; charset=utf-8';
  ctx.attachment(filename);
  const csv = stringify();
  pipeline(Readable.from(records), csv, () => undefined);
  ctx.body = csv;
}
