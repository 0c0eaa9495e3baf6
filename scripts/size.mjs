// Prints the size of the built snippet (raw, gzip -9, brotli) and fails when gzip exceeds the budget.
// Usage: node scripts/size.mjs [file]   (default snippet/dist/pk.js; `npm run size`)
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Gzip budget of snippet/dist/pk.js in bytes (gzip -9): what a visitor downloads on every page. */
export const BUDGET = 1536;

export const SNIPPET = fileURLToPath(new URL('../snippet/dist/pk.js', import.meta.url));

/** Returns `{ raw, gzip, brotli }` byte counts of `code` (gzip at level 9, brotli at quality 11). */
export function measure(code) {
  const buffer = Buffer.from(code);
  return {
    raw: buffer.length,
    gzip: gzipSync(buffer, { level: 9 }).length,
    brotli: brotliCompressSync(buffer, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/** One-line report, e.g. `pk.js: 2900 B raw, 1190 B gzip -9 (budget 1536), 1050 B brotli`. */
export function report(name, { raw, gzip, brotli }) {
  return `${name}: ${raw} B raw, ${gzip} B gzip -9 (budget ${BUDGET}), ${brotli} B brotli`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] || SNIPPET;
  let code;
  try {
    code = readFileSync(file);
  } catch {
    console.error(`${file} not found: build it first (npx rollup -c snippet/rollup.config.mjs)`);
    process.exit(1);
  }
  const sizes = measure(code);
  console.log(report(file, sizes));
  if (sizes.gzip > BUDGET) {
    console.error(`over budget by ${sizes.gzip - BUDGET} B gzip`);
    process.exit(1);
  }
}
