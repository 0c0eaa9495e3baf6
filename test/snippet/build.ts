/**
 * The built snippet for tests: snippet/dist/pk.js, rebuilt with the real rollup config when it is
 * missing or older than its sources (`npm test` builds first; a lone `vitest run test/snippet` may not).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const BUILT = `${root}snippet/dist/pk.js`;

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

/** Returns the code of snippet/dist/pk.js, building it first when stale. */
export function builtSnippet(): string {
  const sources = [
    `${root}snippet/rollup.config.mjs`,
    `${root}snippet/tsconfig.json`,
    `${root}scripts/size.mjs`,
    ...readdirSync(`${root}snippet/src`).map((name) => `${root}snippet/src/${name}`),
  ];
  if (mtime(BUILT) < Math.max(...sources.map(mtime))) {
    execFileSync(
      process.execPath,
      [`${root}node_modules/rollup/dist/bin/rollup`, '-c', 'snippet/rollup.config.mjs', '--silent'],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
  }
  return readFileSync(BUILT, 'utf8');
}
