/**
 * The partner API client: JSON over `fetch` with the session cookie (same origin), the `X-CSRF-Token` header
 * on every state change, and errors as `ApiError` carrying the server's `{ error: { code, message } }`.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface Api {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
  /** Remember the CSRF token from `/me` or a login answer. */
  setCsrf(token: string | null): void;
  /** Called when a request answers 401 (the session ended): the app shows the login page. */
  onUnauthorized: (() => void) | null;
}

export const API_BASE = '/api/v1/partner';

/**
 * @param base prefix of every path (the partner API; the merchant console passes `/api/v1`)
 * @param extraHeaders headers added to every request (the console's `X-Partnerkit-Program`)
 */
export function createApi(
  fetchImpl: Fetch = (input, init) => fetch(input, init),
  base = API_BASE,
  extraHeaders: () => Record<string, string> = () => ({}),
): Api {
  let csrf: string | null = null;
  const api: Api = {
    onUnauthorized: null,
    setCsrf(token) {
      csrf = token;
    },
    get: (path, query) => {
      const qs = query
        ? Object.entries(query)
            .filter(([, v]) => v !== undefined && v !== '')
            .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
            .join('&')
        : '';
      return request('GET', qs ? `${path}?${qs}` : path);
    },
    post: (path, body) => request('POST', path, body ?? {}),
    put: (path, body) => request('PUT', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body ?? {}),
    delete: (path) => request('DELETE', path),
  };

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    let res: Response;
    try {
      res = await fetchImpl(base + path, {
        method,
        headers,
        body: body !== undefined ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection and try again.');
    }
    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      if (res.status === 401 && err?.code === 'not_logged_in') api.onUnauthorized?.();
      throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `The server answered ${res.status}`);
    }
    return data as T;
  }
  return api;
}
