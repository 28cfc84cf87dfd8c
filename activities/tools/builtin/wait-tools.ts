import { z } from 'zod';
import { AppError } from '../../../platform/errors';
import { defineTool, type BuiltinTool } from '../tool-types';

const MAX_WAIT_MS = 5 * 60_000;
const WaitArgs = z.object({ ms: z.number().int().min(0).max(MAX_WAIT_MS) });

/** Resolves after `ms`, or rejects with TOOL_FAILED (reason aborted) as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => new AppError('TOOL_FAILED', 'wait was aborted', { reason: 'aborted' });
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** core.wait: waits a duration (at most 5 minutes), abortable. */
export const WAIT_TOOLS: readonly BuiltinTool[] = [
  defineTool({
    definition: { name: 'core.wait', description: 'Waits the given number of milliseconds (at most 5 minutes)', category: 'core', parameters: z.toJSONSchema(WaitArgs) as Record<string, unknown>, tags: ['time'] },
    args: WaitArgs,
    timeoutMs: MAX_WAIT_MS + 5_000,
    execute: async ({ ms }, context) => {
      await abortableSleep(ms, context.signal);
      return { waitedMs: ms };
    },
  }),
];
