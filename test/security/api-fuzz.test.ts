// Fuzzing the API (issue "prove it under fire", first suite): property-based tests with
// fast-check that generate, for every route in the OpenAPI document, bodies, headers,
// query strings and path parameters, and check every answer:
//
// - no answer is a 5xx;
// - every 4xx has the error shape {"error":{"code":"snake_case","message":"..."}};
// - a bearer route never succeeds with a forged or missing token, an admin route never
//   succeeds for an agent, and malformed JSON sent as application/json is never accepted;
// - a request ends no session but the one whose token it carries, and a refused
//   request ends none;
// - afterwards /healthz and /readyz answer 200, and no failed request wrote half of
//   anything (people and accounts only from successful invitations, each with its
//   invitation token and audit event; no app added, changed or removed, since that
//   takes the owner's confirmation).
//
// test/api/bad-input.test.ts is the table of known bad inputs; this suite explores
// around them. Each route has a fixed seed derived from its method and path, so a
// failure reproduces (fast-check prints the seed, the path and the shrunk case).
// TESSERA_FUZZ_RUNS raises the number of runs per route and TESSERA_FUZZ_SEED picks
// another set of cases, for a longer local session; TESSERA_FUZZ_VERBOSE=1 shows how
// far the cases got on each route (answers by status and error code).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { addUser, dialects, expectErrorShape, setUpAccount, signInToken, startTestApp, type TestApp } from '../support/harness.js';
import { listRoutes, percentEncodeLoosely } from '../support/routes.js';
import { authenticate } from '../../src/services/sessions.js';
import { startSignInFlow } from '../../src/services/sign-in-flow.js';
import { findAccountBySlug } from '../../src/store/accounts.js';
import { AccountUsers } from '../../src/store/users.js';
import { createApp, operatorAppManager } from '../../src/services/apps.js';
import { NO_REQUEST_CONTEXT } from '../../src/services/deps.js';

/** Runs per route; about half of them carry the owner's session token. */
const RUNS = Number(process.env.TESSERA_FUZZ_RUNS ?? 60);
/** Routes that hash or verify a password (argon2id, ~20 ms a call) get fewer runs. */
const HASHING_RUNS = Math.max(10, Math.round(RUNS / 6));
/** TESSERA_FUZZ_VERBOSE=1 prints, per route, how many answers of each status and code. */
const VERBOSE = process.env.TESSERA_FUZZ_VERBOSE === '1';
/** Another set of cases for a longer local session (the default set is fixed). */
const SEED_SALT = process.env.TESSERA_FUZZ_SEED ?? '';
const HASHING_ROUTES = new Set([
  'POST /api/v1/sign-in',
  'POST /api/v1/setup',
  'POST /api/v1/password-reset',
  'POST /api/v1/password-reset/complete',
  'POST /api/v1/invitations/accept',
  'PUT /api/v1/me/password',
]);

// ---------------------------------------------------------------------------------
// Routes, from the OpenAPI document

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  nullable?: boolean;
};

interface FuzzRoute {
  method: string;
  /** OpenAPI style: /api/v1/admin/users/{id} */
  path: string;
  params: string[];
  body: Schema | null;
  query: { name: string; schema: Schema }[];
  needsToken: boolean;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

async function documentedRoutes(app: TestApp): Promise<FuzzRoute[]> {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(response.statusCode, 200);
  const spec = response.json() as { paths: Record<string, Record<string, Record<string, unknown>>> };
  const routes: FuzzRoute[] = [];
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!METHODS.includes(method)) continue;
      const requestBody = operation.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined;
      const parameters = (operation.parameters ?? []) as { in: string; name: string; schema?: Schema }[];
      const security = operation.security as unknown[] | undefined;
      routes.push({
        method: method.toUpperCase(),
        path,
        params: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
        body: requestBody?.content?.['application/json']?.schema ?? null,
        query: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        needsToken: Array.isArray(security) && security.length > 0,
      });
    }
  }
  return routes;
}

/** A fixed 32-bit seed per route (FNV-1a of "METHOD path"). */
function seedFor(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

function typesOf(schema: Schema): Set<string> {
  const types = new Set<string>();
  if (schema.type) for (const type of [schema.type].flat()) types.add(type);
  for (const value of schema.enum ?? []) types.add(value === null ? 'null' : typeof value);
  for (const inner of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) for (const type of typesOf(inner)) types.add(type);
  if (schema.nullable) types.add('null');
  if (types.has('integer')) types.add('number');
  return types;
}

function enumOf(schema: Schema): unknown[] {
  return [...(schema.enum ?? []), ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap(enumOf)];
}

function itemsOf(schema: Schema): Schema | undefined {
  return schema.items ?? [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].map(itemsOf).find(Boolean);
}

// ---------------------------------------------------------------------------------
// Strings

const BASE64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
const base64url = (length: number) => fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: length, maxLength: length });
/** Looks exactly like a session or link token (`id.secret`), and is none. */
const bogusToken = fc.tuple(base64url(22), base64url(43)).map(([id, secret]) => `${id}.${secret}`);
const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
/** What a header value can hold on the wire: visible ASCII, space, tab and obs-text
 * (bytes 0x80-0xff, which Node reads as Latin-1). */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: printableAscii },
  fc.constant('\t'),
  fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
);

