import fs from 'node:fs';
import { QuickJSFFI } from '@jitl/quickjs-wasmfile-release-sync/ffi';
import QuickJSRaw from '@jitl/quickjs-wasmfile-release-sync/emscripten-module';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type CustomizeVariantOptions,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { AppError } from '../../../platform/errors';

// The release-sync WASM build, loaded with static imports: the package's own variant uses a
// dynamic import(), which Jest's VM and some bundlers do not support.
const RELEASE_SYNC: QuickJSSyncVariant = {
  type: 'sync',
  importFFI: async () => QuickJSFFI as unknown as Awaited<ReturnType<QuickJSSyncVariant['importFFI']>>,
  importModuleLoader: async () => QuickJSRaw as unknown as Awaited<ReturnType<QuickJSSyncVariant['importModuleLoader']>>,
};

// Compiled once per process; every sandbox (and every replacement after a WASM abort) only
// instantiates it, which is what keeps a cold sandbox cheap.
type CompiledWasm = NonNullable<Exclude<CustomizeVariantOptions['wasmModule'], () => unknown>>;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledWasm> } }).WebAssembly;
let compiledWasm: Promise<CompiledWasm> | undefined;
// (tsx's namespaced require, used in sandbox workers, appends a ?namespace= query to resolved paths)
const wasmPath = () => require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm').replace(/\?.*$/, '');
const loadWasm = () => (compiledWasm ??= wasmApi.compile(fs.readFileSync(wasmPath())));
const VARIANT = newVariant(RELEASE_SYNC, { wasmModule: loadWasm });

/** Resource limits of one sandboxed run. */
export interface SandboxLimits {
  /** Wall-clock budget of the whole run, including awaited tool calls; CPU loops are interrupted at it. */
  timeoutMs: number;
  memoryBytes: number;
  stackBytes: number;
  /** Maximum length of the JSON-encoded result. */
  maxOutputBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  timeoutMs: 5_000,
  memoryBytes: 16 * 1024 * 1024,
  stackBytes: 256 * 1024,
  maxOutputBytes: 1024 * 1024,
};

/** Why a sandboxed run failed; `details.reason` of the TOOL_FAILED AppError. */
export type SandboxFailure = 'timeout' | 'aborted' | 'out_of_memory' | 'stack_overflow' | 'output_too_large' | 'call_limit' | 'error' | 'never_settled';

/** Runs one call of a host tool on behalf of sandboxed code; whatever it throws is rethrown inside the sandbox. */
export type SandboxToolCall = (name: string, args: unknown) => Promise<unknown>;

export interface SandboxRun {
  /** The body of an async function `(args, tools)`; its return value (JSON-safe) is the result. */
  code: string;
  args: unknown;
  limits?: Partial<SandboxLimits>;
  /** The only door out of the sandbox: `await tools.call(name, args)` inside the code. */
  callTool?: SandboxToolCall;
  signal?: AbortSignal;
  /** How many tools deep this run is nested (0 at the top); a pool admits deeper runs first. */
  depth?: number;
}

/** Thrown for every failed sandboxed run: code TOOL_FAILED with `details.reason`. */
export function sandboxError(reason: SandboxFailure, message: string): AppError {
  return new AppError('TOOL_FAILED', message, { reason });
}

// Arguments and results cross the boundary only as JSON strings: no host object, prototype
// or function ever becomes reachable from inside, and nothing from inside reaches the host
// except a string the host parses itself.
const PRELUDE = `"use strict";
const __call = globalThis.__hostCall; delete globalThis.__hostCall;
const __argsJson = globalThis.__args; delete globalThis.__args;
const tools = Object.freeze({ call: async (name, a) => JSON.parse(await __call(String(name), JSON.stringify(a === undefined ? null : a))) });
`;

function wrap(code: string): string {
  return `${PRELUDE}(async () => {
  const __result = await (async (args, tools) => {
${code}
  })(JSON.parse(__argsJson), tools);
  const __json = JSON.stringify(__result === undefined ? null : __result);
  return __json === undefined ? 'null' : __json;
})()`;
}

function describe(vm: QuickJSContext, handle: QuickJSHandle): { name: string; message: string } {
  const value = vm.dump(handle) as unknown;
  if (value && typeof value === 'object') {
    const v = value as { name?: unknown; message?: unknown };
    return { name: String(v.name ?? 'Error'), message: String(v.message ?? JSON.stringify(value)) };
  }
  return { name: 'Error', message: String(value) };
}

function classify(error: { name: string; message: string }): AppError {
  if (/interrupted/i.test(error.message)) return sandboxError('timeout', 'the tool ran past its time limit and was interrupted');
  if (/out of memory/i.test(error.message)) return sandboxError('out_of_memory', 'the tool exceeded its memory limit');
  if (/stack overflow|call stack/i.test(error.message)) return sandboxError('stack_overflow', 'the tool exceeded its stack limit');
  return sandboxError('error', `${error.name}: ${error.message}`.slice(0, 2000));
}

/**
 * A QuickJS (WASM) sandbox: each run gets a fresh runtime and context with memory, stack and
 * time limits, no module loader, no host globals; only `tools.call` leads out. Failures are
 * TOOL_FAILED AppErrors and never take the host down; a WASM abort replaces the module.
 */
