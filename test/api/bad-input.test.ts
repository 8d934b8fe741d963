// Bad input against every JSON API route (SECURITY.md, "Bad input"; DESIGN.md: "Bad
// input gets a clear 4xx error in the API's error shape, never a 500, never a crash").
//
// Routes are discovered from GET /openapi.json (paths, methods, request body schemas,
// query and path parameters, bearer security), so routes added later are fuzzed too;
// the routes the harness and the foundation suite rely on are added when missing.
// Every request is counted and the total is printed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { addUser, dialects, expectErrorShape, setUpAccount, signIn, startTestApp, STRONG_PASSWORD, type TestApp } from '../support/harness.js';
import { percentEncodeLoosely } from '../support/routes.js';
import { startSignInFlow } from '../../src/services/sign-in-flow.js';
import { findAccountBySlug } from '../../src/store/accounts.js';
import { AccountUsers } from '../../src/store/users.js';

// ---------------------------------------------------------------------------------
// Routes

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minLength?: number;
  maxLength?: number;
  /** OpenAPI 3.0's way to admit null (fastify-swagger writes a union with null so). */
  nullable?: boolean;
};

interface Route {
  method: string;
  /** Fastify style: /api/v1/admin/users/:id */
  path: string;
  /** The JSON request body's schema, or null when the route takes no body. */
  body: JsonSchema | null;
  query: { name: string; schema: JsonSchema }[];
  needsToken: boolean;
}

/** Routes used by test/support/harness.ts and test/api/foundation.test.ts: fuzzed even
 * if they ever drop out of the OpenAPI document. */
const KNOWN_ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/api/v1/setup',
    body: {
      type: 'object',
      required: ['token', 'account_name', 'account_slug', 'name', 'email', 'password'],
      properties: str('token', 'account_name', 'account_slug', 'name', 'email', 'password'),
    },
    query: [],
    needsToken: false,
  },
  {
    method: 'POST',
    path: '/api/v1/sign-in',
    body: { type: 'object', required: ['account', 'email', 'password'], properties: str('account', 'email', 'password') },
    query: [],
    needsToken: false,
  },
  {
    method: 'POST',
    path: '/api/v1/password-reset',
    body: { type: 'object', required: ['account', 'email'], properties: str('account', 'email') },
    query: [],
    needsToken: false,
  },
  {
    method: 'POST',
    path: '/api/v1/password-reset/complete',
    body: { type: 'object', required: ['token', 'new_password'], properties: str('token', 'new_password') },
    query: [],
    needsToken: false,
  },
  {
    method: 'POST',
    path: '/api/v1/invitations/accept',
    body: { type: 'object', required: ['token', 'password'], properties: str('token', 'password') },
    query: [],
    needsToken: false,
  },
  { method: 'GET', path: '/api/v1/me', body: null, query: [], needsToken: true },
  { method: 'POST', path: '/api/v1/sign-out', body: null, query: [], needsToken: true },
  {
    method: 'PUT',
    path: '/api/v1/me/password',
    body: { type: 'object', required: ['current_password', 'new_password'], properties: str('current_password', 'new_password') },
    query: [],
    needsToken: true,
  },
  { method: 'GET', path: '/api/v1/admin/users', body: null, query: [{ name: 'filter', schema: { enum: ['staff_without_2fa'] } }], needsToken: true },
  {
    method: 'POST',
    path: '/api/v1/admin/users',
    body: {
      type: 'object',
      required: ['email', 'role'],
      properties: { email: { type: 'string' }, role: { enum: ['admin', 'agent', 'end_user'] }, name: { type: 'string' } },
    },
    query: [],
    needsToken: true,
  },
  {
    method: 'PATCH',
    path: '/api/v1/admin/users/:id',
    body: { type: 'object', properties: { role: { enum: ['admin', 'agent', 'end_user'] }, suspended: { type: 'boolean' } } },
    query: [],
    needsToken: true,
  },
];

