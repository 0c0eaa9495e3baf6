// Builds snippet/src/*.ts into one IIFE, snippet/dist/pk.js, and prints its size on every build.
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import { fileURLToPath } from 'node:url';
import { BUDGET, measure, report } from '../scripts/size.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Prints raw/gzip/brotli sizes and warns when over budget (`npm run size` is the failing check). */
const sizeReport = () => ({
  name: 'size-report',
  generateBundle(_options, bundle) {
    for (const chunk of Object.values(bundle)) {
      if (chunk.type !== 'chunk') continue;
      const sizes = measure(chunk.code);
      console.log(report(chunk.fileName, sizes));
      if (sizes.gzip > BUDGET) this.warn(`${chunk.fileName} is over the ${BUDGET} B gzip budget`);
    }
  },
});

export default {
  input: here('src/index.ts'),
  output: {
    file: here('dist/pk.js'),
    format: 'iife',
    // No 'use strict' prologue and no banner: every byte is downloaded on every merchant page.
    strict: false,
  },
  plugins: [
    typescript({ tsconfig: here('tsconfig.json'), outputToFilesystem: false }),
    terser({
      ecma: 2020,
      compress: { passes: 3, unsafe_arrows: true, pure_getters: true },
      format: { comments: false },
    }),
    sizeReport(),
  ],
};
