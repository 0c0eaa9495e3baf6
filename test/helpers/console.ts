/**
 * A merchant console user as a browser would be one: the console session cookie (`pk_console`), its CSRF token,
 * and the program it works on (`X-Partnerkit-Program`), over real HTTP.
 */
import type { TestApp } from './app.ts';

/** The setup URL a fresh app logged at start (`first run: open …/app/setup?token=…`), from collected log lines. */
export function setupTokenFrom(logs: string[]): string {
  const line = logs.find((l) => l.includes('/app/setup?token='));
  if (!line) throw new Error('no setup link was logged');
  return /\/app\/setup\?token=([A-Za-z0-9_-]+)/.exec(line)![1]!;
}

export interface ConsoleClient {
  cookie: string | null;
  csrfToken: string | null;
  programId: string | null;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any }>;
}

/** A console client with no session yet; `login`/`setup` answers set its cookie and CSRF token. */
export function consoleClient(app: TestApp): ConsoleClient {
  const client: ConsoleClient = {
    cookie: null,
    csrfToken: null,
    programId: null,
    async call(method, path, body, headers = {}) {
      const res = await app.request(path, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(client.cookie ? { cookie: client.cookie } : {}),
          ...(client.csrfToken ? { 'x-csrf-token': client.csrfToken } : {}),
          ...(client.programId ? { 'x-partnerkit-program': client.programId } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const set = res.headers.getSetCookie().find((c) => c.startsWith('pk_console='));
      if (set) client.cookie = set.split(';')[0]!;
      const text = await res.text();
      const parsed = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text || null;
      if (parsed && typeof parsed === 'object' && typeof parsed.csrfToken === 'string')
        client.csrfToken = parsed.csrfToken;
      return { status: res.status, body: parsed };
    },
  };
  return client;
}

/** Log a console user in (fresh client). */
export async function consoleLogin(app: TestApp, email: string, password: string): Promise<ConsoleClient> {
  const c = consoleClient(app);
  const res = await c.call('POST', '/api/v1/console/login', { email, password });
  if (res.status !== 200) throw new Error(`console login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return c;
}