export function createQuickJsSandbox(defaults: Partial<SandboxLimits> = {}) {
  let module: Promise<QuickJSWASMModule> | undefined;
  const load = () => (module ??= newQuickJSWASMModuleFromVariant(VARIANT));

  async function run({ code, args, limits: overrides, callTool, signal }: SandboxRun): Promise<unknown> {
    const limits = { ...DEFAULT_SANDBOX_LIMITS, ...defaults, ...overrides };
    const argsJson = JSON.stringify(args ?? null);
    const quickjs = await load();
    const runtime = quickjs.newRuntime();
    const deadline = Date.now() + limits.timeoutMs;
    runtime.setMemoryLimit(limits.memoryBytes);
    runtime.setMaxStackSize(limits.stackBytes);
    runtime.setInterruptHandler(() => Date.now() > deadline || signal?.aborted === true);
    const vm = runtime.newContext();
    let finished = false;
    let inflight = 0;
    const live = new Set<{ dispose(): void; alive: boolean }>();
    try {
      return await new Promise<unknown>((resolve, reject) => {
        const finish = (settle: () => void) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          settle();
        };
        const onAbort = () => finish(() => reject(sandboxError('aborted', 'the tool run was aborted')));
        const timer = setTimeout(
          () => finish(() => reject(sandboxError('timeout', `the tool did not finish within ${limits.timeoutMs} ms`))),
          limits.timeoutMs,
        );
        signal?.addEventListener('abort', onAbort, { once: true });
        if (signal?.aborted) return onAbort();

        const hostCall = vm.newFunction('__hostCall', (nameHandle, argsHandle) => {
          const deferred = vm.newPromise();
          live.add(deferred);
          const name = vm.typeof(nameHandle) === 'string' ? vm.getString(nameHandle) : '';
          const json = argsHandle && vm.typeof(argsHandle) === 'string' ? vm.getString(argsHandle) : 'null';
          inflight += 1;
          void (async () => {
            let outcome: { ok: true; json: string } | { ok: false; message: string };
            try {
              if (!callTool) throw new Error('this tool may not call other tools');
              const output = await callTool(name, JSON.parse(json) as unknown);
              outcome = { ok: true, json: JSON.stringify(output ?? null) };
            } catch (error) {
              outcome = { ok: false, message: error instanceof Error ? error.message : String(error) };
            }
            inflight -= 1;
            if (finished || !deferred.alive) return;
            const value = outcome.ok ? vm.newString(outcome.json) : vm.newError(outcome.message);
            if (outcome.ok) deferred.resolve(value);
            else deferred.reject(value);
            value.dispose();
            safePump();
          })();
          return deferred.handle;
        });
        vm.setProp(vm.global, '__hostCall', hostCall);
        hostCall.dispose();
        vm.newString(argsJson).consume((h) => vm.setProp(vm.global, '__args', h));

        const evaluated = vm.evalCode(wrap(code), 'tool.js');
        if (evaluated.error) {
          const error = describe(vm, evaluated.error);
          evaluated.error.dispose();
          return finish(() => reject(classify(error)));
        }
        const promise = evaluated.value;
        live.add(promise);

        function pump(): void {
          if (finished) return;
          const jobs = runtime.executePendingJobs();
          if (jobs.error) {
            const error = describe(vm, jobs.error);
            jobs.error.dispose();
            return finish(() => reject(classify(error)));
          }
          const state = vm.getPromiseState(promise);
          if (state.type === 'pending') {
            if (inflight === 0) finish(() => reject(sandboxError('never_settled', 'the tool awaits a promise that nothing resolves')));
            return;
          }
          if (state.type === 'rejected') {
            const error = describe(vm, state.error);
            state.error.dispose();
            return finish(() => reject(classify(error)));
          }
          const isString = vm.typeof(state.value) === 'string';
          const text = isString ? vm.getString(state.value) : '';
          state.value.dispose();
          if (!isString) return finish(() => reject(sandboxError('error', 'the tool result is not JSON')));
          if (Buffer.byteLength(text) > limits.maxOutputBytes) {
            return finish(() => reject(sandboxError('output_too_large', `the tool result exceeds ${limits.maxOutputBytes} bytes`)));
          }
          let result: unknown;
          try {
            result = JSON.parse(text) as unknown;
          } catch {
            return finish(() => reject(sandboxError('error', 'the tool result is not JSON')));
          }
          finish(() => resolve(result));
        }
        // Nothing from a run may escape as an unhandled exception on the host.
        function safePump(): void {
          try {
            pump();
          } catch (error) {
            finish(() => reject(sandboxError('error', `sandbox failure: ${error instanceof Error ? error.message : String(error)}`)));
          }
        }
        safePump();
      });
    } finally {
      finished = true;
      try {
        for (const handle of live) if (handle.alive) handle.dispose();
        vm.dispose();
        runtime.dispose();
      } catch {
        // A run interrupted mid-job can leave QuickJS unable to free cleanly; drop the module.
        module = undefined;
      }
    }
  }

  return {
    run,
    /** Loads the WASM module now (otherwise the first run does). */
    async warm(): Promise<void> {
      await load();
    },
    /** Size of the WASM linear memory all runtimes share: it grows with concurrent runs and never shrinks. */
    async wasmBytes(): Promise<number> {
      return (await load()).getWasmMemory().buffer.byteLength;
    },
  };
}
export type QuickJsSandbox = ReturnType<typeof createQuickJsSandbox>;
