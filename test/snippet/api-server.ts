/**
 * A real HTTP server on 127.0.0.1 standing in for the partnerkit API in tests of the built snippet:
 * serves `GET /pk.js` and answers the tracking endpoints per the contract, recording every request.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body text. */
  text: string;
}

/** Answer for one click body: `[status, json]`. */
export type ClickAnswer = (body: Record<string, any>) => [number, unknown];

/**
 * Starts the server with the snippet `code` and the click answer `answerClick`. CORS as the real API:
 * the request's Origin echoed with `Access-Control-Allow-Credentials: true`.
 */
export async function startApiServer(code: string, answerClick: ClickAnswer) {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      received.push({ method: req.method!, path: req.url!, headers: req.headers, text });
      if (req.headers.origin) {
        res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
        res.setHeader('Vary', 'Origin');
      }
      const send = (status: number, body: unknown, type = 'application/json') => {
        res.writeHead(status, { 'Content-Type': type });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === '/pk.js') return send(200, code, 'text/javascript');
      // Browsers send no preflight for the snippet's text/plain POSTs; happy-dom preflights every
      // cross-origin request, so answer it as the real API does.
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'POST');
        return send(204, '');
      }
      if (req.method === 'POST' && req.url === '/api/v1/track/click') return send(...answerClick(JSON.parse(text)));
      if (req.method === 'POST' && req.url === '/api/v1/track/lead')
        return send(200, { referral: JSON.parse(text).referral });
      send(404, { error: { code: 'not_found', message: 'Not found' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    /** The POSTs received (what the snippet sent), in order. */
    posts: () => received.filter((r) => r.method === 'POST'),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
