/**
 * The OpenAPI document's `webhooks` section describes every event of the catalogue, with the Standard Webhooks
 * headers and an example payload that its own schema (the admin API's shapes) accepts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../server/outgoing-webhooks/events.ts';
import { webhookPayloadShape } from '../../server/outgoing-webhooks/webhook-endpoints.schemas.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.stop();
});

it('documents each event type with its headers and an example that parses with its shape', async () => {
  const doc = (await (await app.request('/api/v1/openapi.json')).json()) as { webhooks: Record<string, any> };
  expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
  for (const type of EVENT_TYPES) {
    const post = doc.webhooks[type].post;
    expect(post.parameters.map((p: { name: string }) => p.name)).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    const example = post.requestBody.content['application/json'].example;
    const parsed = webhookPayloadShape(type).safeParse(example);
    expect(parsed.success, `${type}: ${parsed.error?.message}`).toBe(true);
    expect(post.requestBody.content['application/json'].schema.properties.type.const).toBe(type);
  }
});
