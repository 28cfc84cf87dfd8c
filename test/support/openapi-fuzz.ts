import fc from 'fast-check';

type JsonSchema = Record<string, unknown>;

/** One operation of the served OpenAPI document, as the fuzzer needs it. */
export interface FuzzOperation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template, e.g. `/api/v1/plans/{id}`. */
  template: string;
  pathParams: { name: string; schema: JsonSchema }[];
  queryParams: { name: string; schema: JsonSchema; required: boolean }[];
  body?: JsonSchema;
  security: unknown[];
  /** The statuses the operation documents. */
  statuses: number[];
}

/** A generated request: the URL to call and the raw body text (JSON-ish, possibly malformed). */
export interface FuzzRequest {
  url: string;
  /** A path segment went out un-encoded (`..`, `\\`): the URL may resolve to another route. */
  rerouted: boolean;
  body?: string;
  contentType?: string;
}

/** Every operation of an OpenAPI 3.1 document (path, query and body schemas, documented statuses). */
export function operationsOf(document: { paths: Record<string, Record<string, JsonSchema>> }): FuzzOperation[] {
  const out: FuzzOperation[] = [];
  for (const [template, ops] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const parameters = (op.parameters as { name: string; in: string; required?: boolean; schema: JsonSchema }[] | undefined) ?? [];
      const body = (op.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content?.['application/json']?.schema;
      out.push({
        method: method as FuzzOperation['method'],
        template,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema })),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema, required: p.required === true })),
        ...(body ? { body } : {}),
        security: (op.security as unknown[] | undefined) ?? [],
        statuses: Object.keys(op.responses as object).map(Number),
      });
    }
  }
  return out;
}

// Sentinels replaced in the JSON text by number literals JSON.stringify cannot write.
const RAW_NUMBERS: Record<string, string> = { __OVERFLOW__: '1e309', __NEG_OVERFLOW__: '-1e309', __BIGINT__: '123456789012345678901234567890', __NEG_ZERO__: '-0', __TINY__: '5e-324' };

/** Hostile scalars: wrong types, huge and odd strings, NaN-ish numbers, injection and traversal text. */
const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, '', ' ', 'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true',
    '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', '../../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', 'a\u0000b', '%00',
    "' OR '1'='1", "'; DROP TABLE plans; --", '${process.env}', '{{7*7}}', '<script>alert(1)</script>', '\u202e\u0000\ud800', '\uffff\ufeff',
    '😀'.repeat(100), 'x'.repeat(70_000), '0x10', '1e309', ...Object.keys(RAW_NUMBERS),
  ),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double(),
  fc.integer(),
);

/** A deeply nested array or object (the JSON parser and zod must neither crash nor hang). */
const deepNesting: fc.Arbitrary<unknown> = fc.tuple(fc.integer({ min: 50, max: 3000 }), fc.boolean()).map(([depth, arrays]) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = arrays ? [value] : { a: value };
  return value;
});

/** Objects with prototype-pollution keys as own properties (as JSON.parse makes them). */
const pollution: fc.Arbitrary<unknown> = fc.constantFrom(
  JSON.parse('{"__proto__": {"polluted": "yes", "isAdmin": true}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}'),
  JSON.parse('{"__proto__": null, "toString": 1, "valueOf": "x", "hasOwnProperty": []}'),
);

/** Anything at all: the hostile value generator used where a schema says nothing. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileScalar },
  { weight: 1, arbitrary: deepNesting },
  { weight: 2, arbitrary: pollution },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

function resolve(schema: JsonSchema, components: JsonSchema): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const target = ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], { components });
  return (target as JsonSchema | undefined) ?? {};
}

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = Math.min(typeof schema.maxLength === 'number' ? schema.maxLength : 30, minLength + 30);
  if (typeof schema.pattern === 'string') {
    try {
      const pattern = new RegExp(schema.pattern);
      return fc.stringMatching(pattern).filter((s) => s.length >= minLength && s.length <= (typeof schema.maxLength === 'number' ? schema.maxLength : Infinity));
    } catch {
      // a pattern JavaScript cannot compile: plain strings then
    }
  }
  if (schema.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'uri' || schema.format === 'url') return fc.webUrl();
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.format === 'uuid') return fc.uuid();
  return fc.string({ minLength, maxLength });
}

/**
 * Values shaped by a JSON Schema (2020-12 as the document carries it): enums, bounds, patterns,
 * required properties. With `hostility` > 0 any node may instead be a hostile value, so most
 * requests pass the outer layers of validation and fail (or succeed) deep inside.
 */
