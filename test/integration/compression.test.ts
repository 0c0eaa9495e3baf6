/**
 * What goes over the wire: built files (snippet, dashboard scripts) are sent brotli- or gzip-compressed to clients
 * that accept it, decode to exactly the file on disk, keep one ETag and `Vary: Accept-Encoding`; API answers of
 * 1 KB and more are compressed too, while the snippet's small tracking answers are not. Read with node:http, which
 * (unlike fetch) shows the bytes as sent.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const root = path.resolve(import.meta.dirname, '../..');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function raw(pathname: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.url}${pathname}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const decode = (r: Raw): Buffer =>
  r.headers['content-encoding'] === 'br'
    ? brotliDecompressSync(r.body)
    : r.headers['content-encoding'] === 'gzip'
      ? gunzipSync(r.body)
      : r.body;

/** The dashboard's hashed script, as named in its built index.html. */
async function dashboardScript(): Promise<string> {
  const html = await readFile(path.join(root, 'dashboard/dist/index.html'), 'utf8');
  const src = /src="([^"]*\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  if (!src) throw new Error('no script in dashboard/dist/index.html');
  return src.startsWith('/') ? src : `/partner/${src.replace(/^\.\//, '')}`;
}

describe('built files', () => {
  it.each([
    ['br', 'br, gzip'],
    ['gzip', 'gzip, deflate'],
    [undefined, 'identity'],
    [undefined, ''],
  ])('are sent as %s for Accept-Encoding "%s" and decode to the file on disk', async (expected, accept) => {
    const script = await dashboardScript();
    const onDisk = await readFile(path.join(root, 'dashboard/dist', script.replace(/^\/partner\//, '')));
    const r = await raw(script, accept ? { 'accept-encoding': accept } : {});
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe(expected);
    expect(r.headers.vary).toMatch(/accept-encoding/i);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(decode(r).equals(onDisk)).toBe(true);
    if (expected) expect(r.body.length).toBeLessThan(onDisk.length / 2);
  });

  it('keep one ETag across encodings, and a matching If-None-Match gets 304 in any encoding', async () => {
    const br = await raw('/pk.js', { 'accept-encoding': 'br' });
    const plain = await raw('/pk.js');
    expect(br.headers['content-encoding']).toBe('br');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(br.headers.etag).toBe(plain.headers.etag);
    const again = await raw('/pk.js', { 'accept-encoding': 'gzip', 'if-none-match': String(br.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(decode(br).equals(await readFile(path.join(root, 'snippet/dist/pk.js')))).toBe(true);
  });
});

describe('API answers', () => {
  it('of 1 KB and more are compressed and decode to the same JSON', async () => {
    const plain = await raw('/api/v1/openapi.json');
    const gz = await raw('/api/v1/openapi.json', { 'accept-encoding': 'gzip' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.body.length).toBeLessThan(plain.body.length / 3);
    expect(JSON.parse(decode(gz).toString('utf8'))).toEqual(JSON.parse(plain.body.toString('utf8')));
  });

  it('that are small (the snippet’s click) are sent as they are', async () => {
    const program = await app.services.programs.create({ name: 'Shop', website: 'https://shop.test' });
    const r = await raw(
      '/api/v1/track/click',
      { 'content-type': 'text/plain', origin: 'https://shop.test', 'accept-encoding': 'br, gzip' },
      'POST',
      JSON.stringify({ key: program.publicKey, code: 'nobody' }),
    );
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(r.body.toString('utf8'))).toEqual({ referral: null });
  });
});
