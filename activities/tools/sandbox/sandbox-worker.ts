import { parentPort } from 'node:worker_threads';
import { AppError } from '../../../platform/errors';
import { createQuickJsSandbox } from './quickjs-sandbox';
import type { HostToWorker, WorkerError, WorkerToHost } from './sandbox-protocol';

// Runs inside a worker thread: the QuickJS sandbox, driven by messages from the host pool.
const port = parentPort!;
const sandbox = createQuickJsSandbox();
const calls = new Map<string, { resolve(value: unknown): void; reject(error: Error): void }>();
const aborts = new Map<string, AbortController>();
let callCount = 0;

function asWorkerError(error: unknown): WorkerError {
  if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details };
  return { code: 'TOOL_FAILED', message: error instanceof Error ? error.message : String(error), details: { reason: 'error' } };
}

async function run(message: Extract<HostToWorker, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  aborts.set(message.id, controller);
  try {
    const value = await sandbox.run({
      code: message.code,
      args: message.args,
      limits: message.limits,
      signal: controller.signal,
      callTool: message.canCallTools
        ? (name, args) =>
            new Promise((resolve, reject) => {
              const callId = `${message.id}:${++callCount}`;
              calls.set(callId, { resolve, reject });
              port.postMessage({ type: 'call', runId: message.id, callId, name, args });
            })
        : undefined,
    });
    port.postMessage({ type: 'done', id: message.id, ok: true, value, wasmBytes: await sandbox.wasmBytes() } satisfies WorkerToHost);
  } catch (error) {
    port.postMessage({ type: 'done', id: message.id, ok: false, error: asWorkerError(error), wasmBytes: await sandbox.wasmBytes() } satisfies WorkerToHost);
  } finally {
    aborts.delete(message.id);
  }
}

port.on('message', (message: HostToWorker) => {
  if (message.type === 'run') void run(message);
  else if (message.type === 'abort') aborts.get(message.id)?.abort();
  else if (message.type === 'callResult') {
    const pending = calls.get(message.callId);
    calls.delete(message.callId);
    if (message.ok) pending?.resolve(message.value);
    else pending?.reject(new Error(message.message));
  }
});
void sandbox.warm().then(() => port.postMessage({ type: 'ready' }));