/** Fragments that trick parsers, databases and people. */
const TRICKS = [
  '\u0000', // NUL
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff', // lone surrogates (JSON.stringify writes them as "\ud800")
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200f',
  '\u061c', // bidi overrides and isolates
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\ufeff',
  '\u180e',
  '\u00ad', // zero-width and invisible
  'а',
  'е',
  'о',
  'ｅ',
  '\u212a',
  'İ',
  'ß',
  'ﬁ',
  '\u0301', // confusables, fullwidth, Kelvin sign, combining mark
  '\r\n',
  '\u001b[31m',
  '\u0085',
  '\u2028',
  '\u0007', // control characters and line separators
  '😀',
  '\u{10ffff}',
  '%00',
  '../',
  "' OR 1=1 --",
  '<script>',
  '${x}',
  '{{7*7}}',
];
const CYRILLIC: Record<string, string> = { a: 'а', c: 'с', e: 'е', i: 'і', o: 'о', p: 'р', x: 'х', y: 'у', A: 'А', E: 'Е', O: 'О' };

/** Latin letters swapped for their Cyrillic look-alikes (every other one, from `offset`). */
function confuse(text: string, offset: number): string {
  let n = offset;
  return [...text].map((char) => (CYRILLIC[char] && (n++ & 1) === 0 ? CYRILLIC[char] : char)).join('');
}

/** A value of the kind the field expects, so some bodies get past validation. Passwords
 * and tokens are never right. */
function plausibleString(name: string): fc.Arbitrary<string> {
  if (/email|^user$/.test(name)) {
    return fc.oneof(
      fc.constantFrom('owner@acme.test', 'agent@acme.test', 'target@acme.test', 'OWNER@ACME.TEST', ' owner@acme.test '),
      fc.nat().map((n) => `fuzz-${n}@acme.test`),
      fc.emailAddress(),
    );
  }
  if (/^account$|slug/.test(name)) return fc.oneof(fc.constantFrom('acme', 'ACME', 'acme ', 'other', 'a'), fc.stringMatching(/^[a-z0-9-]{1,30}$/));
  if (/password/.test(name)) return fc.oneof(fc.constantFrom('fuzz wrong password 9 quietly', 'password', 'x'), fc.string({ maxLength: 40 }));
  if (/token/.test(name)) return fc.oneof({ weight: 3, arbitrary: bogusToken }, fc.string({ maxLength: 60 }));
  if (name === 'code')
    return fc.oneof(fc.stringMatching(/^\d{6}$/), fc.constantFrom('000000', 'abcd-efgh', 'ABCD EFGH', '1234 56', '12345678'), fc.string({ maxLength: 20 }));
  if (/phone/.test(name))
    return fc.oneof(
      fc.constantFrom('+15555550123', '+44 7911 123456', '07911 123456', '+999', '+1 (555) 555-0123', '0'),
      fc.stringMatching(/^\+?[0-9 ()-]{1,20}$/),
    );
  if (/countr/.test(name)) return fc.constantFrom('GB', 'US', 'FR', 'ZZ', 'gb', '', ' ', 'XX', 'U');
  if (/since|until/.test(name)) {
    return fc.oneof(
      fc.constantFrom(
        '2026-11-28',
        '2026-11-28T12:00:00Z',
        '2026-11-28T12:00:00+14:00',
        '0000-00-00',
        '9999-99-99',
        '+275760-09-13',
        '-271821-04-20',
        '1e400',
        'yesterday',
        '0',
        '-1',
      ),
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    );
  }
  if (name === 'cursor') {
    return fc.oneof(
      fc.tuple(fc.stringMatching(/^\d{1,17}$/), base64url(22)).map(([at, id]) => Buffer.from(`${at}:${id}`).toString('base64url')),
      fc.string({ maxLength: 40 }),
    );
  }
  if (name === 'type') return fc.constantFrom('sign_in', 'sign_out', 'user_invited', 'password_changed', 'nope', '');
  if (/name|reason/.test(name)) return fc.string({ unit: 'grapheme', maxLength: 40 });
  return fc.string({ maxLength: 30 });
}

