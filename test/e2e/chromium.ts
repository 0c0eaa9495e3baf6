/**
 * Finds (or, as a last resort, obtains) a real Chromium for the end-to-end tests, on a machine that may have
 * nothing but Node and `npm ci`. See {@link findChromium} for the order.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, createReadStream, createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createBrotliDecompress } from 'node:zlib';
import { chromium } from 'playwright-core';
import * as tar from 'tar';

export interface FoundChromium {
  /** The browser binary to hand to `chromium.launch({ executablePath })`. */
  executablePath: string;
  /** The environment to launch it with, when it needs more than `process.env` (shared libraries, fonts). */
  env?: NodeJS.ProcessEnv;
  /** Where it came from, for messages: `CHROMIUM`, `system`, `playwright cache`, `@sparticuz/chromium`... */
  source: string;
}

const require = createRequire(import.meta.url);
const HOME = os.homedir();

/** Well-known places of a system Chrome or Chromium (Debian/Ubuntu, Fedora, snap, Google's packages, macOS). */
const SYSTEM_BROWSERS =
  process.platform === 'darwin'
    ? [
        '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
        '/Applications/Chromium.app/Contents/MacOS/Chromium',
        path.join(HOME, 'Applications/Google Chrome.app/Contents/MacOS/Google Chrome'),
        path.join(HOME, 'Applications/Chromium.app/Contents/MacOS/Chromium'),
      ]
    : [
        '/usr/bin/chromium',
        '/usr/bin/chromium-browser',
        '/usr/bin/google-chrome',
        '/usr/bin/google-chrome-stable',
        '/snap/bin/chromium',
        '/usr/lib/chromium/chromium',
        '/opt/google/chrome/chrome',
      ];

/** Where a browser sits inside one `ms-playwright/<name>-<revision>/` folder, for each platform's layout. */
const PLAYWRIGHT_LAYOUTS = [
  'chrome-linux64/chrome',
  'chrome-linux/chrome',
  'chrome-headless-shell-linux64/chrome-headless-shell',
  'chrome-linux/headless_shell',
  'chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing',
  'chrome-mac-x64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing',
  'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
  'chrome-headless-shell-mac-arm64/chrome-headless-shell',
  'chrome-headless-shell-mac-x64/chrome-headless-shell',
  'chrome-mac/headless_shell',
];

let found: Promise<FoundChromium> | undefined;

/**
 * A Chromium to run the end-to-end tests in, found once per process, in this order:
 *
 * 1. `CHROMIUM` (a path to an executable): an explicit choice always wins, and a wrong one fails at once
 *    instead of silently testing in another browser.
 * 2. A system Chrome/Chromium (`/usr/bin/chromium` as `.ci/run` installs it, `chromium-browser`, `google-chrome`,
 *    snap, macOS app bundles): it comes with its own shared libraries and fonts from the OS packages.
 * 3. Playwright's browser cache (`PLAYWRIGHT_BROWSERS_PATH`, else `~/.cache/ms-playwright` or
 *    `~/Library/Caches/ms-playwright`): the exact revision playwright-core wants first, then any other.
 * 4. The Chromium shipped inside the `@sparticuz/chromium` npm package (a devDependency, so `npm ci` brings it
 *    where no browser download works). Its archives are unpacked into `node_modules/.cache/partnerkit-chromium/`
 *    together with the Amazon Linux NSS/NSPR/expat libraries it links against, and it runs with those first on
 *    `LD_LIBRARY_PATH`, so it starts on a Debian/Ubuntu that has none of Chromium's libraries (the package's own
 *    `executablePath()` only sets that up on Amazon Linux). None of its serverless `args` is used: `--single-process`,
 *    `--disable-web-security` or disabled site isolation would change what the tests check; it is a headless_shell
 *    build, for which playwright's plain `--headless` is right.
 * 5. `playwright install chromium` (playwright-core's CLI), where downloads work, then the cache again.
 *
 * If none gives a browser it throws one error that lists what was tried and what to install: no test is skipped.
 */
export function findChromium(): Promise<FoundChromium> {
  if (!found) {
    found = discover();
    // A failed attempt (e.g. a download that timed out) is not remembered: the next caller tries again.
    found.catch(() => {
      found = undefined;
    });
  }
  return found;
}

