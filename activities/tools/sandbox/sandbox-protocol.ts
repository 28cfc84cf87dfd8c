import type { SandboxLimits } from './quickjs-sandbox';

/** Messages between the host pool and a sandbox worker thread (structured-clone data only). */
export type HostToWorker =
  | { type: 'run'; id: string; code: string; args: unknown; limits: SandboxLimits; canCallTools: boolean }
  | { type: 'abort'; id: string }
  | { type: 'callResult'; callId: string; ok: true; value: unknown }
  | { type: 'callResult'; callId: string; ok: false; message: string };

export interface WorkerError {
  code: string;
  message: string;
  details?: unknown;
}

export type WorkerToHost =
  | { type: 'ready' }
  | { type: 'call'; runId: string; callId: string; name: string; args: unknown }
  | ({ type: 'done'; id: string } & ({ ok: true; value: unknown } | { ok: false; error: WorkerError }) & {
      /** The worker's WASM memory after the run, so the pool can replace a grown worker once idle. */
      wasmBytes: number;
    });
