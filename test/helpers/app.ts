/**
 * Start the real app (real HTTP, real PostgreSQL) for a test file, with an injectable clock.
 */
import { createApp, type AppOptions, type RunningApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { freshDatabaseUrl } from './db.ts';

export interface TestApp extends RunningApp {
  /** Move the app's clock forward by `ms`. */
  advance(ms: number): void;
  stop(): Promise<void>;
  /** fetch relative to the app's URL. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** The test database (e.g. for a second process's pool). */
  databaseUrl: string;
}

/** @param opts app options besides the clock, e.g. `stripeEndpoint` of a loopback fake of Stripe's API */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: Omit<AppOptions, 'now'> = {},
): Promise<TestApp> {
  const databaseUrl = await freshDatabaseUrl();
  let offset = 0;
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    SECRET_KEY: 'test-secret-key-test-secret-key-0123456789',
    JOBS: 'off',
    LOG_LEVEL: 'error',
    ...env,
  });
  const app = createApp(config, { ...opts, now: () => new Date(Date.now() + offset) });
  const running = await app.start();
  return {
    ...running,
    advance: (ms) => {
      offset += ms;
    },
    stop: app.stop,
    request: (path, init) => fetch(running.url + path, init),
    databaseUrl,
  };
}

/** JSON helpers for the admin API. */
export function adminClient(app: TestApp, apiKey: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body ?? {}),
    patch: (path: string, body?: unknown) => call('PATCH', path, body ?? {}),
    delete: (path: string) => call('DELETE', path),
  };
}
