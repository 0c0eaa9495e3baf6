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
  /**
   * GET a file (a CSV export) with the same headers as every request, and hand it to the browser as a download
   * named by the answer's `Content-Disposition`. Answers the response headers (e.g. `X-Payout-Count`).
   * @throws ApiError as the other methods do
   */
  download(path: string, query?: Record<string, string | number | undefined>): Promise<Headers>;
  /** POST a text body as it is (a CSV import) with `contentType`; answers the JSON as `post` does. */
  postText<T>(path: string, text: string, contentType: string): Promise<T>;
  /** Remember the CSRF token from `/me` or a login answer. */
  setCsrf(token: string | null): void;
  /** Called when a request answers 401 (the session ended): the app shows the login page. */
  onUnauthorized: (() => void) | null;
}

export const API_BASE = '/api/v1/partner';

/** A body sent as it is, not as JSON (`postText`). */
class RawBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

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
    get: (path, query) => request('GET', withQuery(path, query)),
    download: async (path, query) => {
      const res = await send('GET', withQuery(path, query));
      if (!res.ok) await answer(res);
      const blob = await res.blob();
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'export.csv';
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return res.headers;
    },
    post: (path, body) => request('POST', path, body ?? {}),
    postText: async (path, text, contentType) => answer(await send('POST', path, new RawBody(text, contentType))),
    put: (path, body) => request('PUT', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body ?? {}),
    delete: (path) => request('DELETE', path),
  };

  function withQuery(path: string, query?: Record<string, string | number | undefined>): string {
    const qs = query
      ? Object.entries(query)
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    return qs ? `${path}?${qs}` : path;
  }

  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders() };
    if (body instanceof RawBody) headers['content-type'] = body.contentType;
    else if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    try {
      return await fetchImpl(base + path, {
        method,
        headers,
        body: body instanceof RawBody ? body.text : body !== undefined ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection and try again.');
    }
  }

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return answer<T>(await send(method, path, body));
  }

  /** The JSON body of an answer, or its `{ error }` as an ApiError. */
  async function answer<T>(res: Response): Promise<T> {
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
