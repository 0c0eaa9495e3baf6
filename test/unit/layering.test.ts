/**
 * The import rule of `server/` (docs/architecture.md): imports point one way,
 *   main → app → web/ → services.ts → domains → http/ → db/ → config.ts → lib/
 * and never back up. Domains (one folder per concept) may import each other; `lib/` imports nothing of ours
 * outside `lib/`. This parses every relative import and fails naming each one that points up.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const SERVER = path.resolve(import.meta.dirname, '../../server');

/** Lower rank = lower layer; a file may import only files of a rank <= its own (domains: any domain). */
function rank(file: string): number {
  const [top] = file.split('/');
  if (top === 'lib') return 0;
  if (file === 'config.ts') return 1;
  if (top === 'db') return 2;
  if (top === 'http') return 3;
  if (file === 'services.ts') return 5;
  if (top === 'web') return 6;
  if (file === 'app.ts') return 7;
  if (file === 'main.ts') return 8;
  return 4; // a domain folder
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

it('server imports point one way: main → app → web → services → domains → http → db → config → lib', () => {
  const upward: string[] = [];
  let imports = 0;
  for (const full of sources(SERVER)) {
    const file = path.relative(SERVER, full);
    const text = readFileSync(full, 'utf8');
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(SERVER, path.resolve(path.dirname(full), match[1]!));
      imports++;
      if (target.startsWith('..')) upward.push(`${file} → ${match[1]} (outside server/)`);
      else if (rank(target) > rank(file)) upward.push(`${file} → ${target}`);
    }
  }
  expect(imports).toBeGreaterThan(200); // the parser sees the tree's imports
  expect(upward).toEqual([]);
});
