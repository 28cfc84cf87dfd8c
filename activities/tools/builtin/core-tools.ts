import { z } from 'zod';
import { defineTool, type BuiltinTool } from '../tool-types';

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

/** core.echo and core.math: stateless tools with no dependencies. */
export const CORE_TOOLS: readonly BuiltinTool[] = [echo, math];