function str(...names: string[]): Record<string, JsonSchema> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }]));
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function discoverRoutes(app: TestApp): Promise<Route[]> {
  const response = await app.api('GET', '/openapi.json');
  assert.equal(response.statusCode, 200);
  const spec = response.json() as { paths: Record<string, Record<string, Record<string, unknown>>> };
  const found: Route[] = [];
  for (const [openApiPath, operations] of Object.entries(spec.paths)) {
    if (!openApiPath.startsWith('/api/')) continue;
    for (const [method, operation] of Object.entries(operations)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const requestBody = operation.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined;
      const parameters = (operation.parameters ?? []) as { in: string; name: string; schema?: JsonSchema }[];
      const security = operation.security as unknown[] | undefined;
      found.push({
        method: method.toUpperCase(),
        path: openApiPath.replace(/\{([^}]+)\}/g, ':$1'),
        body: requestBody?.content?.['application/json']?.schema ?? null,
        query: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        needsToken: Array.isArray(security) && security.length > 0,
      });
    }
  }
  for (const known of KNOWN_ROUTES) {
    if (!found.some((route) => route.method === known.method && route.path === known.path)) found.push(known);
  }
  return found;
}

// ---------------------------------------------------------------------------------
// Values

/** The JSON types a schema admits (of string, number, integer, boolean, null, array, object). */
function typesOf(schema: JsonSchema): Set<string> {
  const types = new Set<string>();
  if (schema.type) for (const type of [schema.type].flat()) types.add(type);
  if (schema.nullable) types.add('null');
  for (const value of schema.enum ?? []) types.add(value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
  for (const inner of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) for (const type of typesOf(inner)) types.add(type);
  if (types.has('integer')) types.add('number');
  return types;
}

function enumOf(schema: JsonSchema): unknown[] {
  return [...(schema.enum ?? []), ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap(enumOf)];
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function bogusToken(): string {
  return `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

let uniqueCounter = 0;

/** A plausible value for a property, by its schema and name, so one mutated field at a
 * time reaches the code behind validation. Passwords and tokens are never right. */
function sampleValue(name: string, schema: JsonSchema): unknown {
  const values = enumOf(schema);
  if (values.length > 0) return values[0];
  const types = typesOf(schema);
  if (!types.has('string') && types.size > 0) {
    if (types.has('boolean')) return true;
    if (types.has('number')) return 1;
    if (types.has('array')) return [];
    if (types.has('object')) return {};
  }
  uniqueCounter += 1;
  if (/email/.test(name)) return `fuzz-${uniqueCounter}@acme.test`;
  if (/^account(_slug)?$/.test(name)) return 'acme';
  if (/password/.test(name)) return 'fuzz wrong password 9 quietly';
  if (/token/.test(name)) return bogusToken();
  if (/code/.test(name)) return '123456';
  if (/phone/.test(name)) return '+15555550123';
  if (/name/.test(name)) return 'Fuzz Person';
  if (/reason/.test(name)) return 'fuzzing the API';
  if (/(^|_)id$/.test(name)) return randomBytes(16).toString('base64url');
  return 'x';
}

function template(schema: JsonSchema): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of schema.required ?? []) body[name] = sampleValue(name, schema.properties?.[name] ?? {});
  return body;
}

/** Strings that trick parsers, databases and people. */
type TrickKind = 'nul' | 'control' | 'lone_surrogate' | 'bidi' | 'invisible' | 'confusable' | 'long';
const TRICKS: { kind: TrickKind; value: string }[] = [
  { kind: 'nul', value: 'a\u0000b' },
  { kind: 'control', value: '\u001b[31m\r\n\u0007' },
  { kind: 'lone_surrogate', value: '\ud800' },
  { kind: 'lone_surrogate', value: 'x\udc00\ud800y' },
  { kind: 'bidi', value: 'gpj.\u202eexe' },
  { kind: 'invisible', value: 'ad\u200bmin\ufeff' },
  { kind: 'confusable', value: 'аdmin' }, // Cyrillic а
  { kind: 'confusable', value: 'ａｃｍｅ e\u0301\u0301İ😀' }, // fullwidth, combining marks, dotted İ, emoji
  { kind: 'long', value: 'x'.repeat(10_000) },
];

/** Puts a trick inside a plausible value: before the "@" of an email, else in front. */
function embed(value: unknown, trick: string): unknown {
  if (typeof value !== 'string') return trick;
  const at = value.indexOf('@');
  return at > 0 ? `${value.slice(0, at)}${trick}${value.slice(at)}` : `${trick}${value}`;
}

const WRONG_TYPES: unknown[] = [0, true, null, ['x'], {}, { $gt: '' }];

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

// ---------------------------------------------------------------------------------
// Cases and expectations

/**
 * `reject`: the answer must be 4xx with the error shape.
 * `either`: the input may be accepted; the answer must not be 5xx, and a 4xx must have
 *   the error shape.
 * `too_large`: 413 with the error shape.
 */
type Expectation = 'reject' | 'either' | 'too_large';

interface Case {
  label: string;
  url: string;
  payload?: string;
  contentType?: string | null;
  expect: Expectation;
  /** Which body field was mutated, and how (for the allow-list). */
  field?: string;
  trick?: TrickKind;
  embedded?: boolean;
  /** False when a path parameter is one that cannot exist (too long, NUL, bad encoding). */
  pathIsPlain?: boolean;
}

/**
 * Where accepting a tricky string is right, not a bug:
 * - POST /api/v1/password-reset always answers the same, whether the email exists or
 *   not (DESIGN.md row 1), so it answers 200 to any well-typed body.
 * - Display names (name, account_name) are free text: control characters are
 *   stripped (normalizeDisplayName) and visible Unicode is fine. A lone surrogate cannot be
 *   stored as given (it would silently become U+FFFD), so it is refused everywhere.
 * - Visible Unicode (confusables, fullwidth, combining marks, emoji) inside a plausible
 *   value is legitimate text anywhere (internationalised emails, names).
 */
function trickExpectation(route: Route, field: string, trick: TrickKind, embedded: boolean): Expectation {
  if (route.method === 'POST' && route.path === '/api/v1/password-reset') return 'either';
  if (trick === 'lone_surrogate') return 'reject';
  if (/(^|_)name$/.test(field) && trick !== 'long') return 'either';
  if (embedded && trick === 'confusable') return 'either';
  return 'reject';
}

function bodyCases(route: Route, url: string): Case[] {
  const cases: Case[] = [];
  const json = (label: string, payload: string, expect: Expectation, extra: Partial<Case> = {}) =>
    cases.push({ label, url, payload, contentType: 'application/json', expect, ...extra });
  const schema = route.body;
  const takesBody = schema !== null;
  // Bodies that must fail to parse, whatever the route.
  for (const raw of ['{', '[1,', 'nul', '', "{'a':1}", '{"a":"\\ud800']) json(`malformed JSON ${JSON.stringify(raw)}`, raw, 'reject');
  json('a 1 MB JSON body', JSON.stringify({ [Object.keys(schema?.properties ?? { x: 1 })[0] ?? 'x']: 'a'.repeat(1024 * 1024) }), 'too_large');
  cases.push({ label: 'a 1 MB form body', url, payload: `a=${'b'.repeat(1024 * 1024)}`, contentType: 'application/x-www-form-urlencoded', expect: 'reject' }); // 413 or 415: the API takes JSON only
  cases.push({ label: 'XML body', url, payload: '<a>1</a>', contentType: 'application/xml', expect: 'reject' });
  cases.push({ label: 'a body without a content type', url, payload: '{"a":1}', contentType: null, expect: 'reject' });
  cases.push({
    label: 'multipart body',
    url,
    payload: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
    expect: 'reject',
  });

  const shaped: Expectation = takesBody ? 'reject' : 'either';
  const needsFields = takesBody && (schema.required ?? []).length > 0;
  // Well-formed JSON of the wrong shape. A route without a body accepts whatever
  // parses (its answer may be a success, which may even cost something, like a QR
  // code): a few of those are enough there.
  for (const raw of takesBody ? ['[]', '[1,2]', '"a string"', '42', 'true', 'null', '[{"a":1}]'] : ['[]', 'null']) json(`a JSON ${raw} body`, raw, shaped);
  if (!takesBody) {
    cases.push({ label: 'text/plain body', url, payload: 'hello', contentType: 'text/plain', expect: 'either' });
    return cases;
  }
  json('an empty object (missing fields)', '{}', needsFields ? 'reject' : 'either');
  json('depth 1000 nested object', deepObject(1000), needsFields ? 'reject' : 'either');
  json('depth 1000 nested array', deepArray(1000), shaped);
  json('prototype pollution keys', '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}', needsFields ? 'reject' : 'either');
  cases.push({ label: 'text/plain JSON', url, payload: JSON.stringify(template(schema)), contentType: 'text/plain', expect: shaped });
  cases.push({
    label: 'form-urlencoded garbage',
    url,
    payload: 'a=1&b=%00&c[]=x',
    contentType: 'application/x-www-form-urlencoded',
    expect: needsFields ? 'reject' : 'either',
  });

  const properties = Object.entries(schema.properties ?? {});
  // Plausible bodies (each property once, with the required ones), so a bad path
  // parameter reaches the code behind validation.
  for (const [name, propertySchema] of properties) {
    json(`plausible body with ${name}`, JSON.stringify({ ...template(schema), [name]: sampleValue(name, propertySchema) }), 'either', {
      field: `plausible:${name}`,
    });
  }
  for (const [name, propertySchema] of properties) {
    const admitted = typesOf(propertySchema);
    // Wrong types, one field at a time, the others plausible.
    for (const wrong of WRONG_TYPES) {
      if (admitted.has(jsonTypeOf(wrong)) || (admitted.size === 0 && !enumOf(propertySchema).length)) continue;
      json(`${name} = ${JSON.stringify(wrong)}`, JSON.stringify({ ...template(schema), [name]: wrong }), 'reject', { field: name });
    }
    if (!admitted.has('object')) {
      json(`${name} = depth 1000 object`, JSON.stringify({ ...template(schema), [name]: '__DEEP__' }).replace('"__DEEP__"', deepObject(1000)), 'reject', {
        field: name,
      });
    }
    // Duplicate keys: the last value is of the wrong type.
    const rest = JSON.stringify({ ...template(schema), [name]: undefined }).slice(1, -1);
    const good = JSON.stringify(sampleValue(name, propertySchema));
    json(`duplicate key ${name}`, `{${rest}${rest ? ',' : ''}"${name}":${good},"${name}":12345}`, 'reject', { field: name });
    // Tricky strings, as the whole value and inside a plausible one.
    if (admitted.has('string') || admitted.size === 0) {
      // A password only ever reaches argon2id (one costly verify per request): a few
      // tricks are enough there.
      const isPassword = /password/.test(name);
      for (const trick of TRICKS) {
        if (isPassword && !['nul', 'lone_surrogate', 'long'].includes(trick.kind)) continue;
        json(
          `${name} = ${trick.kind} ${JSON.stringify(trick.value.slice(0, 20))}`,
          JSON.stringify({ ...template(schema), [name]: trick.value }),
          trickExpectation(route, name, trick.kind, false),
          {
            field: name,
            trick: trick.kind,
            embedded: false,
          },
        );
        const embedded = embed(sampleValue(name, propertySchema), trick.value);
        if (!isPassword && trick.kind !== 'long' && typeof embedded === 'string' && enumOf(propertySchema).length === 0) {
          json(
            `${name} ∋ ${trick.kind} ${JSON.stringify(trick.value.slice(0, 20))}`,
            JSON.stringify({ ...template(schema), [name]: embedded }),
            trickExpectation(route, name, trick.kind, true),
            {
              field: name,
              trick: trick.kind,
              embedded: true,
            },
          );
        }
      }
    }
  }
  return cases;
}

function queryCases(route: Route, url: string): Case[] {
  const cases: Case[] = [];
  for (const { name, schema } of route.query) {
    const strict = enumOf(schema).length > 0 || (typesOf(schema).size > 0 && !typesOf(schema).has('string'));
    const values = [...TRICKS.map((t) => t.value), '', '%', '%E0%A4%A', '../../etc/passwd', '1e308', '[object Object]'];
    for (const value of values) {
      cases.push({
        label: `?${name}=${JSON.stringify(value.slice(0, 20))}`,
        url: `${url}?${name}=${percentEncodeLoosely(value)}`,
        expect: strict && value !== '' ? 'reject' : 'either',
      });
    }
    cases.push({ label: `?${name} repeated`, url: `${url}?${name}=a&${name}=b`, expect: 'either' });
    cases.push({ label: `?${name}[x]=1`, url: `${url}?${name}[x]=1&${name}[y]=2`, expect: 'either' });
    cases.push({ label: `?${name} raw bad percent`, url: `${url}?${name}=%E0%A4%A&x=%`, expect: 'either' });
  }
  return cases;
}

/** Path parameters: a random id, a very long one, and a few nasty ones. */
function pathVariants(route: Route): { label: string; url: string; random: boolean }[] {
  if (!route.path.includes(':')) return [{ label: '', url: route.path, random: false }];
  const fill = (value: string) => route.path.replace(/:[A-Za-z_]+/g, value);
  return [
    { label: '[random id] ', url: fill(randomBytes(16).toString('base64url')), random: true },
    { label: '[100-char id] ', url: fill('a'.repeat(100)), random: false },
    { label: '[very long id] ', url: fill('a'.repeat(5000)), random: false },
    { label: '[NUL id] ', url: fill('ab%00cd'), random: false },
    { label: '[bad percent id] ', url: fill('%E0%A4%A'), random: false },
    { label: '[unicode id] ', url: fill(encodeURIComponent('\u202eаdmin😀')), random: false },
    { label: '[lone surrogate id] ', url: fill(percentEncodeLoosely('a\ud800b')), random: false },
    { label: '[dot-dot id] ', url: fill('..%2F..%2Fadmin'), random: false },
  ];
}

// ---------------------------------------------------------------------------------
// Sending and checking

interface Sent {
  count: number;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Checks one answer; returns a failure line, or null when it is right. */
function judge(response: LightMyRequestResponse, expect: Expectation, options: { authFirst: boolean }): string | null {
  const status = response.statusCode;
  const body = response.body.slice(0, 120);
  if (status >= 500) return `answered ${status}: ${body}`;
  if (expect === 'too_large' && status !== 413 && !(options.authFirst && status === 401)) return `expected 413, got ${status}: ${body}`;
  if (expect === 'reject' && (status < 400 || status >= 500)) return `expected a 4xx, got ${status}: ${body}`;
  if (status >= 400) {
    try {
      expectErrorShape(parseJson(response.body));
    } catch {
      return `${status} without the error shape: ${body}`;
    }
  }
  return null;
}

/** Failures grouped by route and kind of problem, each with its count and one example. */
function summarize(failures: string[]): string {
  const groups = new Map<string, { count: number; example: string }>();
  for (const failure of failures) {
    const head = /^(\S+) (\S+)/.exec(failure);
    const url = (head?.[2] ?? '').replace(/\/[^/]{25,}$/, '/<long>');
    const mutation = / (\w+) (=|∋) ([a-z_]+) /.exec(failure);
    const problem = /: (answered \d{3}|expected [^,]+, got \d{3}|\d{3} without the error shape)/.exec(failure)?.[1] ?? 'other';
    const key = `${head?.[1]} ${url}${mutation ? ` ${mutation[1]} ${mutation[2]} ${mutation[3]}` : ''}: ${problem}`;
    const group = groups.get(key) ?? { count: 0, example: failure };
    group.count += 1;
    groups.set(key, group);
  }
  return `${failures.length} bad answers in ${groups.size} groups:\n${[...groups.entries()]
    .slice(0, 40)
    .map(([key, g]) => `  ${g.count} × ${key}\n      e.g. ${g.example.slice(0, 260)}`)
    .join('\n')}`;
}

interface RowCounts {
  users: number;
  accounts: number;
  invitation_tokens: number;
  invitation_mails: number;
  user_invited_events: number;
}

async function countRows(app: TestApp): Promise<RowCounts> {
  const db = app.runtime.deps.db;
  // (Not counting the people the tests add on purpose.)
  const users = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('email', 'not in', ['json.only@acme.test', 'after.fuzz@acme.test'])
    .executeTakeFirstOrThrow();
  const accounts = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  const invitations = await db
    .selectFrom('action_tokens')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('purpose', '=', 'invitation')
    .executeTakeFirstOrThrow();
  const mails = await db
    .selectFrom('outbox_messages')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('purpose', '=', 'invitation')
    .executeTakeFirstOrThrow();
  const invited = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('type', '=', 'user_invited')
    .executeTakeFirstOrThrow();
  return {
    users: Number(users.n),
    accounts: Number(accounts.n),
    invitation_tokens: Number(invitations.n),
    invitation_mails: Number(mails.n),
    user_invited_events: Number(invited.n),
  };
}

for (const dialect of dialects()) {
  describe(`bad input on every API route (${dialect.name})`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let routes: Route[];
    let token: string;
    const sent: Sent = { count: 0 };
    let ipCounter = 0;
    let acceptedInvites = 0;
    let before0: RowCounts;

    /** A fresh full session for the fuzzing admin, minted directly (no password, so
     * the per-person password limit the fuzzing trips cannot lock us out). */
    async function mintToken(): Promise<string> {
      const deps = app.runtime.deps;
      const account = (await findAccountBySlug(deps.db, 'acme'))!;
      const user = (await new AccountUsers(deps.db, account.id).findByEmail('owner@acme.test'))!;
      // Through the one module that makes sessions, without hashing a password again.
      const started = await startSignInFlow(deps.db, deps, {
        account,
        user,
        firstFactor: 'password',
        trustedDeviceToken: null,
        context: { ip: '127.0.0.1', userAgent: 'fuzz' },
      });
      if (!started.ok || started.value.status !== 'signed_in') throw new Error('the owner should be signed in by a password');
      const session = { token: started.value.sessionToken };
      return session.token;
    }

    async function send(
      method: string,
      url: string,
      options: { payload?: string; contentType?: string | null; token?: string | null } = {},
    ): Promise<LightMyRequestResponse> {
      sent.count += 1;
      ipCounter += 1;
      const headers: Record<string, string> = { 'user-agent': 'tessera-fuzz/1.0' };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.contentType) headers['content-type'] = options.contentType;
      return app.inject({
        method: method as 'POST',
        url,
        // A new address per request: the per-address failure limit is not under test here.
        remoteAddress: `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`,
        headers,
        ...(options.payload !== undefined ? { payload: options.payload } : {}),
      });
    }

    /** Runs the cases against a route, with and without a token when it needs one.
     * Cases without a token run a few at a time (sign-in verifies a password for each);
     * cases with the token run one by one, since one may end the session. */
    async function fuzz(route: Route, cases: Case[]): Promise<string[]> {
      const failures: string[] = [];
      const runOne = async (testCase: Case, bearer: string | null) => {
        const noToken = bearer === null && route.needsToken;
        const response = await send(route.method, testCase.url, { payload: testCase.payload, contentType: testCase.contentType, token: bearer });
        const problem = judge(response, noToken ? 'reject' : testCase.expect, { authFirst: noToken });
        if (problem) failures.push(`${route.method} ${testCase.url.slice(0, 60)} ${noToken ? '(no token) ' : ''}${testCase.label}: ${problem}`);
        // Without a token nothing behind authentication is reached: 401, before the body is
        // even read (unless the path itself cannot be routed).
        if (noToken && testCase.pathIsPlain !== false && response.statusCode !== 401) {
          failures.push(`${route.method} ${testCase.url.slice(0, 60)} (no token) ${testCase.label}: expected 401, got ${response.statusCode}`);
        }
        if (response.statusCode < 300 && route.method === 'POST' && route.path === '/api/v1/admin/users') acceptedInvites += 1;
        if (response.statusCode < 300 && route.method === 'POST' && route.path === '/api/v1/password-reset') {
          const body = parseJson(response.body);
          if (JSON.stringify(body) !== JSON.stringify({ status: 'sent_if_known' })) failures.push(`password-reset answered ${response.body.slice(0, 100)}`);
        }
        return response;
      };
      for (let start = 0; start < cases.length; start += 4) {
        await Promise.all(cases.slice(start, start + 4).map((testCase) => runOne(testCase, null)));
      }
      if (route.needsToken) {
        for (const testCase of cases) {
          const response = await runOne(testCase, token);
          // A route that succeeded may have ended the session (sign-out): take a new one.
          if (response.statusCode < 300) {
            const me = await send('GET', '/api/v1/me', { token });
            if (me.statusCode === 401) token = await mintToken();
          }
        }
      }
      return failures;
    }

    before(async () => {
      app = await startTestApp({ dialect: dialect.name });
      // The signed-in owner's token; should a fuzzed request end that session (sign-out),
      // a new one is minted.
      token = (await setUpAccount(app)).token;
      routes = await discoverRoutes(app);
      before0 = await countRows(app);
    });
    after(async () => {
      console.log(`[bad-input ${dialect.name}] ${sent.count} requests sent to ${routes?.length ?? 0} routes`);
      await app?.close();
    });

    it('discovers the API routes from the OpenAPI document, including every route the harness uses', async () => {
      const spec = (await app.api('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
      for (const known of KNOWN_ROUTES) {
        const openApiPath = known.path.replace(/:([A-Za-z_]+)/g, '{$1}');
        assert.ok(spec.paths[openApiPath]?.[known.method.toLowerCase()], `${known.method} ${known.path} is described in /openapi.json`);
      }
      assert.ok(routes.length >= KNOWN_ROUTES.length);
    });

    it('answers every body-taking route with 4xx and the error shape (malformed, wrong types, missing fields, 1 MB, unicode, nesting, duplicates, content types)', async () => {
      const failures: string[] = [];
      for (const route of routes.filter((r) => BODY_METHODS.has(r.method))) {
        for (const variant of pathVariants(route)) {
          const plain = variant.random || !route.path.includes(':');
          // An id that cannot exist (too long, NUL, bad percent encoding) gets a few bodies
          // only: it must be refused before anything else, whatever the body.
          const few = (c: Case) =>
            c.field?.startsWith('plausible:') || /^(malformed JSON "\{"|a 1 MB JSON body|an empty object|a JSON \[\] body)/.test(c.label);
          // Parsing and validation are the same whatever the database: on PostgreSQL only
          // the bodies that get past them (tricky strings, plausible bodies) are sent.
          const reachesStore = (c: Case) => c.trick !== undefined || c.field?.startsWith('plausible:') === true;
          const cases = bodyCases(route, variant.url)
            .filter((c) => plain || few(c))
            .filter((c) => dialect.name === 'sqlite' || reachesStore(c) || !plain);
          failures.push(
            ...(await fuzz(
              route,
              cases.map((c) => ({ ...c, label: `${variant.label}${c.label}`, expect: plain ? c.expect : 'reject', pathIsPlain: plain })),
            )),
          );
        }
      }
      assert.equal(failures.length, 0, summarize(failures));
    });

    it('answers GET routes with bad query strings and path parameters without a 5xx', async () => {
      const failures: string[] = [];
      for (const route of routes.filter((r) => r.method === 'GET')) {
        for (const variant of pathVariants(route)) {
          const plain = variant.random || !route.path.includes(':');
          const cases: Case[] = [{ label: `${variant.label}plain`, url: variant.url, expect: plain ? 'either' : 'reject' }, ...queryCases(route, variant.url)];
          failures.push(
            ...(await fuzz(
              route,
              cases.map((c) => ({ ...c, pathIsPlain: plain })),
            )),
          );
        }
      }
      assert.equal(failures.length, 0, summarize(failures));
    });

    it('takes JSON only: a form-encoded or text/plain sign-in, even with the right password, is refused', async () => {
      // A page on any site can make its visitors' browsers send these two without a
      // CORS preflight (a password-guessing botnet that dodges the per-address limit).
      // Someone of their own, whom no fuzzed request has locked.
      await addUser(app, { account: 'acme', email: 'json.only@acme.test' });
      const fields = { account: 'acme', email: 'json.only@acme.test', password: STRONG_PASSWORD };
      for (const [contentType, payload] of [
        ['application/x-www-form-urlencoded', new URLSearchParams(fields).toString()],
        ['text/plain', JSON.stringify(fields)],
        [
          'multipart/form-data; boundary=x',
          Object.entries(fields)
            .map(([k, v]) => `--x\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
            .join('') + '--x--\r\n',
        ],
      ] as const) {
        const response = await send('POST', '/api/v1/sign-in', { payload, contentType });
        assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${contentType}: answered ${response.statusCode} ${response.body.slice(0, 80)}`);
        expectErrorShape(parseJson(response.body));
        assert.equal(JSON.stringify(parseJson(response.body)).includes('session_token'), false);
      }
    });

    it('refuses malformed and oversized bearer tokens with 401 and the error shape', async () => {
      const failures: string[] = [];
      const valid = token;
      for (const header of [
        'Bearer',
        'Bearer ',
        `Bearer ${'A'.repeat(8000)}`,
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        `Bearer ${valid} extra`,
        `Bearer ${valid.replace('.', '..')}`,
        `Bearer ${valid.toUpperCase()}`,
        `bearer\t${valid}x`,
      ]) {
        sent.count += 1;
        const response = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: header } });
        if (response.statusCode !== 401) failures.push(`${header.slice(0, 30)}: ${response.statusCode}`);
        else expectErrorShape(response.json());
      }
      assert.equal(failures.length, 0, failures.join('\n'));
    });

    it('answers an unknown route with 404 and the error shape, for any method', async () => {
      for (const [method, url] of [
        ['GET', '/api/v1/nope'],
        ['POST', '/api/v1/nope'],
        ['DELETE', '/api/v1/me/nope/1'],
        ['GET', '/api/v1/me/'],
        ['GET', '/api/v2/me'],
        ['GET', '/nope-page'],
        ['PUT', '/api/v1/sign-in'],
      ] as const) {
        const response = await send(method, url, method === 'GET' ? {} : { payload: '{}', contentType: 'application/json' });
        assert.equal(response.statusCode, 404, `${method} ${url}`);
        expectErrorShape(response.json());
        assert.equal(response.json().error.code, 'not_found');
      }
    });

    it('HEAD and OPTIONS never answer 5xx, and their 4xx have the error shape', async () => {
      const failures: string[] = [];
      const paths = [...new Set(routes.map((r) => pathVariants(r)[0]!.url)), '/healthz', '/readyz', '/metrics', '/openapi.json', '/sign-in', '/nope'];
      for (const url of paths) {
        for (const bearer of [null, token]) {
          const head = await send('HEAD', url, { token: bearer });
          if (head.statusCode >= 500) failures.push(`HEAD ${url}: ${head.statusCode}`);
          const options = await send('OPTIONS', url, { token: bearer });
          if (options.statusCode >= 500) failures.push(`OPTIONS ${url}: ${options.statusCode}`);
          else if (options.statusCode >= 400) {
            try {
              expectErrorShape(parseJson(options.body));
            } catch {
              failures.push(`OPTIONS ${url}: ${options.statusCode} ${options.body.slice(0, 100)}`);
            }
          }
        }
      }
      assert.equal(failures.length, 0, failures.join('\n'));
    });

    it('is still healthy afterwards, and no failed request wrote half of anything', async () => {
      assert.equal((await send('GET', '/healthz')).statusCode, 200);
      assert.equal((await send('GET', '/readyz')).statusCode, 200);
      const now = await countRows(app);
      assert.equal(now.accounts, before0.accounts, 'no account was created by a failed setup');
      assert.equal(now.users, before0.users + acceptedInvites, 'people only from accepted invitations');
      assert.equal(now.invitation_tokens, before0.invitation_tokens + acceptedInvites);
      assert.equal(now.invitation_mails, before0.invitation_mails + acceptedInvites);
      assert.equal(now.user_invited_events, before0.user_invited_events + acceptedInvites);
      // And it still works: someone new signs in. (Not the owner: the fuzzed password
      // changes ran into the owner's per-person limit, on purpose.)
      await addUser(app, { account: 'acme', email: 'after.fuzz@acme.test' });
      const signedIn = await signIn(app, { account: 'acme', email: 'after.fuzz@acme.test', password: STRONG_PASSWORD, ip: '192.0.2.200' });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal((await app.api('GET', '/api/v1/me', { token: signedIn.json().session_token })).json().email, 'after.fuzz@acme.test');
    });
  });
}