async function discover(): Promise<FoundChromium> {
  const tried: string[] = [];

  const fromEnv = process.env.CHROMIUM;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { executablePath: fromEnv, source: 'CHROMIUM' };
    throw new Error(
      `CHROMIUM=${fromEnv} is not an executable file. Point it at a Chrome/Chromium binary, or unset it to let ` +
        'the tests look for one (system packages, playwright cache, @sparticuz/chromium).',
    );
  }
  tried.push('CHROMIUM: not set');

  const system = SYSTEM_BROWSERS.find(isExecutable) ?? onPath(['chromium', 'chromium-browser', 'google-chrome']);
  if (system) return { executablePath: system, source: `system (${system})` };
  tried.push(`system browser: none of ${SYSTEM_BROWSERS.join(', ')} (nor chromium/google-chrome on PATH)`);

  const cached = inPlaywrightCache();
  if (cached) return { executablePath: cached, source: `playwright cache (${cached})` };
  tried.push(`playwright cache: nothing in ${playwrightCacheDir()}`);

  try {
    const packaged = await fromSparticuz();
    if (packaged) return packaged;
    tried.push('@sparticuz/chromium: not installed (it is a devDependency: npm ci)');
  } catch (error) {
    tried.push(`@sparticuz/chromium: ${(error as Error).message}`);
  }

  try {
    await playwrightInstall();
    const installed = inPlaywrightCache();
    if (installed) return { executablePath: installed, source: `playwright install (${installed})` };
    tried.push(`playwright install chromium: finished, but still nothing in ${playwrightCacheDir()}`);
  } catch (error) {
    tried.push(`playwright install chromium: ${installFailure(error as Error & { stdout?: string; stderr?: string })}`);
  }

  throw new Error(
    `No Chromium for the end-to-end tests. Tried:\n${tried.map((line) => `  - ${line}`).join('\n')}\n` +
      'Install one: `apt-get install chromium`, or set CHROMIUM=/path/to/chrome, or `npx playwright install chromium`.',
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(names: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (isExecutable(file)) return file;
    }
  }
  return undefined;
}

function playwrightCacheDir(): string {
  const env = process.env.PLAYWRIGHT_BROWSERS_PATH;
  if (env === '0') return path.join(path.dirname(require.resolve('playwright-core/package.json')), '.local-browsers');
  if (env) return path.resolve(env);
  if (process.platform === 'darwin') return path.join(HOME, 'Library', 'Caches', 'ms-playwright');
  return path.join(process.env.XDG_CACHE_HOME || path.join(HOME, '.cache'), 'ms-playwright');
}

/** playwright-core's own revision when it is there, else the newest full Chromium, else the newest headless shell. */
function inPlaywrightCache(): string | undefined {
  try {
    const own = chromium.executablePath();
    if (isExecutable(own)) return own;
  } catch {
    // No browser known for this platform: look in the cache anyway.
  }
  const root = playwrightCacheDir();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return undefined;
  }
  const revision = (name: string) => Number(name.slice(name.lastIndexOf('-') + 1));
  const folders = entries
    .filter((name) => /^chromium(_headless_shell)?-\d+$/.test(name))
    .sort((a, b) => Number(a.includes('headless')) - Number(b.includes('headless')) || revision(b) - revision(a));
  for (const folder of folders) {
    for (const layout of PLAYWRIGHT_LAYOUTS) {
      const file = path.join(root, folder, layout);
      if (isExecutable(file)) return file;
    }
  }
  return undefined;
}

