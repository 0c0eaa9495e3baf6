// Builds the partner dashboard and the merchant console (dashboard/console/ → dashboard/dist/console/, served at
// /app/, same scheme): dashboard/src/*.ts → dashboard/dist/assets/app-<hash>.js (ES modules; uPlot
// and the chart code in a chunk loaded on demand), dashboard/src/styles.css + uPlot's CSS →
// assets/app-<hash>.css, and dashboard/dist/index.html pointing at them (content-hashed names, so caches never
// serve a stale build). Prints the gzipped size of all JS on every build and fails over the 60 KB budget.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const require = (spec) => fileURLToPath(import.meta.resolve(spec));

/** Gzip budget for all dashboard JavaScript together (issue 6: total JS ≤ 60 KB gzipped). */
export const JS_BUDGET = 60 * 1024;

const hash = (text) => createHash('sha256').update(text).digest('hex').slice(0, 10);
const gz = (text) => gzipSync(Buffer.from(text), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** Gzip budget for the merchant console's JavaScript (issue 20: ≤ 100 KB gzipped on first load). */
export const CONSOLE_JS_BUDGET = 100 * 1024;

/**
 * Emits app.css, writes index.html with versioned asset URLs, reports sizes, enforces the JS budget; one per app
 * (`outDir` its dist folder, `base` its URL prefix, `css` its style files in order after uPlot's).
 */
function appAssets({ label, outDir, html, base, css: cssFiles, budget }) {
  return {
    name: `${label}-assets`,
    buildStart() {
      // Old chunks (other hashes) must not pile up; the partner app's dist also holds the console's folder.
      rmSync(here(`${outDir}/assets`), { recursive: true, force: true });
      rmSync(here(`${outDir}/index.html`), { force: true });
      for (const f of cssFiles) this.addWatchFile(here(f));
      this.addWatchFile(here(html));
    },
    generateBundle(_options, bundle) {
      const css = [require('uplot/dist/uPlot.min.css'), ...cssFiles.map(here)]
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
      const cssName = `app-${hash(css)}.css`;
      this.emitFile({ type: 'asset', fileName: cssName, source: css });
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      let total = 0;
      for (const c of chunks) {
        const size = gz(c.code);
        total += size;
        console.log(
          `${label} ${c.fileName}: ${kb(c.code.length)} raw, ${kb(size)} gzip${c.isDynamicEntry ? ' (loaded on demand)' : ''}`,
        );
      }
      console.log(`${label} ${cssName}: ${kb(css.length)} raw, ${kb(gz(css))} gzip`);
      console.log(`${label} JS total: ${kb(total)} gzip (budget ${kb(budget)})`);
      if (total > budget) this.error(`${label} JS is ${kb(total)} gzipped, over the ${kb(budget)} budget`);
      const app = chunks.find((c) => c.isEntry);
      const page = readFileSync(here(html), 'utf8')
        .replace(`${base}/assets/app.js`, `${base}/assets/${app.fileName}`)
        .replace(`${base}/assets/app.css`, `${base}/assets/${cssName}`);
      mkdirSync(here(outDir), { recursive: true });
      writeFileSync(here(`${outDir}/index.html`), page);
    },
  };
}

/** One rollup build of a single-page app: ES modules with content-hashed names under `<outDir>/assets`. */
function app({ label, input, tsconfig, ...assets }) {
  return {
    input: here(input),
    // One entry file that also holds the code the chart chunk shares (no extra facade chunk, one request less).
    preserveEntrySignatures: false,
    output: {
      dir: here(`${assets.outDir}/assets`),
      format: 'es',
      // Content-hashed names: the chart chunk imports the entry by this exact URL, and caches can keep both forever.
      entryFileNames: 'app-[hash].js',
      chunkFileNames: '[name]-[hash].js',
      hashCharacters: 'hex',
    },
    plugins: [
      nodeResolve({ browser: true }),
      typescript({ tsconfig: here(tsconfig), outputToFilesystem: false }),
      terser({ ecma: 2020, module: true, compress: { passes: 2 }, format: { comments: false } }),
      appAssets({ label, ...assets }),
    ],
  };
}

export default [
  // The partner dashboard at /partner/.
  app({
    label: 'dashboard',
    input: 'src/main.ts',
    tsconfig: 'tsconfig.json',
    outDir: 'dist',
    html: 'index.html',
    base: '/partner',
    css: ['src/styles.css'],
    budget: JS_BUDGET,
  }),
  // The merchant console at /app/ (dashboard/console/), sharing src/dom.ts, format.ts, api.ts and the chart.
  app({
    label: 'console',
    input: 'console/src/main.ts',
    tsconfig: 'console/tsconfig.json',
    outDir: 'dist/console',
    html: 'console/index.html',
    base: '/app',
    css: ['src/styles.css', 'console/src/console.css'],
    budget: CONSOLE_JS_BUDGET,
  }),
];