export function valueFor(schema: JsonSchema, components: JsonSchema, hostility = 0, depth = 0): fc.Arbitrary<unknown> {
  const shaped = shapedValue(resolve(schema, components), components, hostility, depth);
  return hostility > 0 ? fc.oneof({ weight: 100 - hostility, arbitrary: shaped }, { weight: hostility, arbitrary: hostileValue }) : shaped;
}

function shapedValue(schema: JsonSchema, components: JsonSchema, hostility: number, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.constant(null);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) return fc.oneof(...alternatives.map((s) => valueFor(s, components, hostility, depth + 1)));
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return valueFor(schema.allOf[0] as JsonSchema, components, hostility, depth + 1);
  const type = Array.isArray(schema.type) ? (schema.type[0] as string) : (schema.type as string | undefined);
  switch (type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : -1000;
      const max = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1 : 1000;
      const lo = Math.max(min, -1e6);
      const hi = Math.max(lo, Math.min(max, 1e6));
      return type === 'integer' ? fc.integer({ min: Math.ceil(lo), max: Math.floor(hi) }) : fc.double({ min: lo, max: hi, noNaN: true });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items as JsonSchema | undefined) ?? {};
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 4, minLength + 4);
      return fc.array(valueFor(items, components, hostility, depth + 1), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) record[name] = valueFor(property, components, hostility, depth + 1);
      const known = fc.record(record, { requiredKeys: [...required].filter((k) => k in record) });
      const extra = schema.additionalProperties;
      if (Object.keys(properties).length === 0 && extra !== false) {
        return fc.dictionary(fc.string({ maxLength: 12 }), valueFor(typeof extra === 'object' && extra !== null ? (extra as JsonSchema) : {}, components, hostility, depth + 1), { maxKeys: 4 });
      }
      return known;
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Serialises a generated body to JSON text, writing the number sentinels as raw literals (1e309, -0, ...). */
export function toJsonText(value: unknown): string {
  let text = JSON.stringify(value) ?? 'null';
  for (const [sentinel, literal] of Object.entries(RAW_NUMBERS)) text = text.replaceAll(`"${sentinel}"`, literal);
  return text;
}

/** encodeURIComponent that turns lone surrogates into U+FFFD instead of throwing. */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

/** Path segments that try traversal, NUL bytes, encodings and odd unicode; some are sent un-encoded. */
const hostileSegment: fc.Arbitrary<{ raw: boolean; text: string }> = fc.oneof(
  fc.constantFrom('..', '../..', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f', '%00', 'a%00b', '%', '%zz', '%E0%A4%A', '%C0%AE%C0%AE', ';', '~', '*', '.', '//', '\\..\\').map((text) => ({ raw: true, text })),
  fc.oneof(hostileScalar.map((v) => String(v).slice(0, 2000)), fc.string({ unit: 'grapheme', maxLength: 20 })).map((text) => ({ raw: false, text })),
);

function segment(schema: JsonSchema, components: JsonSchema, known: readonly string[]): fc.Arbitrary<{ raw: boolean; text: string }> {
  return fc.oneof(
    { weight: 3, arbitrary: valueFor(schema, components).map((v) => ({ raw: false, text: encode(String(v)) })) },
    { weight: known.length > 0 ? 3 : 0, arbitrary: fc.constantFrom('', ...known).map((id) => ({ raw: false, text: encode(id) })) },
    { weight: 2, arbitrary: hostileSegment.map(({ raw, text }) => ({ raw, text: raw ? text : encode(text) })) },
  ).map((s) => (s.text === '' ? { raw: false, text: '%20' } : s));
}

function queryValue(schema: JsonSchema, components: JsonSchema): fc.Arbitrary<string[]> {
  const one = fc.oneof({ weight: 3, arbitrary: valueFor(schema, components).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))) }, { weight: 2, arbitrary: hostileScalar.map((v) => String(v).slice(0, 2000)) });
  return fc.oneof({ weight: 4, arbitrary: one.map((v) => [v]) }, { weight: 1, arbitrary: fc.array(one, { minLength: 2, maxLength: 3 }) });
}

/** Malformed or surprising bodies: broken JSON, wrong content types, empty bodies. */
const rawBody: fc.Arbitrary<{ body: string; contentType: string }> = fc.oneof(
  fc.constantFrom('{', '{"a":', '[1,2', 'nul', '"unterminated', '{"a":1}}', '\u0000', '', '{"__proto__":{"polluted":1}}', '{"a":1,"a":2}').map((body) => ({ body, contentType: 'application/json' })),
  fc.string({ maxLength: 50 }).map((body) => ({ body, contentType: 'text/plain' })),
  fc.constant({ body: 'a=1&__proto__[x]=1', contentType: 'application/x-www-form-urlencoded' }),
);

