import { z } from 'zod';
import { defineTool, type BuiltinTool } from './tool-types';

const echo = defineTool({
  definition: {
    name: 'core.echo',
    description: 'Returns its arguments unchanged',
    category: 'core',
    parameters: { type: 'object', additionalProperties: true },
    tags: ['debug'],
  },
  args: z.record(z.string(), z.unknown()),
  execute: async (args) => args,
});

const MathArgs = z.object({
  op: z.enum(['add', 'sub', 'mul', 'div', 'min', 'max']),
  values: z.array(z.number().finite()).min(1),
});

const math = defineTool({
  definition: {
    name: 'core.math',
    description: 'Applies an arithmetic operation to a list of numbers',
    category: 'core',
    parameters: z.toJSONSchema(MathArgs) as Record<string, unknown>,
    tags: ['math'],
  },
  args: MathArgs,
  execute: async ({ op, values }) => {
    const [first, ...rest] = values as [number, ...number[]];
    const fold = {
      add: (a: number, b: number) => a + b,
      sub: (a: number, b: number) => a - b,
      mul: (a: number, b: number) => a * b,
      div: (a: number, b: number) => a / b,
      min: (a: number, b: number) => Math.min(a, b),
      max: (a: number, b: number) => Math.max(a, b),
    }[op];
    const result = rest.reduce(fold, first);
    if (!Number.isFinite(result)) throw new Error(`core.math ${op} produced ${result}`);
    return { result };
  },
});

const SleepArgs = z.object({ ms: z.number().int().min(0).max(600_000) });

const sleep = defineTool({
  definition: {
    name: 'core.sleep',
    description: 'Waits the given milliseconds (stops early when the caller aborts) and returns them',
    category: 'core',
    parameters: z.toJSONSchema(SleepArgs) as Record<string, unknown>,
    tags: ['debug'],
  },
  args: SleepArgs,
  execute: ({ ms }, context) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({ sleptMs: ms }), ms);
      context.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('core.sleep aborted'));
      });
    }),
});

/** The built-in tools every worker and API process registers at start. */
export const BUILTIN_TOOLS: readonly BuiltinTool[] = [echo, math, sleep];
