import { z } from 'zod';
import { createArgsValidator, zodIssues, type LocatedIssue } from '../activities/tools/args-validator';
import { literalIssues, templatedPaths } from '../activities/tools/templated-args';

// The rule for templated arguments, over the real validators' issues: ajv (custom and plugin
// tools' JSON schemas) and zod (built-ins). A string holding `{{` stands for a template here.
const isTemplate = (text: string) => text.includes('{{');
const validator = createArgsValidator();

function ajvKept(schema: Record<string, unknown>, args: Record<string, unknown>): string[] {
  const parsed = validator.parse(schema, args);
  return parsed.ok ? [] : paths(literalIssues(parsed.issues, templatedPaths(args, isTemplate)));
}

function zodKept(schema: z.ZodType, args: Record<string, unknown>): string[] {
  const parsed = schema.safeParse(args);
  return parsed.success ? [] : paths(literalIssues(zodIssues(parsed.error), templatedPaths(args, isTemplate)));
}

const paths = (issues: LocatedIssue[]) => issues.map((i) => `${i.path} ${i.message}`);

describe('which argument issues a template could remove', () => {
  test('templated positions are the strings holding a template, nested in objects and arrays', () => {
    expect(templatedPaths({ a: '{{ x }}', b: ['1', 'n={{ y }}'], c: { 'd/e': '{{ z }}', f: 2 }, g: null }, isTemplate)).toEqual([['a'], ['b', '1'], ['c', 'd/e']]);
    expect(templatedPaths({ a: 'plain' }, isTemplate)).toEqual([]);
  });

  test('ajv: a literal of the wrong type and a missing required key are kept; a templated value of any type is not', () => {
    const schema = { type: 'object', properties: { n: { type: 'number' }, m: { type: 'number' }, 'a/b': { type: 'integer' } }, required: ['n', 'm'], additionalProperties: false };
    expect(ajvKept(schema, { n: 'one', m: '{{ input.m }}' })).toEqual(['/n must be number {"type":"number"}']);
    // The templated key is present, so `required` holds; the missing one and the unknown one are literal facts.
    expect(ajvKept(schema, { m: '{{ input.m }}', extra: 1 })).toEqual(['/ must have required property \'n\' {"missingProperty":"n"}', '/ must NOT have additional properties {"additionalProperty":"extra"}']);
    // JSON-pointer escapes in ajv's paths match the keys they stand for.
    expect(ajvKept(schema, { n: 1, m: 2, 'a/b': '{{ input.x }}' })).toEqual([]);
    expect(ajvKept(schema, { n: 1, m: 2, 'a/b': 'x' })).toEqual(['/a~1b must be integer {"type":"integer"}']);
  });

  test('ajv: a container\'s own shape is kept above a template; rules reading its items are not', () => {
    const schema = { type: 'object', properties: { list: { type: 'array', items: { type: 'number' }, minItems: 3, uniqueItems: true } } };
    expect(ajvKept(schema, { list: ['{{ a }}', 1] })).toEqual(['/list must NOT have fewer than 3 items {"limit":3}']);
    // [template, 1, 1] repeats 1 whatever the template is, but uniqueItems reads the items: left to run time.
    expect(ajvKept(schema, { list: ['{{ a }}', 1, 1] })).toEqual([]);
    expect(ajvKept(schema, { list: [2, 1, 1] })).toEqual(['/list must NOT have duplicate items (items ## 2 and 1 are identical) {"i":1,"j":2}']);
  });

  test('ajv: a failed alternative over a template drops its branches\' issues, also those a $ref reports elsewhere', () => {
    const anyOf = {
      type: 'object',
      definitions: { A: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] }, B: { type: 'object', properties: { y: { type: 'string' } }, required: ['y'] } },
      anyOf: [{ $ref: '#/definitions/A' }, { $ref: '#/definitions/B' }],
    };
    // A template for x may well be a number (branch A): B's missing y is no reason to refuse.
    expect(ajvKept(anyOf, { x: '{{ input.x }}' })).toEqual([]);
    expect(ajvKept(anyOf, { x: 'not a number' })).toHaveLength(3);
    const ifThen = { type: 'object', properties: { mode: { type: 'string' } }, if: { properties: { mode: { const: 'x' } } }, then: { properties: { y: {} }, required: ['y'] }, else: { properties: { z: {} }, required: ['z'] } };
    expect(ajvKept(ifThen, { mode: '{{ input.mode }}' })).toEqual([]);
    expect(ajvKept(ifThen, { mode: 'x' })).toEqual(['/ must have required property \'y\' {"missingProperty":"y"}', '/ must match "then" schema {"failingKeyword":"then"}']);
  });

  test('zod: type, enum and length issues of literals are kept; a union over a template and refinements beside one are not', () => {
    const math = z.object({ op: z.enum(['add', 'mul']), values: z.array(z.number()).min(1) });
    expect(zodKept(math, { op: 'pow', values: ['{{ a }}', 'two'] })).toEqual(['/op Invalid option: expected one of "add"|"mul"', '/values/1 Invalid input: expected number, received string']);
    expect(zodKept(math, { op: '{{ input.op }}', values: '{{ input.values }}' })).toEqual([]);
    expect(zodKept(math, { op: '{{ input.op }}' })).toEqual(['/values Invalid input: expected array, received undefined']);
    expect(zodKept(z.object({ a: z.union([z.number(), z.boolean()]) }), { a: '{{ x }}' })).toEqual([]);
    // A refinement may read any argument and report anywhere: with a template present, run time decides.
    const ordered = z.object({ low: z.string(), high: z.number() }).refine((o) => o.low.length < o.high, { path: ['high'], message: 'low too long' });
    expect(zodKept(ordered, { low: '{{ input.low }}', high: 1 })).toEqual([]);
    expect(zodKept(ordered, { low: 'abc', high: 1 })).toEqual(['/high low too long']);
  });
});
