// @vitest-environment node
/**
 * The built file, snippet/dist/pk.js, as a merchant serves it: loaded by a <script async> tag into a
 * happy-dom page, talking to a real HTTP server on 127.0.0.1. (Real Chromium comes in test/e2e/.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Browser } from 'happy-dom';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUILT, builtSnippet } from './build.ts';
import { startApiServer } from './api-server.ts';

let code: string;
let api: Awaited<ReturnType<typeof startApiServer>>;

beforeAll(async () => {
  code = builtSnippet();
  // Any other code is unknown: the server's answer to that is 200 { referral: null }.
  api = await startApiServer(code, (body) =>
    body.code === 'alice'
      ? [200, { referral: 'ref_1', affiliate: 'alice', cookieDays: 45, attribution: 'last_click' }]
      : [200, { referral: null }],
  );
});
afterAll(() => api?.close());

/** A browser whose console output is kept in `logged`. */
function newBrowser(logged: unknown[][] = []) {
  const record = (...args: unknown[]) => void logged.push(args);
  const console = { log: record, info: record, warn: record, error: record, debug: record } as unknown as Console;
  return new Browser({
    console,
    settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true },
  });
}

/** Opens a merchant page with the snippet tag as documented, plus a `ready` callback queued before load. */
async function visit(browser: Browser, url: string, scriptSrc = `${api.origin}/pk.js`) {
  const page = browser.newPage();
  page.url = url;
  page.content = `<html><head>
    <script>
      window.partnerkit = window.partnerkit || function () { (partnerkit.q = partnerkit.q || []).push(arguments) };
      partnerkit('ready', function (referral) { window.readyWith = referral; });
    </script>
    <script async src="${scriptSrc}" data-key="pk_test_1"></script>
  </head><body><a id="buy" href="https://buy.stripe.com/test_123">Buy</a></body></html>`;
  await page.waitUntilComplete();
  const window = page.mainFrame.window as unknown as Window & { readyWith?: string | null; partnerkit: any };
  await vi.waitFor(() => expect(window.readyWith).not.toBeUndefined());
  return window;
}

describe('built pk.js in a page', () => {
  const browser = newBrowser();
  afterAll(() => browser.close());

  it('records the click with the contract’s request and keeps the referral', async () => {
    const window = await visit(browser, 'http://www.shop.test/pricing?ref=alice');

    const [post, ...others] = api.posts();
    expect(others).toEqual([]);
    expect(post.path).toBe('/api/v1/track/click');
    expect(post.headers['content-type']).toBe('text/plain;charset=UTF-8');
    expect(post.headers.origin).toBe('http://www.shop.test');
    expect(JSON.parse(post.text)).toEqual({
      key: 'pk_test_1',
      code: 'alice',
      url: 'http://www.shop.test/pricing?ref=alice',
      referrer: '',
    });

    expect(window.readyWith).toBe('ref_1');
    expect([window.partnerkit.referral, window.partnerkit.affiliate]).toEqual(['ref_1', 'alice']);
    expect(window.document.querySelector<HTMLAnchorElement>('#buy')!.href).toBe(
      'https://buy.stripe.com/test_123?client_reference_id=ref_1',
    );
    const cookies = browser.defaultContext.cookieContainer.getCookies(new URL('http://app.shop.test/checkout') as any);
    const byName = Object.fromEntries(cookies.map((c) => [c.key, c]));
    expect(byName.pk_ref).toMatchObject({
      value: 'ref_1',
      domain: 'shop.test',
      path: '/',
      sameSite: 'Lax',
      secure: false,
      httpOnly: false,
    });
    expect(byName.pk_aff).toMatchObject({ value: 'alice', domain: 'shop.test', path: '/', sameSite: 'Lax' });
    expect(Math.round((byName.pk_ref.expires!.getTime() - Date.now()) / 86400_000)).toBe(45);
    expect(Object.keys(byName).sort()).toEqual(['pk_aff', 'pk_ref']); // and nothing else
  });

  it('sends nothing for the same code on the next page view', async () => {
    const before = api.posts().length;
    const window = await visit(browser, 'http://www.shop.test/features?ref=alice');
    expect(window.readyWith).toBe('ref_1');
    expect(api.posts()).toHaveLength(before);
  });

  it('keeps the existing referral when the API refuses a new code', async () => {
    const before = api.posts().length;
    const window = await visit(browser, 'http://www.shop.test/?ref=ghost');
    expect(api.posts()).toHaveLength(before + 1);
    expect(JSON.parse(api.posts().at(-1)!.text)).toMatchObject({ code: 'ghost', referral: 'ref_1' });
    expect(window.readyWith).toBe('ref_1');
    const [pkRef] = browser.defaultContext.cookieContainer
      .getCookies(new URL('http://www.shop.test/') as any)
      .filter((c) => c.key === 'pk_ref');
    expect(pkRef.value).toBe('ref_1');
  });

  it('raises no error in the page when the API is unreachable', async () => {
    const logged: unknown[][] = [];
    const offline = newBrowser(logged);
    const down = await startApiServer(code, () => [500, {}]);
    await down.close(); // nothing listens on that port any more
    const page = offline.newPage();
    page.url = 'http://www.shop.test/?ref=alice';
    page.content = `<html><head>
      <script>window.errors = []; addEventListener('error', function (e) { errors.push(e.message) });</script>
      <script data-key="pk_test_1" data-api="${down.origin}">${code}</script>
    </head><body></body></html>`;
    await page.waitUntilComplete();
    const window = page.mainFrame.window as any;
    expect(await new Promise((resolve) => window.partnerkit('ready', resolve))).toBeNull();
    expect(window.partnerkit.referral).toBeNull();
    expect(window.errors).toEqual([]);
    // The only console line is the browser's own report of the failed request (Chrome prints one too).
    expect(logged.map(([entry]) => (entry as any)?.code)).toEqual(['ECONNREFUSED']);
    await offline.close();
  });
});

describe('size', () => {
  it('is at most 1536 bytes gzip -9', () => {
    expect(gzipSync(code, { level: 9 }).length).toBeLessThanOrEqual(1536);
  });

  it('npm run size (scripts/size.mjs) reports the same gzip size and passes', () => {
    const out = execFileSync(process.execPath, ['scripts/size.mjs', BUILT], {
      cwd: new URL('../../', import.meta.url),
      encoding: 'utf8',
    });
    expect(out).toContain(`${gzipSync(code, { level: 9 }).length} B gzip -9 (budget 1536)`);
  });

  it('npm run size fails (exit 1) on a file over the budget', () => {
    const tooBig = join(mkdtempSync(join(tmpdir(), 'pk-size-')), 'big.js');
    // Random hex does not compress well: 4 KB stays over 1536 B gzip.
    writeFileSync(tooBig, randomBytes(2048).toString('hex'));
    try {
      const run = spawnSync(process.execPath, ['scripts/size.mjs', tooBig], {
        cwd: new URL('../../', import.meta.url),
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('over budget');
    } finally {
      rmSync(tooBig);
    }
  });
});