function plausible(name: string, schema: Schema): fc.Arbitrary<unknown> {
  const values = enumOf(schema);
  const types = typesOf(schema);
  let value: fc.Arbitrary<unknown>;
  if (values.length > 0) value = fc.constantFrom(...values);
  else if (types.has('boolean')) value = fc.boolean();
  else if (types.has('number')) value = fc.oneof(fc.integer({ min: -2, max: 400 }), fc.constantFrom(0, 1, 7, 30, 365, 2 ** 31, -1));
  else if (types.has('array')) value = fc.array(plausible(`${name}_item`, itemsOf(schema) ?? { type: 'string' }), { maxLength: 4 });
  else if (types.has('object')) value = fc.constant({});
  else value = plausibleString(name);
  return types.has('null') ? fc.oneof({ weight: 5, arbitrary: value }, fc.constant(null)) : value;
}

/** A plausible value with NUL bytes, lone surrogates, bidi overrides, zero-width
 * characters or confusables in it, or a string made of them. */
function tricky(name: string): fc.Arbitrary<string> {
  const base = plausibleString(name);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(base, fc.array(fc.tuple(fc.constantFrom(...TRICKS), fc.nat()), { minLength: 1, maxLength: 3 }))
        .map(([text, inserts]) => inserts.reduce((s, [trick, at]) => s.slice(0, at % (s.length + 1)) + trick + s.slice(at % (s.length + 1)), text)),
    },
    { weight: 2, arbitrary: fc.tuple(base, fc.nat()).map(([text, offset]) => confuse(text, offset)) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...TRICKS), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  );
}

/** Up to ~100 kB of one character (the body limit is 64 kB: some pass, some do not). */
const huge = fc
  .tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.constantFrom('a', 'а', '\u200b', '\u0000', '😀', '"', '\\', ' ', '\ud800'))
  .map(([length, char]) => char.repeat(Math.ceil(length / char.length)));

// ---------------------------------------------------------------------------------
// JSON text: built as text, so it can hold duplicate keys, numbers JSON.parse turns into
// Infinity, and nesting as deep as we like.

function nest(depth: number, style: 'array' | 'object' | 'mixed', leaf: string): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i += 1) {
    const array = style === 'array' || (style === 'mixed' && i % 2 === 1);
    open += array ? '[' : '{"a":';
    close = (array ? ']' : '}') + close;
  }
  return open + leaf + close;
}

const deepText = fc
  .tuple(
    fc.integer({ min: 1, max: 200 }),
    fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
    fc.constantFrom('1', '"x"', 'null', '{}', '[]', '"\\u0000"', '"\\ud800"'),
  )
  .map(([depth, style, leaf]) => nest(depth, style, leaf));

const wrongTypeText = fc.oneof(
  fc.integer().map(String),
  fc.double().map((n) => JSON.stringify(n)),
  fc.constantFrom(
    'true',
    'false',
    'null',
    '[]',
    '{}',
    '[""]',
    '["a","b"]',
    '{"$gt":""}',
    '{"$ne":null}',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
  ),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }).map((a) => JSON.stringify(a)),
);

const rawNumberText = fc.constantFrom(
  '1e999',
  '-1e999',
  '-0',
  '1E400',
  '1e-400',
  '123456789012345678901234567890',
  '9007199254740993',
  '1.0',
  '1.5',
  '-1',
  '0',
  '2147483648',
  '1e2',
);

/** One JSON value, as text, for a field: mostly plausible (so requests get past
 * validation), else wrong types, tricks, huge strings, deep nesting, any JSON. */
function valueText(name: string, schema: Schema): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: plausible(name, schema).map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: tricky(name).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: wrongTypeText },
    { weight: 1, arbitrary: huge.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: deepText },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: rawNumberText },
  );
}

const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'admin', 'role', 'id', 'account_id', 'user_id', '', '\u0000', '\ud800', 'а', 'password\u200b'),
  fc.string({ maxLength: 12 }),
);

