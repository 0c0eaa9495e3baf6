/**
 * A merchant's webhook receiver: a real HTTP server on 127.0.0.1 that checks every request with the
 * `standardwebhooks` library (as a merchant would), answers with the statuses it is told (then 200), and keeps what
 * it got.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  type: string;
  payload: { type: string; timestamp: string; data: Record<string, any> };
  /** Which of the receiver's secrets verified it (indexes into `secrets`). */
  verifiedWith: number[];
  status: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, in order of arrival (verified or not). */
  received: ReceivedWebhook[];
  /** Secrets to verify with (set after creating the endpoint). */
  secrets: string[];
  /** Statuses to answer with next, in order; 200 once empty. */
  answers: number[];
  /** Delay before answering, ms. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    secrets: [],
    answers: [],
    delayMs: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      const verifiedWith = receiver.secrets.flatMap((s, i) => {
        try {
          new Webhook(s).verify(body, headers);
          return [i];
        } catch {
          return [];
        }
      });
      const status = receiver.answers.shift() ?? 200;
      const payload = JSON.parse(body);
      receiver.received.push({ id: headers['webhook-id'], type: payload.type, payload, verifiedWith, status });
      if (receiver.delayMs) await new Promise((r) => setTimeout(r, receiver.delayMs));
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : `nope ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
