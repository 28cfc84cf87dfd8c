import { AppError } from '../../platform/errors';
import type { BuiltinTool, ToolContext, ToolDefinition } from './tool-types';

/** Runs tools by name, validating arguments first; the single execution path for every caller. */
export function createToolExecutor(tools: readonly BuiltinTool[]) {
  const byName = new Map(tools.map((tool) => [tool.definition.name, tool]));

  return {
    /** Lists the definitions of every known tool. */
    list(): ToolDefinition[] {
      return [...byName.values()].map((tool) => tool.definition);
    },

    /** Whether a tool of that name exists. */
    async exists(name: string): Promise<boolean> {
      return byName.has(name);
    },

    /** Throws NOT_FOUND for an unknown tool and UNPROCESSABLE (with every issue) for bad arguments. */
    async execute(name: string, args: unknown, context: ToolContext): Promise<unknown> {
      const tool = byName.get(name);
      if (!tool) throw new AppError('NOT_FOUND', `tool '${name}' does not exist`, { name });
      const parsed = tool.args.safeParse(args);
      if (!parsed.success) {
        throw new AppError('UNPROCESSABLE', `invalid arguments for ${name}`, { issues: parsed.error.issues });
      }
      return tool.execute(parsed.data, context);
    },
  };
}
export type ToolExecutor = ReturnType<typeof createToolExecutor>;