function pairsText(pairs: [string, string][]): string {
  return `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/** An object body from the route's property names: every field drawn from the whole
 * union of values, with extra keys, and some keys twice. */
function wildObjectText(route: FuzzRoute): fc.Arbitrary<string> {
  const properties = Object.entries(route.body?.properties ?? {});
  const names = properties.map(([name]) => name);
  const fields = fc.tuple(...properties.map(([name, schema]) => fc.option(valueText(name, schema), { freq: 6, nil: undefined })));
  const extras = fc.array(fc.tuple(extraKey, valueText('x', {})), { maxLength: names.length > 0 ? 2 : 4 });
  // The same key twice in the text: the second value wins in JSON.parse.
  const duplicates =
    names.length > 0
      ? fc.oneof(
          { weight: 3, arbitrary: fc.constant([] as [string, string][]) },
          fc.array(
            fc.tuple(
              fc.constantFrom(...names),
              fc.oneof(
                wrongTypeText,
                fc.string().map((s) => JSON.stringify(s)),
              ),
            ),
            { minLength: 1, maxLength: 2 },
          ),
        )
      : fc.constant([] as [string, string][]);
  return fc.tuple(fields, extras, duplicates, fc.boolean()).map(([values, extra, dups, dupsFirst]) => {
    const named = names.flatMap((name, i) => (values[i] === undefined ? [] : [[name, values[i]] as [string, string]]));
    return pairsText(dupsFirst ? [...dups, ...named, ...extra] : [...named, ...extra, ...dups]);
  });
}

/** A body that passes validation (required fields, some optional ones, all plausible),
 * or one with a single field from the whole union, maybe written twice: these reach
 * the code behind validation. */
function plausibleObjectText(route: FuzzRoute): fc.Arbitrary<string> {
  const properties = Object.entries(route.body?.properties ?? {});
  if (properties.length === 0) return fc.constant('{}');
  const required = new Set(route.body?.required ?? []);
  const fields = fc.tuple(
    ...properties.map(([name, schema]) => {
      const value = plausible(name, schema).map((v) => JSON.stringify(v));
      return required.has(name) ? value : fc.option(value, { freq: 2, nil: undefined });
    }),
  );
  const mutation = fc.option(
    fc
      .nat({ max: properties.length - 1 })
      .chain((i) => fc.tuple(fc.constant(i), valueText(properties[i]![0], properties[i]![1]), fc.constantFrom('replace' as const, 'duplicate' as const))),
    { freq: 3, nil: undefined },
  );
  return fc.tuple(fields, mutation).map(([values, change]) => {
    const pairs: [string, string][] = [];
    properties.forEach(([name], i) => {
      if (change && change[0] === i) {
        if (change[2] === 'duplicate' && values[i] !== undefined) pairs.push([name, values[i]!]);
        pairs.push([name, change[1]]);
      } else if (values[i] !== undefined) pairs.push([name, values[i]!]);
    });
    return pairsText(pairs);
  });
}

function objectText(route: FuzzRoute): fc.Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: plausibleObjectText(route) }, { weight: 2, arbitrary: wildObjectText(route) });
}

interface BodyCase {
  text: string | null;
  /** Certainly not JSON: must never be accepted as application/json. */
  malformed: boolean;
}

const MALFORMED = [
  '{',
  '}',
  '[1,',
  'nul',
  "{'a':1}",
  '{"a":"\\ud800',
  '{"a":1,}',
  '{"a" 1}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":+1}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":undefined}',
  '{"a":"\u0000"}',
  '{"a":"\n"}',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":1}}',
  '{"a":1}\u0000',
  '/*c*/{}',
  '{"a":1}//',
  'True',
  "'str'",
  '0x10',
  '--1',
  '{"a":1}{"b":2}',
  '['.repeat(300),
  '{"a":'.repeat(300),
];
/** Inserted anywhere in a well-formed body: sometimes still JSON, often not. */
const INSERTS = [',', '}', '{', '"', '\\', '\u0000', '\n', "'", 'undefined', 'NaN', '/*x*/', '\ud800', '\ufeff', ':', ' '];

function bodyCase(route: FuzzRoute): fc.Arbitrary<BodyCase> {
  const object = objectText(route);
  const hasBody = route.body !== null;
  const badJson = fc.oneof(
    fc.constantFrom(...MALFORMED).map((text) => ({ text, malformed: true })),
    // A proper prefix of an object's text is never JSON (the empty one included).
    fc.tuple(object, fc.nat()).map(([text, n]) => ({ text: text.slice(0, n % text.length), malformed: true })),
    fc
      .tuple(object, fc.nat(), fc.constantFrom(...INSERTS))
      .map(([text, n, insert]) => ({ text: text.slice(0, n % text.length) + insert + text.slice(n % text.length), malformed: false })),
    fc.tuple(object, fc.constantFrom('garbage', '{}', ',{}', ']')).map(([text, tail]) => ({ text: text + tail, malformed: true })),
    fc.string({ unit: 'binary', maxLength: 40 }).map((text) => ({ text, malformed: false })),
  );
  return fc.oneof(
    { weight: hasBody ? 10 : 2, arbitrary: object.map((text) => ({ text, malformed: false })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ text: JSON.stringify(value), malformed: false })) },
    { weight: 1, arbitrary: deepText.map((text) => ({ text, malformed: false })) },
    { weight: 3, arbitrary: badJson },
    { weight: hasBody ? 1 : route.method === 'GET' ? 12 : 4, arbitrary: fc.constant({ text: null, malformed: false }) },
  );
}

// ---------------------------------------------------------------------------------
// Headers, query strings, path parameters

type Who = 'owner' | 'agent';

type AuthCase =
  /** The owner's session token, exactly as a client sends it: half the cases. */
  | { kind: 'owner' }
  | { kind: 'none' }
  /** A header that carries no live token (random text, bogus `id.secret`, huge). */
  | { kind: 'forged'; header: string }
  /** A live token (the owner's or an agent's) in a template: `{token}`, `{id}`. */
  | { kind: 'real'; who: Who; template: string; forged: boolean };

// Accepted or not, neither is wrong (scheme case, spacing, trailing whitespace).
const LOOSE_TEMPLATES = ['Bearer {token}', 'bearer {token}', 'BEARER\t{token}', 'Bearer   {token}', 'Bearer {token} ', ' Bearer {token}'];
// Must never authenticate: the token altered, or under another scheme.
const FORGED_TEMPLATES = [
  '{token}',
  'Basic {token}',
  'Token {token}',
  'Bearer {token}x',
  'Bearer x{token}',
  'Bearer {token} {token}',
  'Bearer {token}.{token}',
  'Bearer {TOKEN}',
  'Bearer {id}',
  'Bearer {id}.',
  'Bearer {id}.{bogus}',
  'Bearer .{secret}',
  'Bearer {token},Bearer {token}',
];

const authCase: fc.Arbitrary<AuthCase> = fc.oneof(
  fc.constant<AuthCase>({ kind: 'owner' }),
  fc.oneof(
    fc.constant<AuthCase>({ kind: 'none' }),
    fc
      .oneof(
        bogusToken.map((token) => `Bearer ${token}`),
        fc.string({ unit: printableAscii, maxLength: 80 }),
        fc.string({ unit: printableAscii, maxLength: 80 }).map((token) => `Bearer ${token}`),
        fc.integer({ min: 200, max: 8000 }).map((n) => `Bearer ${'A'.repeat(n)}`),
        fc.constantFrom('Bearer', 'Bearer ', 'Bearer null', 'Bearer undefined', 'Bearer .', 'Bearer ..', 'Basic YTpi', 'Negotiate x', ''),
      )
      .map((header): AuthCase => ({ kind: 'forged', header })),
    fc
      .tuple(fc.constantFrom<Who>('owner', 'agent'), fc.constantFrom(...LOOSE_TEMPLATES))
      .map(([who, template]): AuthCase => ({ kind: 'real', who, template, forged: false })),
    fc
      .tuple(fc.constantFrom<Who>('owner', 'agent'), fc.constantFrom(...FORGED_TEMPLATES))
      .map(([who, template]): AuthCase => ({ kind: 'real', who, template, forged: true })),
  ),
);

const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON',
  'application/json; charset=utf-16le',
  'application/json; charset=latin1',
  'application/json ; x=y',
  'application/json, text/html',
  'application/jsonx',
  'application/vnd.api+json',
  'application/problem+json',
  'text/json',
  'text/plain',
  'text/plain; charset=utf-8',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'application/xml',
  'application/octet-stream',
  '*/*',
  '',
  ' ',
  ';',
  'application/',
  '/json',
  'application/json; boundary=',
  'application/json; charset="utf-8"',
];

/** Mostly application/json with a body, mostly none without one (as clients send). */
function contentType(hasPayload: boolean): fc.Arbitrary<string | null> {
  return fc.oneof(
    { weight: hasPayload ? 12 : 2, arbitrary: fc.constant('application/json') },
    { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.string({ unit: printableAscii, maxLength: 60 }) },
    { weight: hasPayload ? 1 : 10, arbitrary: fc.constant(null) },
  );
}

const headerValue = fc.oneof(
  fc.string({ unit: headerChar, maxLength: 80 }),
  fc.ipV4(),
  fc.ipV6(),
  fc.array(fc.ipV4(), { minLength: 2, maxLength: 4 }).map((ips) => ips.join(', ')),
  fc.integer({ min: 100, max: 8000 }).map((n) => 'x'.repeat(n)),
);
const extraHeaders = fc.dictionary(
  fc.constantFrom(
    'user-agent',
    'x-forwarded-for',
    'x-real-ip',
    'forwarded',
    'host',
    'accept',
    'accept-language',
    'accept-encoding',
    'content-encoding',
    'cookie',
    'origin',
    'referer',
    'x-requested-with',
    'x-http-method-override',
  ),
  headerValue,
  { maxKeys: 3 },
);

const RAW_QUERY = ['%', '%zz', '%E0%A4%A', '%00', '%ED%A0%80', '%C0%AF', '%FF', '+', '%2B', '%26', '%3D', '[]', '[x]', ''];

function queryString(route: FuzzRoute): fc.Arbitrary<string> {
  const names = route.query.map((q) => q.name);
  const key = fc.oneof(
    { weight: names.length > 0 ? 6 : 0, arbitrary: names.length > 0 ? fc.constantFrom(...names) : fc.constant('x') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'filter',
        'cursor',
        'format',
        'user',
        'type',
        'since',
        'until',
        'token',
        '__proto__',
        'constructor',
        'a[b]',
        'a[]',
        'filter[x]',
        'x.y',
        '',
      ),
    },
    { weight: 1, arbitrary: tricky('x').map(percentEncodeLoosely) },
  );
  const value = (name: string) => {
    const schema = route.query.find((q) => q.name === name)?.schema ?? {};
    return fc.oneof(
      { weight: 4, arbitrary: plausible(name, schema).map((v) => percentEncodeLoosely(String(v))) },
      { weight: 3, arbitrary: tricky(name).map(percentEncodeLoosely) },
      { weight: 2, arbitrary: fc.constantFrom(...RAW_QUERY) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 9000 }).map((n) => 'a'.repeat(n)) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
  };
  // Keys repeat: a small set of names, drawn several times.
  return fc
    .array(
      key.chain((k) => value(k).map((v) => [k, v] as const)),
      { maxLength: 6 },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&')}`));
}

