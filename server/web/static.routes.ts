/**
 * Built front-end files: the snippet at `GET /pk.js`, the partner dashboard at `GET /partner/` and the merchant
 * console at `GET /app/` (`dashboard/dist/console/`).
 * Both are built by rollup (`npm run build`, run by `npm install` and `npm start`); files are read once and
 * kept in memory (they are small), re-read if they were missing at first.
 */
import Router from '@koa/router';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError, NotFoundError } from '../lib/errors.ts';

/** The package root: the nearest folder above this file with a package.json (this file runs from `server/` under
 * tsx and vitest, and from `dist/server/` when compiled for `npm start`). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
const ROOT = packageRoot();
const TYPES: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

interface Asset {
  body: Buffer;
  /** The same bytes compressed once at load (best quality: it is paid once per process, not per request), for
   * text types only; absent when compressing would not make the file smaller. */
  br?: Buffer;
  gzip?: Buffer;
  etag: string;
  type: string;
}

/** Brotli (quality 11) and gzip (level 9) forms of a text file, kept only when smaller than the file. */
function precompress(body: Buffer, type: string): Pick<Asset, 'br' | 'gzip'> {
  if (!/^(text\/|application\/(javascript|json)|image\/svg)/.test(type) || body.length < 256) return {};
  const br = brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } });
  const gzip = gzipSync(body, { level: 9 });
  return { ...(br.length < body.length ? { br } : {}), ...(gzip.length < body.length ? { gzip } : {}) };
}

function assetLoader(dir: string) {
  const cache = new Map<string, Asset>();
  return async (name: string): Promise<Asset | null> => {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return null;
    const hit = cache.get(name);
    if (hit) return hit;
    try {
      const body = await readFile(path.join(dir, name));
      const type = TYPES[path.extname(name)] ?? 'application/octet-stream';
      const asset = {
        body,
        ...precompress(body, type),
        etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
        type,
      };
      cache.set(name, asset);
      return asset;
    } catch {
      return null;
    }
  };
}

type Send = (ctx: import('koa').Context, asset: Asset, cacheControl: string) => void;

/**
 * Serve one built single-page app under `prefix`: `<prefix>` redirects to `<prefix>/`, `<prefix>/assets/<file>`
 * are its built files (content-hashed names cached immutably), and every other `<prefix>/...` path is its
 * `index.html` (client-side routes), with a strict Content-Security-Policy.
 */
function singlePageApp(router: Router, send: Send, prefix: string, dir: string, notBuilt: string, what: string) {
  const page = assetLoader(dir);
  const assets = assetLoader(path.join(dir, 'assets'));
  const escaped = prefix.replace(/[/]/g, '\\/');
  // Exactly `<prefix>` (the router's string paths also match a trailing slash, which would loop).
  router.get(new RegExp(`^${escaped}$`), (ctx) => ctx.redirect(`${prefix}/`));
  router.get(`${prefix}/assets/:file`, async (ctx) => {
    const asset = await assets(ctx.params.file!);
    if (!asset) throw new NotFoundError('Asset');
    // Built files carry a content hash in their name (app-<hash>.js): such a URL never changes content, so
    // browsers may keep it; anything else revalidates soon.
    const versioned = /-[A-Za-z0-9_]{8,}\.(js|css)$/.test(ctx.params.file!);
    send(ctx, asset, versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
  });
  router.get(new RegExp(`^${escaped}\\/(?!assets\\/).*$`), async (ctx) => {
    const asset = await page('index.html');
    if (!asset) throw new AppError(503, notBuilt, `${what} is not built; run npm run build`);
    // Scripts only from our own files (no inline script anywhere); uPlot sizes its elements with inline styles.
    // Images also from any https: origin: the program's logo (branding, migration 0032) is an https URL of the
    // merchant's choosing; an image cannot run script, and http: logos are refused when set.
    ctx.set(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    send(ctx, asset, 'no-cache');
  });
}

export function staticRoutes(opts: { snippetDir?: string; dashboardDir?: string } = {}): Router {
  const snippet = assetLoader(opts.snippetDir ?? path.join(ROOT, 'snippet', 'dist'));
  const dashboardDir = opts.dashboardDir ?? path.join(ROOT, 'dashboard', 'dist');
  const router = new Router();

  const send: Send = (ctx, asset, cacheControl) => {
    ctx.set('ETag', asset.etag);
    ctx.set('Cache-Control', cacheControl);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.vary('Accept-Encoding');
    // Served here already compressed: the app-wide compression middleware must not compress it again per request.
    ctx.compress = false;
    if (ctx.get('if-none-match') === asset.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type;
    // One ETag for every encoding: the representations decode to the same bytes (weak-comparison semantics,
    // RFC 9110 §8.8.3), and Vary: Accept-Encoding keeps shared caches from mixing them up.
    const encoding = ctx.acceptsEncodings(...(asset.br ? ['br'] : []), ...(asset.gzip ? ['gzip'] : []), 'identity');
    if (encoding === 'br' && asset.br) {
      ctx.set('Content-Encoding', 'br');
      ctx.body = asset.br;
    } else if (encoding === 'gzip' && asset.gzip) {
      ctx.set('Content-Encoding', 'gzip');
      ctx.body = asset.gzip;
    } else {
      ctx.body = asset.body;
    }
  };

  router.get('/pk.js', async (ctx) => {
    const asset = await snippet('pk.js');
    if (!asset) throw new AppError(503, 'snippet_not_built', 'The snippet is not built; run npm run build');
    // Short cache: merchants pick up fixes within the hour; the ETag makes revalidation cheap.
    ctx.set('Access-Control-Allow-Origin', '*');
    send(ctx, asset, 'public, max-age=3600');
  });

  // The partner dashboard at /partner/ and the merchant console at /app/: the same kind of single-page app.
  singlePageApp(router, send, '/partner', dashboardDir, 'dashboard_not_built', 'The dashboard');
  singlePageApp(router, send, '/app', path.join(dashboardDir, 'console'), 'console_not_built', 'The console');
  return router;
}
