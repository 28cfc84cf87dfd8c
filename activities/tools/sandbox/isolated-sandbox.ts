import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../../../platform/errors';
import { newId } from '../../../platform/ids';
import { DEFAULT_SANDBOX_LIMITS, sandboxError, type SandboxLimits, type SandboxRun, type SandboxToolCall } from './quickjs-sandbox';
import type { HostToWorker, WorkerToHost } from './sandbox-protocol';
import { createSlotQueue } from './slot-queue';

const ENTRY = path.join(__dirname, 'sandbox-worker-entry.cjs');

interface PendingRun {
  resolve(value: unknown): void;
  reject(error: AppError): void;
  callTool?: SandboxToolCall;
  /** Set once the run is sent: a stuck run's worker is stopped when it fires. */
  timer: NodeJS.Timeout | undefined;
}

interface Generation {
  worker: Worker;
  ready: Promise<void>;
  runs: Map<string, PendingRun>;
  /** WASM memory the worker reported after its latest run. */
  wasmBytes: number;
}

export interface IsolatedSandboxOptions {
  limits?: Partial<SandboxLimits>;
  /** How long past its time limit a run may stay stuck (in native code) before its worker is stopped. */
  graceMs?: number;
  /** Runs (QuickJS runtimes) alive at once; more wait, and the wait counts in their time limit. Default 16. */
  maxLiveRuns?: number;
  /** Runs that may wait for a free slot; one more fails with UNAVAILABLE. Default 256. */
  maxQueuedRuns?: number;
  /** How deep runs nest (the registry's maxCallDepth): slots are kept back so nested runs always get one. Default 3. */
  maxDepth?: number;
  /** An idle worker whose WASM memory grew past this is replaced, which gives the memory back. Default 64 MiB. */
  recycleAboveBytes?: number;
}

/**
 * The QuickJS sandbox in a worker thread. QuickJS only polls its interrupt handler between
 * bytecodes, so a native builtin in a loop (e.g. `Array.prototype.fill`) can overrun the time
 * limit; here the host's event loop never blocks, and a run still stuck `graceMs` after its
 * limit gets its worker terminated (other runs in that worker fail with reason `aborted`) and
 * a fresh worker started. At most `maxLiveRuns` runs are alive at once, and an idle worker
 * whose WASM memory grew past `recycleAboveBytes` is replaced the same way (WASM memory never
 * shrinks otherwise). Same interface as createQuickJsSandbox.
 */
export function createIsolatedSandbox({ limits: defaults = {}, graceMs = 250, maxLiveRuns = 16, maxQueuedRuns = 256, maxDepth = 3, recycleAboveBytes = 64 * 1024 * 1024 }: IsolatedSandboxOptions = {}) {
  const slots = createSlotQueue({ slots: maxLiveRuns, maxWaiting: maxQueuedRuns, levels: maxDepth });
  let current: Generation | undefined;
  let closed = false;
  let workersStarted = 0;

  const failAll = (generation: Generation, error: (id: string) => AppError) => {
    for (const [id, run] of generation.runs) {
      clearTimeout(run.timer);
      run.reject(error(id));
    }
    generation.runs.clear();
  };

  /** Stops a worker; new runs go to a fresh one, and its exit fails whatever still runs there. */
  const retire = (generation: Generation) => {
    if (current === generation) current = undefined;
    void generation.worker.terminate();
  };

  const spawn = (): Generation => {
    const worker = new Worker(ENTRY);
    worker.unref();
    workersStarted += 1;
    const runs = new Map<string, PendingRun>();
    const generation: Generation = { worker, ready: Promise.resolve(), runs, wasmBytes: 0 };
    generation.ready = new Promise<void>((resolve, reject) => {
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
        generation.wasmBytes = message.wasmBytes;
        const run = runs.get(message.id);
        if (!run) return;
        runs.delete(message.id);
        clearTimeout(run.timer);
        if (message.ok) run.resolve(message.value);
        else run.reject(new AppError(message.error.code as ErrorCode, message.error.message, message.error.details));
        if (runs.size === 0 && message.wasmBytes > recycleAboveBytes) retire(generation);
      });
    });
    worker.on('error', (error) => failAll(generation, () => sandboxError('error', `sandbox worker failed: ${error.message}`)));
    worker.on('exit', () => {
      if (current === generation) current = undefined;
      failAll(generation, () => sandboxError('aborted', 'the sandbox worker stopped'));
    });
    return generation;
  };

  return {
    /**
     * Runs code in the worker once one of `maxLiveRuns` slots is free; resolves with its JSON
     * result or rejects with TOOL_FAILED (reason as createQuickJsSandbox; `timeout` also when
     * the time limit passes while waiting), or UNAVAILABLE when `maxQueuedRuns` already wait.
     */
    async run({ code, args, limits: overrides, callTool, signal, depth = 0 }: SandboxRun): Promise<unknown> {
      const limits = { ...DEFAULT_SANDBOX_LIMITS, ...defaults, ...overrides };
      const deadline = Date.now() + limits.timeoutMs;
      const release = await slots.acquire({ level: depth, deadline, signal });
      let onAbort: (() => void) | undefined;
      try {
        if (closed) throw new AppError('UNAVAILABLE', 'the sandbox is closed');
        const timeoutMs = Math.max(1, deadline - Date.now());
        const generation = (current ??= spawn());
        const id = newId();
        const result = new Promise<unknown>((resolve, reject) => {
          // Registered before the worker is ready, so an idle-worker replacement never takes it.
          generation.runs.set(id, { resolve, reject, callTool, timer: undefined });
        });
        result.catch(() => undefined); // a worker that fails to start rejects it while `ready` is awaited
        await generation.ready;
        const pending = generation.runs.get(id);
        if (pending) {
          pending.timer = setTimeout(() => {
            generation.runs.delete(id);
            pending.reject(sandboxError('timeout', `the tool ran past its time limit of ${limits.timeoutMs} ms inside native code; its sandbox worker was stopped`));
            failAll(generation, () => sandboxError('aborted', 'the sandbox worker was restarted because another tool overran'));
            retire(generation);
          }, timeoutMs + graceMs);
          onAbort = () => generation.worker.postMessage({ type: 'abort', id } satisfies HostToWorker);
          signal?.addEventListener('abort', onAbort, { once: true });
          generation.worker.postMessage({ type: 'run', id, code, args: JSON.parse(JSON.stringify(args ?? null)) as unknown, limits: { ...limits, timeoutMs }, canCallTools: callTool !== undefined } satisfies HostToWorker);
        }
        return await result;
      } finally {
        // A long-lived signal would otherwise keep every run's listener, and the worker it names.
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        release();
      }
    },

    /** Starts the worker and loads QuickJS in it. */
    async warm(): Promise<void> {
      if (closed) throw new AppError('UNAVAILABLE', 'the sandbox is closed');
      await (current ??= spawn()).ready;
    },

    /** Live and waiting runs, the most ever alive at once, workers started so far and the current worker's WASM memory. */
    stats() {
      const { held, waiting, peak } = slots.stats();
      return { liveRuns: held, queuedRuns: waiting, peakLiveRuns: peak, workersStarted, wasmBytes: current?.wasmBytes ?? 0 };
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