type RealId = 'owner_user' | 'target_user' | 'owner_session' | 'agent_session' | 'owner_app';
type ParamCase = { real: RealId } | { text: string };

const paramCase: fc.Arbitrary<ParamCase> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom<RealId>('owner_user', 'target_user', 'owner_session', 'agent_session', 'owner_app').map((real): ParamCase => ({ real })),
  },
  { weight: 3, arbitrary: base64url(22).map((text): ParamCase => ({ text })) },
  { weight: 3, arbitrary: tricky('id').map((text): ParamCase => ({ text: percentEncodeLoosely(text) })) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 5000 }).map((n): ParamCase => ({ text: 'a'.repeat(n) })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('%', '%zz', '%E0%A4%A', '%00', '%ED%A0%80', '..%2F..%2Fadmin', '%2e%2e', '%2F', '', '.', '..', '%20')
      .map((text): ParamCase => ({ text })),
  },
);

interface FuzzCase {
  auth: AuthCase;
  params: ParamCase[];
  query: string;
  payload: { body: BodyCase; contentType: string | null };
  headers: Record<string, string>;
}

function fuzzCase(route: FuzzRoute): fc.Arbitrary<FuzzCase> {
  return fc.record({
    auth: authCase,
    params: fc.tuple(...route.params.map(() => paramCase)),
    query: fc.oneof({ weight: route.query.length > 0 ? 1 : 3, arbitrary: fc.constant('') }, queryString(route)),
    payload: bodyCase(route).chain((body) => contentType(body.text !== null).map((type) => ({ body, contentType: type }))),
    headers: extraHeaders,
  });
}

