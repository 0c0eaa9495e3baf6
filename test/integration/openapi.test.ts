/**
 * `GET /api/v1/openapi.json` describes the API the server really serves: every documented operation reaches a
 * route (never `route_not_found`), admin operations demand the API key, and bodies carry the zod-derived schema.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { mountedRouters } from '../../server/web/koa.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

it('documents only routes that exist, with their authentication and request schemas', async () => {
  const res = await app.request('/api/v1/openapi.json');
  expect(res.status).toBe(200);
  const doc = (await res.json()) as {
    openapi: string;
    paths: Record<string, Record<string, { security: Array<Record<string, unknown>>; requestBody?: any }>>;
  };
  expect(doc.openapi).toBe('3.1.0');
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, o]) => ({ path, method, o })),
  );
  expect(operations.length).toBeGreaterThan(50);
  for (const { path, method, o } of operations) {
    const url = path.replace(/\{\w+\}/g, 'x_missing');
    const r = await app.request(url, {
      method: method.toUpperCase(),
      redirect: 'manual',
      headers: { 'content-type': 'application/json' },
      body: method === 'get' ? undefined : '{}',
    });
    const body = r.headers.get('content-type')?.includes('json') ? await r.json() : null;
    expect(body?.error?.code, `${method.toUpperCase()} ${path}`).not.toBe('route_not_found');
    if (o.security.some((s) => 'apiKey' in s))
      expect(r.status, `${method.toUpperCase()} ${path} without a key`).toBe(401);
    if (o.security.some((s) => 'partnerSession' in s))
      expect(r.status, `${method.toUpperCase()} ${path} without a session`).toBe(401);
  }
  const createAffiliate = doc.paths['/api/v1/affiliates']!.post!.requestBody.content['application/json'].schema;
  expect(createAffiliate.required).toEqual(expect.arrayContaining(['email', 'name']));
});

it('documents every route the server serves (each router method and path has an operation)', async () => {
  const doc = (await (await app.request('/api/v1/openapi.json')).json()) as { paths: Record<string, object> };
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), url: p.replace(/\{\w+\}/g, 'sample_id') })),
  );
  const config = loadConfig({
    DATABASE_URL: app.databaseUrl,
    SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
  });
  const { publicRouters, adminRouters } = mountedRouters(app.services, config, async () => ({ ready: true }) as never);
  const served = [...publicRouters, ...adminRouters].flatMap((r) =>
    (r.stack as Array<{ methods: string[]; path: string | RegExp; regexp: RegExp }>).flatMap((layer) =>
      layer.methods
        .filter((m) => m !== 'HEAD')
        .map((method) => ({ method, path: String(layer.path), regexp: layer.regexp })),
    ),
  );
  expect(served.length).toBeGreaterThan(50);
  const undocumented = served
    .filter(({ method, regexp }) => !documented.some((d) => d.method === method && regexp.test(d.url)))
    .map(({ method, path }) => `${method} ${path}`);
  expect(undocumented).toEqual([]);
});
