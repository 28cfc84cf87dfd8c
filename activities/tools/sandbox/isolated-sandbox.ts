import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../../../platform/errors';
import { newId } from '../../../platform/ids';
import { DEFAULT_SANDBOX_LIMITS, sandboxError, type SandboxLimits, type SandboxRun, type SandboxToolCall } from './quickjs-sandbox';
import type { HostToWorker, WorkerToHost } from './sandbox-protocol';

const ENTRY = path.join(__dirname, 'sandbox-worker-entry.cjs');

interface PendingRun {
  resolve(value: unknown): void;
  reject(error: AppError): void;
  callTool?: SandboxToolCall;
  timer: NodeJS.Timeout;
}

interface Generation {
  worker: Worker;
  ready: Promise<void>;
  runs: Map<string, PendingRun>;
}

export interface IsolatedSandboxOptions {
  limits?: Partial<SandboxLimits>;
  /** How long past its time limit a run may stay stuck (in native code) before its worker is stopped. */
  graceMs?: number;
}

/**
 * The QuickJS sandbox in a worker thread. QuickJS only polls its interrupt handler between
 * bytecodes, so a native builtin in a loop (e.g. `Array.prototype.fill`) can overrun the time
 * limit; here the host's event loop never blocks, and a run still stuck `graceMs` after its
 * limit gets its worker terminated (other runs in that worker fail with reason `aborted`) and
 * a fresh worker started. Same interface as createQuickJsSandbox.
 */
export function createIsolatedSandbox({ limits: defaults = {}, graceMs = 250 }: IsolatedSandboxOptions = {}) {
  let current: Generation | undefined;
  let closed = false;

  const failAll = (generation: Generation, error: (id: string) => AppError) => {
    for (const [id, run] of generation.runs) {
      clearTimeout(run.timer);
      run.reject(error(id));
    }
    generation.runs.clear();
  };

  const spawn = (): Generation => {
    const worker = new Worker(ENTRY);
    worker.unref();
    const runs = new Map<string, PendingRun>();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (message: WorkerToHost) => {
        if (message.type === 'ready') return resolve();
        if (message.type === 'call') {
          const run = runs.get(message.runId);
          const reply = (result: HostToWorker) => {
            if (current?.worker === worker) worker.postMessage(result);
          };
          if (!run?.callTool) return reply({ type: 'callResult', callId: message.callId, ok: false, message: 'this tool may not call other tools' });
          run.callTool(message.name, message.args).then(
            (value) => reply({ type: 'callResult', callId: message.callId, ok: true, value: value ?? null }),
            (error: unknown) => reply({ type: 'callResult', callId: message.callId, ok: false, message: error instanceof Error ? error.message : String(error) }),
          );
          return;
        }
        const run = runs.get(message.id);
        if (!run) return;
        runs.delete(message.id);
        clearTimeout(run.timer);
        if (message.ok) run.resolve(message.value);
        else run.reject(new AppError(message.error.code as ErrorCode, message.error.message, message.error.details));
      });
    });
    const generation: Generation = { worker, ready, runs };
    worker.on('error', (error) => failAll(generation, () => sandboxError('error', `sandbox worker failed: ${error.message}`)));
    worker.on('exit', () => {
      if (current === generation) current = undefined;
      failAll(generation, () => sandboxError('aborted', 'the sandbox worker stopped'));
    });
    return generation;
  };

  const acquire = async (): Promise<Generation> => {
    if (closed) throw new AppError('UNAVAILABLE', 'the sandbox is closed');
    current ??= spawn();
    const generation = current;
    await generation.ready;
    return generation;
  };

  return {
    /** Runs code in the worker; resolves with its JSON result or rejects with TOOL_FAILED (reason as createQuickJsSandbox). */
    async run({ code, args, limits: overrides, callTool, signal }: SandboxRun): Promise<unknown> {
      const limits = { ...DEFAULT_SANDBOX_LIMITS, ...defaults, ...overrides };
      const generation = await acquire();
      const id = newId();
      return new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          const stuck = generation.runs.get(id);
          generation.runs.delete(id);
          stuck?.reject(sandboxError('timeout', `the tool ran past its time limit of ${limits.timeoutMs} ms inside native code; its sandbox worker was stopped`));
          if (current === generation) current = undefined;
          failAll(generation, () => sandboxError('aborted', 'the sandbox worker was restarted because another tool overran'));
          void generation.worker.terminate();
        }, limits.timeoutMs + graceMs);
        generation.runs.set(id, { resolve, reject, callTool, timer });
        signal?.addEventListener('abort', () => generation.worker.postMessage({ type: 'abort', id } satisfies HostToWorker), { once: true });
        generation.worker.postMessage({ type: 'run', id, code, args: JSON.parse(JSON.stringify(args ?? null)) as unknown, limits: { ...limits }, canCallTools: callTool !== undefined } satisfies HostToWorker);
      });
    },

    /** Starts the worker and loads QuickJS in it. */
    async warm(): Promise<void> {
      await acquire();
    },

    /** Stops the worker; pending runs fail with reason `aborted`. */
    async close(): Promise<void> {
      closed = true;
      const generation = current;
      current = undefined;
      if (generation) await generation.worker.terminate();
    },
  };
}
export type IsolatedSandbox = ReturnType<typeof createIsolatedSandbox>;