/** Requests for one operation: shaped-but-hostile params (or `known` real ids), query and body, malformed bodies, and a known-valid `example` body with its mutants. */
export function requestsFor(op: FuzzOperation, components: JsonSchema, known: readonly string[] = [], example?: unknown): fc.Arbitrary<FuzzRequest> {
  const path = op.pathParams.length === 0
    ? fc.constant({ path: op.template, rerouted: false })
    : fc.tuple(...op.pathParams.map((p) => segment(p.schema, components, known))).map((values) => ({
        path: op.pathParams.reduce((t, p, i) => t.replace(`{${p.name}}`, values[i]!.text), op.template),
        rerouted: values.some((v) => v.raw && /\.|\\|\/|%2e|%2f|%5c/i.test(v.text)),
      }));
  const query = fc.tuple(
    fc.tuple(...op.queryParams.map((p) => fc.option(queryValue(p.schema, components), { freq: p.required ? 10 : 2, nil: undefined }))),
    fc.option(fc.constantFrom('__proto__[polluted]=1', 'constructor[prototype][polluted]=1', 'a[b][c][d][e][f]=1', `${'a'.repeat(5000)}=1`, 'limit=-1&limit=1e309'), { freq: 4, nil: undefined }),
  ).map(([values, extra]) => {
    const parts = op.queryParams.flatMap((p, i) => (values[i] ?? []).map((v) => `${encode(p.name)}=${encode(v)}`));
    if (extra) parts.push(extra);
    return parts.length > 0 ? `?${parts.join('&')}` : '';
  });
  const body: fc.Arbitrary<{ body?: string; contentType?: string }> = op.body || op.method !== 'get'
    ? fc.oneof(
        { weight: 3, arbitrary: valueFor(op.body ?? {}, components, 0).map((v) => ({ body: toJsonText(v), contentType: 'application/json' })) },
        { weight: 5, arbitrary: valueFor(op.body ?? {}, components, 12).map((v) => ({ body: toJsonText(v), contentType: 'application/json' })) },
        { weight: 1, arbitrary: hostileValue.map((v) => ({ body: toJsonText(v), contentType: 'application/json' })) },
        { weight: 1, arbitrary: rawBody },
        { weight: example === undefined ? 0 : 3, arbitrary: example === undefined ? fc.constant({}) : fc.constant(toJsonText(example)).map((body) => ({ body, contentType: 'application/json' })) },
        { weight: example === undefined ? 0 : 8, arbitrary: example === undefined ? fc.constant({}) : mutantsOf(example).map((body) => ({ body, contentType: 'application/json' })) },
      )
    : fc.constant({});
  return fc.tuple(path, query, body).map(([p, q, b]) => ({ url: `${p.path}${q}`, rerouted: p.rerouted, ...b }));
}

/** Marks a node `withNode` removes. */
const DELETE = Symbol('delete');

/** Every path to a leaf or branch of a JSON value (arrays by index). */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (value !== null && typeof value === 'object' && prefix.length < 8) {
    for (const [key, child] of Object.entries(value)) pathsOf(child, [...prefix, Array.isArray(value) ? Number(key) : key], out);
  }
  return out;
}

/** A deep copy of `value` with the node at `path` replaced (or deleted when `replacement` is the DELETE marker). */
function withNode(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = JSON.parse(JSON.stringify(value)) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === DELETE) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    Object.defineProperty(node, last, { value: replacement, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/**
 * Mutants of a known-valid body: one to three nodes replaced by hostile values, deleted, or
 * given a prototype-pollution sibling. They pass most of validation and fail (or succeed) deep
 * inside, where hand-written schemas and services meet.
 */
export function mutantsOf(example: unknown): fc.Arbitrary<string> {
  const paths = pathsOf(example);
  const mutation = fc.tuple(fc.constantFrom(...paths), fc.oneof({ weight: 6, arbitrary: hostileValue }, { weight: 1, arbitrary: fc.constant<unknown>(DELETE) }));
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
    let value = example;
    for (const [path, replacement] of mutations) {
      try {
        value = withNode(value, path, replacement);
      } catch {
        // an earlier mutation removed this path: skip it
      }
    }
    return toJsonText(value);
  });
}