async function playwrightInstall(): Promise<void> {
  const cli = path.join(path.dirname(require.resolve('playwright-core/package.json')), 'cli.js');
  await promisify(execFile)(process.execPath, [cli, 'install', 'chromium'], {
    timeout: 5 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** The few `Error: ...` lines of a failed `playwright install` (it retries and prints each stack), or its message. */
function installFailure(error: Error & { stdout?: string; stderr?: string }): string {
  const lines = `${error.stdout ?? ''}\n${error.stderr ?? ''}`.split('\n').map((line) => line.trim());
  const errors = [...new Set(lines.filter((line) => line.startsWith('Error: ')))];
  return errors.length ? errors.slice(0, 3).join(' / ') : error.message.split('\n')[0];
}

/**
 * `@sparticuz/chromium`'s browser, unpacked once into a cache folder:
 * `chromium` with the SwiftShader libraries beside it (as the package lays them out), `lib/` (al2023's NSS, NSPR,
 * expat), `fonts/` and a `fonts.conf` naming them and the system's font folders. Unpacked into a fresh temporary
 * folder next to the cache entry, then renamed into place: a rename is atomic, so two vitest workers doing this at
 * once both end with the same complete folder (the loser's rename fails on the existing one and is discarded).
 * `undefined` when the package is not installed or has no build for this platform.
 */
async function fromSparticuz(): Promise<FoundChromium | undefined> {
  let packageJson: string;
  try {
    packageJson = require.resolve('@sparticuz/chromium/package.json');
  } catch {
    try {
      // Its `exports` may not list package.json: find the package folder from its entry point.
      packageJson = path.join(path.dirname(require.resolve('@sparticuz/chromium')), '..', 'package.json');
    } catch {
      return undefined;
    }
  }
  const packageDir = path.dirname(packageJson);
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  const source = `@sparticuz/chromium ${version}`;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`ships a linux-x64 build only (this is ${process.platform}-${process.arch})`);
  }
  const bin = path.join(packageDir, 'bin');
  if (!existsSync(path.join(bin, 'chromium.br'))) throw new Error(`${bin}/chromium.br is missing`);

  const dir = await unpackOnce(bin, version);
  const executablePath = path.join(dir, 'chromium');
  const libraryPath = [path.join(dir, 'lib'), dir, ...(process.env.LD_LIBRARY_PATH?.split(':') ?? [])].filter(Boolean);
  return {
    executablePath,
    env: { ...process.env, LD_LIBRARY_PATH: [...new Set(libraryPath)].join(':'), FONTCONFIG_PATH: dir },
    source: `${source} (${executablePath})`,
  };
}

/** The cache folder for one package version, unpacked by this call or an earlier one (this process or another). */
async function unpackOnce(bin: string, version: string): Promise<string> {
  // node_modules/@sparticuz/chromium/bin -> node_modules/.cache/partnerkit-chromium, as other tools cache there.
  const roots = [
    path.join(bin, '..', '..', '..', '.cache', 'partnerkit-chromium'),
    path.join(os.tmpdir(), `partnerkit-chromium-${os.userInfo().uid}`),
  ];
  let lastError: unknown;
  for (const root of roots) {
    const dir = path.join(root, `sparticuz-${version}`);
    const marker = path.join(dir, '.complete');
    if (existsSync(marker)) return dir;
    try {
      await mkdir(root, { recursive: true });
      const temp = await mkdtemp(path.join(root, `.sparticuz-${version}-`));
      await chmod(temp, 0o755);
      try {
        await unpack(bin, temp, dir);
        await writeFile(path.join(temp, '.complete'), `${new Date().toISOString()}\n`);
        try {
          await rename(temp, dir);
        } catch (error) {
          // Another worker's rename came first (ENOTEMPTY/EEXIST): its folder is complete, as ours would be.
          if (!existsSync(marker)) throw error;
        }
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
      return dir;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`could not unpack it into ${roots.join(' or ')}: ${(lastError as Error).message}`);
}

/** Unpacks the package's archives into `temp`, which will be renamed to `final` (named in fonts.conf). */
async function unpack(bin: string, temp: string, final: string): Promise<void> {
  const chromiumBinary = path.join(temp, 'chromium');
  await pipeline(
    createReadStream(path.join(bin, 'chromium.br')),
    createBrotliDecompress(),
    createWriteStream(chromiumBinary, { mode: 0o755 }),
  );
  await chmod(chromiumBinary, 0o755);
  await untar(path.join(bin, 'al2023.tar.br'), temp); // lib/libnss3.so, lib/libnspr4.so, lib/libexpat.so.1...
  await untar(path.join(bin, 'swiftshader.tar.br'), temp); // libEGL.so, libGLESv2.so, libvulkan.so.1...
  await untar(path.join(bin, 'fonts.tar.br'), temp); // fonts/Open_Sans/*.ttf, and a fonts.conf for /tmp
  // Its fonts.conf names Lambda's folders: name ours, and the system's so pages render as they would elsewhere.
  const fontDirs = [path.join(final, 'fonts'), '/usr/share/fonts', '/usr/local/share/fonts', path.join(HOME, '.fonts')];
  await writeFile(
    path.join(temp, 'fonts.conf'),
    [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      '<fontconfig>',
      ...fontDirs.map((dir) => `  <dir>${escapeXml(dir)}</dir>`),
      `  <cachedir>${escapeXml(path.join(os.tmpdir(), `partnerkit-fontconfig-${os.userInfo().uid}`))}</cachedir>`,
      '</fontconfig>',
      '',
    ].join('\n'),
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Extracts a brotli-compressed tar (`*.tar.br`, as @sparticuz/chromium ships them) into `dest`, with `tar`. */
async function untar(archive: string, dest: string): Promise<void> {
  await tar.x({ file: archive, cwd: dest, brotli: true });
}