// ---------------------------------------------------------------------------------
// Sending and checking

interface Stats {
  cases: number;
  asOwner: number;
  byClass: Record<string, number>;
  invited: number;
  reminted: number;
  /** "METHOD path" → answer ("200", "invalid_request", ...) → count. */
  byRoute: Map<string, Map<string, number>>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function carries(auth: AuthCase, who: Who): boolean {
  return (auth.kind === 'owner' && who === 'owner') || (auth.kind === 'real' && auth.who === who);
}

function isForged(auth: AuthCase): boolean {
  return auth.kind === 'none' || auth.kind === 'forged' || (auth.kind === 'real' && auth.forged);
}

interface RowCounts {
  users: number;
  accounts: number;
  invitation_tokens: number;
  user_invited_events: number;
  /** Apps as they are: none may be added, changed or removed without the owner's password. */
  apps: string;
}

async function countRows(app: TestApp): Promise<RowCounts> {
  const db = app.runtime.deps.db;
  const users = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
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
  const invited = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('type', '=', 'user_invited')
    .executeTakeFirstOrThrow();
  const apps = await db.selectFrom('apps').selectAll().orderBy('id').execute();
  return {
    users: Number(users.n),
    accounts: Number(accounts.n),
    invitation_tokens: Number(invitations.n),
    user_invited_events: Number(invited.n),
    apps: JSON.stringify(apps),
  };
}

for (const dialect of dialects()) {
  describe(`fuzzing the API (${dialect.name})`, { skip: dialect.skip }, () => {
    let app: TestApp;
    let routes: FuzzRoute[] = [];
    let before0: RowCounts;
    const tokens: Record<Who, string> = { owner: '', agent: '' };
    const ids: Record<'owner_user' | 'target_user' | 'owner_app', string> = { owner_user: '', target_user: '', owner_app: '' };
    const stats: Stats = { cases: 0, asOwner: 0, byClass: {}, invited: 0, reminted: 0, byRoute: new Map() };
    let ipCounter = 0;
    let started = 0;

    /** A fresh full session, minted directly (no password: the fuzzed sign-ins and
     * password checks run into the per-person limits on purpose). */
    async function mint(who: Who): Promise<string> {
      const deps = app.runtime.deps;
      const account = (await findAccountBySlug(deps.db, 'acme'))!;
      const user = (await new AccountUsers(deps.db, account.id).findByEmail(`${who}@acme.test`))!;
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
      stats.reminted += 1;
      return session.token;
    }

    async function alive(token: string): Promise<boolean> {
      return (await authenticate(app.runtime.deps, token)) !== null;
    }

    function authorization(auth: AuthCase): string | null {
      if (auth.kind === 'owner') return `Bearer ${tokens.owner}`;
      if (auth.kind === 'none') return null;
      if (auth.kind === 'forged') return auth.header;
      const token = tokens[auth.who];
      const [id, secret] = token.split('.') as [string, string];
      return auth.template
        .replaceAll('{token}', token)
        .replaceAll('{TOKEN}', token.toUpperCase())
        .replaceAll('{id}', id)
        .replaceAll('{secret}', secret)
        .replaceAll('{bogus}', [...secret].reverse().join(''));
    }

    function param(value: ParamCase): string {
      if ('text' in value) return value.text;
      if (value.real === 'owner_session') return tokens.owner.split('.')[0]!;
      if (value.real === 'agent_session') return tokens.agent.split('.')[0]!;
      return ids[value.real];
    }

    function lastErrorLog(): string {
      const line = [...app.logs].reverse().find((entry) => /"level":50/.test(entry));
      return line ? `\n  last error logged: ${line.slice(0, 600)}` : '';
    }

    /** Sends one case; throws (a failed property) when the answer breaks a rule. */
    async function run(route: FuzzRoute, testCase: FuzzCase): Promise<void> {
      let i = 0;
      const url = route.path.replace(/\{[^}]+\}/g, () => param(testCase.params[i++]!)) + testCase.query;
      const headers: Record<string, string> = { 'user-agent': 'tessera-fuzz/1.0', ...testCase.headers };
      const bearer = authorization(testCase.auth);
      if (bearer !== null) headers.authorization = bearer;
      if (testCase.payload.contentType !== null) headers['content-type'] = testCase.payload.contentType;
      ipCounter += 1;
      stats.cases += 1;
      if (testCase.auth.kind === 'owner') stats.asOwner += 1;
      const response: LightMyRequestResponse = await app.inject({
        method: route.method as 'POST',
        url,
        headers,
        // A new address per request: the per-address limits are not under test here.
        remoteAddress: `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`,
        ...(testCase.payload.body.text !== null ? { payload: testCase.payload.body.text } : {}),
      });
      const status = response.statusCode;
      const statusClass = `${Math.floor(status / 100)}xx`;
      stats.byClass[statusClass] = (stats.byClass[statusClass] ?? 0) + 1;
      const where = `${route.method} ${url.slice(0, 120)}`;
      const excerpt = response.body.slice(0, 300);
      const answers = stats.byRoute.get(`${route.method} ${route.path}`) ?? new Map<string, number>();
      stats.byRoute.set(`${route.method} ${route.path}`, answers);
      const answer = status >= 400 ? String((parseJson(response.body) as { error?: { code?: unknown } } | undefined)?.error?.code ?? status) : String(status);
      answers.set(answer, (answers.get(answer) ?? 0) + 1);

      if (route.method !== 'GET') {
        // A success may end a session (sign-out, ending one's own session by id): only
        // the one whose token the request carried. A refused request ends none.
        for (const who of ['owner', 'agent'] as const) {
          if (await alive(tokens[who])) continue;
          tokens[who] = await mint(who);
          if (status >= 400) throw new Error(`${where} was refused (${status}) yet ended the ${who}'s session: ${excerpt}`);
          if (!carries(testCase.auth, who)) throw new Error(`${where} (${status}) ended the ${who}'s session without carrying the ${who}'s token: ${excerpt}`);
        }
      }

      if (status >= 500) throw new Error(`${where} answered ${status}: ${excerpt}${lastErrorLog()}`);
      if (status >= 400) {
        try {
          expectErrorShape(parseJson(response.body));
        } catch {
          throw new Error(`${where} answered ${status} without the error shape: ${excerpt}`);
        }
        return;
      }
      if (route.needsToken && isForged(testCase.auth))
        throw new Error(`${where} answered ${status} without a valid token (authorization: ${JSON.stringify(bearer?.slice(0, 100))}): ${excerpt}`);
      if (route.path.startsWith('/api/v1/admin/') && carries(testCase.auth, 'agent')) throw new Error(`${where} answered ${status} to an agent: ${excerpt}`);
      if (testCase.payload.body.malformed && testCase.payload.contentType === 'application/json' && route.method !== 'GET')
        throw new Error(`${where} accepted malformed JSON (${status}): ${excerpt}`);
      if (route.method === 'POST' && route.path === '/api/v1/admin/users') stats.invited += 1;
    }

    before(async () => {
      started = Date.now();
      app = await startTestApp({ dialect: dialect.name });
      tokens.owner = (await setUpAccount(app)).token;
      await addUser(app, { account: 'acme', email: 'agent@acme.test', role: 'agent' });
      await addUser(app, { account: 'acme', email: 'target@acme.test', role: 'end_user' });
      tokens.agent = await signInToken(app, { account: 'acme', email: 'agent@acme.test' });
      const account = (await findAccountBySlug(app.runtime.deps.db, 'acme'))!;
      const users = new AccountUsers(app.runtime.deps.db, account.id);
      ids.owner_user = (await users.findByEmail('owner@acme.test'))!.id;
      ids.target_user = (await users.findByEmail('target@acme.test'))!.id;
      // An app of the account, so the apps routes are fuzzed with a real id too.
      const operator = await operatorAppManager(app.runtime.deps, 'acme');
      assert.ok(operator.ok);
      const registered = await createApp(
        app.runtime.deps,
        operator.value,
        { name: 'Fuzzed app', type: 'confidential', redirect_uris: ['https://app.acme.test/cb'], reason: 'fuzz target' },
        NO_REQUEST_CONTEXT,
      );
      assert.ok(registered.ok);
      ids.owner_app = registered.value.app.id;
      routes = await documentedRoutes(app);
      before0 = await countRows(app);
    });
    after(async () => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const classes = Object.entries(stats.byClass)
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      if (VERBOSE) {
        for (const [route, answers] of stats.byRoute) console.log(`  ${route}: ${[...answers].map(([answer, n]) => `${answer} ${n}`).join(', ')}`);
      }
      console.log(
        `[api-fuzz ${dialect.name}] ${stats.cases} cases over ${routes.length} routes (${stats.asOwner} with the owner's token; ${classes}; ${stats.invited} invitations, ${stats.reminted} sessions re-made) in ${seconds} s`,
      );
      await app?.close();
    });

    it('fuzzes every route of the OpenAPI document, and the document lists every API route', async () => {
      assert.ok(routes.length >= 30, `found ${routes.length} routes in /openapi.json`);
      const documented = new Set(routes.map((r) => `${r.method} ${r.path}`));
      const served = listRoutes(app.runtime.app)
        .filter((r) => r.path.startsWith('/api/'))
        .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
      assert.deepEqual(
        served.filter((route) => !documented.has(route)),
        [],
        'API routes the server serves but /openapi.json does not describe (so this suite does not fuzz them)',
      );
    });

    it('answers every generated request below 500, every 4xx in the error shape', async (t) => {
      for (const route of routes) {
        const name = `${route.method} ${route.path}`;
        const capped = HASHING_ROUTES.has(name) || Object.keys(route.body?.properties ?? {}).some((p) => /password/.test(p));
        await t.test(name, async () => {
          await fc.assert(
            fc.asyncProperty(fuzzCase(route), (testCase) => run(route, testCase)),
            { numRuns: capped ? HASHING_RUNS : RUNS, seed: seedFor(`${SEED_SALT}${name}`) },
          );
        });
      }
    });

    it('is still healthy afterwards, and no failed request wrote half of anything', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      const now = await countRows(app);
      assert.equal(now.accounts, before0.accounts, 'no account from a failed (or any) setup');
      assert.equal(now.users, before0.users + stats.invited, 'people only from successful invitations');
      assert.equal(now.invitation_tokens, before0.invitation_tokens + stats.invited, 'one invitation link per invitation');
      assert.equal(now.user_invited_events, before0.user_invited_events + stats.invited, 'one audit event per invitation');
      assert.equal(now.apps, before0.apps, 'no app added, changed or removed without the confirmation');
      // The owner is still an admin who can work, and the agent still an agent.
      for (const who of ['owner', 'agent'] as const) if (!(await alive(tokens[who]))) tokens[who] = await mint(who);
      const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${tokens.owner}` } });
      assert.equal(me.json().role, 'admin');
      const people = await app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: { authorization: `Bearer ${tokens.owner}` } });
      assert.equal(people.statusCode, 200, people.body);
      const agent = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${tokens.agent}` } });
      assert.equal(agent.json().role, 'agent');
    });
  });
}
