import fc from 'fast-check';
import { AppError } from '../platform/errors';
import { openTestStack, type TestStack } from './support/test-stack';

// Random arguments against executeTool: every call either succeeds or fails with a 4xx
// AppError, never crashes, and a rejected call writes nothing.
describe('executeTool argument fuzzing (fast-check)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(() => stack.close());

  const TOOLS = [
    'core.echo', 'core.math', 'core.json.get', 'core.json.set', 'core.json.merge', 'core.json.pick', 'core.json.transform',
    'core.string.template', 'core.events.emit', 'core.tasks.create', 'core.tasks.update', 'core.tasks.get', 'core.notes.create',
    'core.calendar_events.create', 'core.contacts.create', 'core.goals.update', 'core.memories.list', 'core.bookmarks.delete',
  ];
  const principals = fc.constantFrom('admin', 'user:fuzz', 'plugin:fuzz', 'anonymous');
  const hostile = fc.constantFrom('__proto__', 'constructor', 'prototype', "'; DROP TABLE tasks; --", '{{#a}}{{/b}}', 'a..b[', '$', '', ' '.repeat(600));
  const value: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostile, fc.constant(undefined), fc.double());
  const argsFor = (tool: string): fc.Arbitrary<unknown> => {
    const known: Record<string, string[]> = {
      'core.math': ['op', 'values'], 'core.json.get': ['value', 'path', 'default'], 'core.json.set': ['value', 'path', 'newValue'],
      'core.json.merge': ['values'], 'core.json.pick': ['value', 'paths'], 'core.json.transform': ['value', 'mapping'],
      'core.string.template': ['template', 'data'], 'core.events.emit': ['type', 'data'], 'core.tasks.create': ['title', 'status', 'priority', 'dueAt', 'tags'],
      'core.tasks.update': ['id', 'changes'], 'core.calendar_events.create': ['title', 'startsAt', 'endsAt'], 'core.contacts.create': ['name', 'email'],
    };
    const keys = [...(known[tool] ?? []), '__proto__', 'extra'];
    return fc.oneof(value, fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 5 }));
  };
  const call = fc.constantFrom(...TOOLS).chain((tool) => fc.record({ tool: fc.constant(tool), args: argsFor(tool), principal: principals }));

  const counts = async () =>
    Promise.all([stack.prisma.task.count(), stack.prisma.note.count(), stack.prisma.calendarEvent.count(), stack.prisma.contact.count(), stack.prisma.goal.count(), stack.prisma.bookmark.count()]);

  test('every call resolves or rejects with a 4xx AppError; rejections write nothing', async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    let rejected = 0;
    let succeeded = 0;
    await fc.assert(
      fc.asyncProperty(call, async ({ tool, args, principal }) => {
        const before = await counts();
        try {
          await stack.tools.executeTool(tool, args, { requesterId: principal });
          succeeded += 1;
        } catch (error) {
          rejected += 1;
          expect(error).toBeInstanceOf(AppError);
          const status = (error as AppError).status;
          expect(status >= 400 && status < 500).toBe(true);
          expect(await counts()).toEqual(before);
        }
      }),
      { numRuns: 300 },
    );
    expect(rejected).toBeGreaterThan(0);
    expect(succeeded).toBeGreaterThan(0);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  }, 120_000);
});
