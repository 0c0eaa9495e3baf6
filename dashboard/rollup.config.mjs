// Builds the partner dashboard: dashboard/src/*.ts → dashboard/dist/assets/app-<hash>.js (ES modules; uPlot
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

/** Emits app.css, writes index.html with versioned asset URLs, reports sizes, enforces the JS budget. */
function dashboardAssets() {
  return {
    name: 'dashboard-assets',
    buildStart() {
      // Old chunks (other hashes) must not pile up in dist/assets.
      rmSync(here('dist'), { recursive: true, force: true });
      this.addWatchFile(here('src/styles.css'));
      this.addWatchFile(here('index.html'));
    },
    generateBundle(_options, bundle) {
      const css = `${readFileSync(require('uplot/dist/uPlot.min.css'), 'utf8')}\n${readFileSync(here('src/styles.css'), 'utf8')}`;
      const cssName = `app-${hash(css)}.css`;
      this.emitFile({ type: 'asset', fileName: cssName, source: css });
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      let total = 0;
      for (const c of chunks) {
        const size = gz(c.code);
        total += size;
        console.log(
          `dashboard ${c.fileName}: ${kb(c.code.length)} raw, ${kb(size)} gzip${c.isDynamicEntry ? ' (loaded on demand)' : ''}`,
        );
      }
      console.log(`dashboard ${cssName}: ${kb(css.length)} raw, ${kb(gz(css))} gzip`);
      console.log(`dashboard JS total: ${kb(total)} gzip (budget ${kb(JS_BUDGET)})`);
      if (total > JS_BUDGET) this.error(`dashboard JS is ${kb(total)} gzipped, over the ${kb(JS_BUDGET)} budget`);
      const app = chunks.find((c) => c.isEntry);
      const html = readFileSync(here('index.html'), 'utf8')
        .replace('/partner/assets/app.js', `/partner/assets/${app.fileName}`)
        .replace('/partner/assets/app.css', `/partner/assets/${cssName}`);
      mkdirSync(here('dist'), { recursive: true });
      writeFileSync(here('dist/index.html'), html);
    },
  };
}

export default {
  input: here('src/main.ts'),
  // One entry file that also holds the code the chart chunk shares (no extra facade chunk, one request less).
  preserveEntrySignatures: false,
  output: {
    dir: here('dist/assets'),
    format: 'es',
    // Content-hashed names: the chart chunk imports the entry by this exact URL, and caches can keep both forever.
    entryFileNames: 'app-[hash].js',
    chunkFileNames: '[name]-[hash].js',
    hashCharacters: 'hex',
  },
  plugins: [
    nodeResolve({ browser: true }),
    typescript({ tsconfig: here('tsconfig.json'), outputToFilesystem: false }),
    terser({ ecma: 2020, module: true, compress: { passes: 2 }, format: { comments: false } }),
    dashboardAssets(),
  ],
};
