import { evaluate, parseExpression, referencedSteps } from '../workflows/plan-expression';
import { validatePlanGraph } from '../workflows/plan-graph';
import { resolveTemplates } from '../workflows/plan-template';
import { PlanDefinition } from '../activities/plans/plan-schemas';

const scope = { input: { x: 3, name: 'Ada', tags: ['a', 'b'] }, steps: { fetch: { output: { items: [{ url: 'https://e.x/1' }], ok: true } } } };
const run = (source: string) => evaluate(parseExpression(source), scope);

describe('plan expressions (no eval)', () => {
  test('paths, operators, precedence and functions', () => {
    expect(run('steps.fetch.output.items[0].url')).toBe('https://e.x/1');
    expect(run("input['name']")).toBe('Ada');
    expect(run('input.x * 2 + 1 == 7 && !false')).toBe(true);
    expect(run('input.x > 5 ? "big" : "small"')).toBe('small');
    expect(run('len(input.tags) == 2 && contains(input.tags, "b") && upper(input.name) == "ADA"')).toBe(true);
    expect(run('input.missing.deep')).toBeUndefined();
    expect(run('exists(input.missing) || "fallback"')).toBe('fallback');
    expect(referencedSteps(parseExpression('steps.a.output.x + steps.b.output[steps.c.output.i]')).sort()).toEqual(['a', 'b', 'c']);
  });

  test('anything outside the language is rejected, not executed', () => {
    for (const bad of ['process.exit(1)', 'constructor.constructor("x")()', 'input.x; 1', 'input.x =', '`x`', 'steps[input.k].output', 'input.x ==']) {
      expect(() => referencedSteps(parseExpression(bad))).toThrow();
    }
    expect(run('input.__proto__')).toBeUndefined();
    expect(run('input.constructor')).toBeUndefined();
    expect(() => run('input.name - 1')).toThrow(/needs numbers/);
  });

  test('templates keep the type of a whole-string reference and interpolate inside text', () => {
    expect(resolveTemplates({ url: '{{ steps.fetch.output.items[0].url }}', n: '{{input.x}}', s: 'n={{ input.x }}, tags={{ input.tags }}', keep: 5 }, scope)).toEqual({
      url: 'https://e.x/1', n: 3, s: 'n=3, tags=["a","b"]', keep: 5,
    });
  });
});

describe('plan graph validation', () => {
  const problems = (steps: unknown[]) => validatePlanGraph(PlanDefinition.parse({ steps }).steps).map((p) => `${p.code}:${p.stepId}`);
  const tool = (id: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'tool', tool: 'core.echo', ...extra });

  test('a valid diamond has no problems', () => {
    expect(problems([tool('a'), tool('b', { dependsOn: ['a'], args: { v: '{{ steps.a.output }}' } }), tool('c', { dependsOn: ['a'] }), tool('d', { dependsOn: ['b', 'c'], args: { v: '{{ steps.a.output.x }}' } })])).toEqual([]);
  });
  test('each kind of problem is named', () => {
    expect(problems([tool('a'), tool('a')])).toEqual(['DUPLICATE_STEP:a']);
    expect(problems([tool('a', { dependsOn: ['ghost'] })])).toEqual(['MISSING_DEPENDENCY:a']);
    expect(problems([tool('a', { dependsOn: ['c'] }), tool('b', { dependsOn: ['a'] }), tool('c', { dependsOn: ['b'] })])).toEqual(['CYCLE:a']);
    expect(problems([tool('a', { args: { v: '{{ steps.nope.output }}' } })])).toEqual(['UNKNOWN_STEP:a']);
    expect(problems([tool('a'), tool('b', { args: { v: '{{ steps.a.output }}' } })])).toEqual(['NOT_A_DEPENDENCY:b']);
    expect(problems([tool('a', { args: { v: '{{ input. }}' } })])).toEqual(['BAD_EXPRESSION:a']);
    expect(problems([tool('a', { compensation: { tool: 'core.echo', args: { undo: '{{ steps.a.output.id }}' } } })])).toEqual([]);
    expect(problems([{ id: 'c', kind: 'condition', expression: 'input.x > 1', then: ['b'] }, tool('b')])).toEqual(['BAD_BRANCH:c']);
    // a name with a dash reads as one key: refused, with how to write either meaning
    expect(problems([tool('a', { args: { v: '{{ input.n-1 }}' } })])).toEqual(['BAD_EXPRESSION:a']);
    expect(problems([tool('a', { args: { v: "{{ input.n - 1 }}", w: "{{ input['n-1'] }}" } })])).toEqual([]);
    // a step in both branches, and a step joining both branches, would always be skipped
    expect(problems([{ id: 'c', kind: 'condition', expression: 'input.x > 1', then: ['b'], else: ['b'] }, tool('b', { dependsOn: ['c'] })])).toEqual(['BAD_BRANCH:c']);
    const branches = [{ id: 'c', kind: 'condition', expression: 'input.x > 1', then: ['yes'], else: ['no'] }, tool('yes', { dependsOn: ['c'] }), tool('no', { dependsOn: ['c'] })];
    expect(problems([...branches, tool('join', { dependsOn: ['yes', 'no'] })])).toEqual(['NEVER_RUNS:join']);
    expect(problems([...branches, tool('afterYes', { dependsOn: ['yes'] }), tool('afterC', { dependsOn: ['c'] })])).toEqual([]);
  });
});
