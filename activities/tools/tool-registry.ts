import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { PrismaClient } from '../../platform/database';
import { isUniqueViolation } from '../../platform/database-errors';
import { AppError, notFound } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { asJson } from '../../platform/json';
import type { ToolRegistry as ToolRegistryRow } from '../../prisma/generated/client';
import { runWithCause } from '../events/event-cause';
import type { EventCause, EventPublisher } from '../events/event-types';
import { argumentIssue, createArgsValidator, invalidArguments, zodIssues, type ArgumentIssue, type ParsedArgs } from './args-validator';
import { createHostCallBudget } from './host-call-budget';
import { createIsolatedSandbox, type IsolatedSandboxOptions } from './sandbox/isolated-sandbox';
import type { QuickJsSandbox, SandboxLimits } from './sandbox/quickjs-sandbox';
import { createSlotQueue } from './sandbox/slot-queue';
import { createToolCache, INVALIDATE_ALL, listenForInvalidations, TOOL_REGISTRY_CHANNEL } from './tool-cache';
import { createToolMetrics, type ToolOutcome } from './tool-metrics';
import { literalIssues, templatedPaths } from './templated-args';
import { assertCanExecute, assertCanManage, assertMayRun, canSeeTool, ownsTool, parsePrincipal, runRefusal } from './tool-permissions';
import {
  CustomToolDefinition,
  CustomToolPatch,
  PluginId,
  PluginToolOptions,
  ToolCode,
  ToolFilters,
  type CustomToolDefinition as CustomToolInput,
  type CustomToolPatch as CustomToolPatchInput,
  type PluginToolOptions as PluginToolOptionsInput,
} from './tool-schemas';
import {
  ToolDefinition,
  type BuiltinTool,
  type ToolContext,
  type ToolExecutionResult,
  type ToolInfo,
  type ToolRecord,
  type ToolSource,
} from './tool-types';

const EVENT_SOURCE = 'tool-registry';
const SANDBOX_BACKSTOP_MS = 2_000;

export interface ToolRegistryDeps {
  prisma: PrismaClient;
  events: EventPublisher;
  /** Monotonic milliseconds, for durations. */
  clock?: () => number;
  /** When set, a dedicated connection LISTENs for changes made by other processes. */
  databaseUrl?: string;
  /** Runs custom and plugin tool code; default: the QuickJS sandbox in a worker thread. */
  sandbox?: Pick<QuickJsSandbox, 'run' | 'warm'> & { close?(): Promise<void> };
  sandboxLimits?: Partial<SandboxLimits>;
  /** Execution timeout of tools that do not set their own. */
  defaultTimeoutMs?: number;
  /** How deep sandboxed tools may nest calls to other tools. */
  maxCallDepth?: number;
  /** Host calls (`tools.call`) one top-level execution may make, counting every tool it nests; default 100. */
  maxHostCalls?: number;
  /** Host calls one sandboxed run may have in flight at once; further calls wait their turn. Default 8. */
  maxHostCallsInFlight?: number;
  /** Live-run, queue and memory-recycling bounds of the default sandbox. */
  sandboxPool?: Pick<IsolatedSandboxOptions, 'maxLiveRuns' | 'maxQueuedRuns' | 'recycleAboveBytes'>;
  onListenerError?: (error: Error) => void;
}

/** The stored definition with every field the registry reads present: a row written by hand or by an older version may lack some (it must not break search for everyone). */
function definitionOf(row: ToolRegistryRow): ToolDefinition {
  const d = (row.definition !== null && typeof row.definition === 'object' && !Array.isArray(row.definition) ? row.definition : {}) as Partial<Record<keyof ToolDefinition, unknown>>;
  // Only the documented fields, each within its schema's bounds: the API answers with this shape.
  return {
    name: typeof d.name === 'string' ? d.name : row.name,
    description: typeof d.description === 'string' && d.description.length > 0 ? d.description : row.name,
    category: typeof d.category === 'string' && d.category.length > 0 ? d.category : row.category,
    parameters: d.parameters !== null && typeof d.parameters === 'object' && !Array.isArray(d.parameters) ? (d.parameters as ToolDefinition['parameters']) : { type: 'object' },
    tags: Array.isArray(d.tags) ? d.tags.filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 50).slice(0, 20) : [],
    ...(d.subscriptionHandler === true ? { subscriptionHandler: true as const } : {}),
  };
}

function toRecord(row: ToolRegistryRow, code: string | null): ToolRecord {
  return {
    id: row.id,
    name: row.name,
    source: row.source as ToolSource,
    sourceId: row.sourceId,
    definition: definitionOf(row),
    isEnabled: row.isEnabled,
    isLocked: row.isLocked,
    requiresApproval: row.requiresApproval,
    code,
    allowedTools: row.allowedTools,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toInfo({ code: _code, ...info }: ToolRecord): ToolInfo {
  return info;
}

/** Turns anything a tool threw into an AppError: AppErrors pass through, the rest become TOOL_FAILED. */
function asToolError(name: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('TOOL_FAILED', `tool '${name}' failed: ${message}`.slice(0, 2000), { tool: name, reason: 'error' });
}

/** Runs `run` with an AbortSignal that fires on timeout or when `outer` aborts; rejects with TOOL_TIMEOUT / TOOL_FAILED. */
async function withTimeout<T>(name: string, timeoutMs: number, outer: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let rejectAbort: (error: AppError) => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectAbort = reject;
  });
  const stop = (error: AppError) => {
    rejectAbort(error); // settle the race first: a handler that resolves on abort must not win
    controller.abort(error);
  };
  const timer = setTimeout(() => stop(new AppError('TOOL_TIMEOUT', `tool '${name}' did not finish within ${timeoutMs} ms`, { tool: name, timeoutMs })), timeoutMs);
  const onOuter = () => stop(new AppError('TOOL_FAILED', `tool '${name}' was cancelled`, { tool: name, reason: 'aborted' }));
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  try {
    const running = run(controller.signal);
    running.catch(() => undefined);
    return await Promise.race([running, aborted]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

/**
 * The one registry of built-in, custom and plugin tools (seed §1). Definitions live in
 * tool_registry / custom_tools, are cached per name and invalidated on every change, in this
 * process at once and in others through NOTIFY on TOOL_REGISTRY_CHANNEL. executeTool is the
 * single checked path: existence, permission, argument schema, approval, timeout, events, metrics.
 */
export function createToolRegistry(deps: ToolRegistryDeps) {
  const { prisma, events } = deps;
  const clock = deps.clock ?? (() => performance.now());
  const defaultTimeoutMs = deps.defaultTimeoutMs ?? 30_000;
  const maxCallDepth = deps.maxCallDepth ?? 3;
  const maxHostCalls = deps.maxHostCalls ?? 100;
  const maxHostCallsInFlight = deps.maxHostCallsInFlight ?? 8;
  const sandbox = deps.sandbox ?? createIsolatedSandbox({ limits: deps.sandboxLimits, maxDepth: maxCallDepth, ...deps.sandboxPool });
  const validator = createArgsValidator();
  const metrics = createToolMetrics();
  const handlers = new Map<string, BuiltinTool>();

  const loadRecord = async (name: string): Promise<ToolRecord | null> => {
    const row = await prisma.toolRegistry.findUnique({ where: { name } });
    if (!row) return null;
    if (row.source !== 'custom') return toRecord(row, row.code);
    const custom = await prisma.customTool.findUnique({ where: { id: row.id }, select: { code: true } });
    return toRecord(row, custom?.code ?? null);
  };
  const cache = createToolCache(loadRecord);
  const listener = deps.databaseUrl
    ? listenForInvalidations({
        databaseUrl: deps.databaseUrl,
        onInvalidate: (name) => cache.invalidate(name),
        onConnected: (connected) => cache.setEnabled(connected),
        onError: deps.onListenerError,
      })
    : undefined;
  if (listener) cache.setEnabled(false); // trust the cache only once other processes can reach it
  listener?.ready.catch((error: Error) => deps.onListenerError?.(error));

  const notify = (name: string, db: Pick<PrismaClient, '$executeRaw'> = prisma) => db.$executeRaw`SELECT pg_notify(${TOOL_REGISTRY_CHANNEL}, ${name})`;
  const changed = (name: string) => cache.invalidate(name);

  /** FORBIDDEN when `allowedTools` names a tool refused even to admin from inside a tool: no caller of the custom tool could ever reach it. */
  const assertReachableFromCustom = async (tool: string, allowedTools: readonly string[]) => {
    for (const name of allowedTools) {
      const target = await loadRecord(name);
      const reason = target ? runRefusal(target, 'admin', true) : undefined;
      if (reason !== undefined) throw new AppError('FORBIDDEN', `custom tool '${tool}' may not list '${name}' in allowedTools: ${reason}`, { tool, allowedTool: name });
    }
  };

  const requireRecord = async (name: string): Promise<ToolRecord> => {
    const record = await loadRecord(name);
    if (!record) throw notFound('tool', name);
    return record;
  };

  const emitExecuted = (record: ToolRecord, context: ToolContext, outcome: ToolOutcome, durationMs: number, error?: AppError) => {
    metrics.record(record.source, outcome, durationMs);
    events.emit(
      'tool.executed',
      { tool: record.name, source: record.source, requesterId: context.requesterId, ...(context.via ? { via: context.via } : {}), ...(context.idempotencyKey ? { idempotencyKey: context.idempotencyKey } : {}), outcome, durationMs, ...(error ? { error: { code: error.code, message: error.message } } : {}) },
      EVENT_SOURCE,
    );
  };

  /** Checks arguments as execution does: a built-in's zod schema, any other tool's JSON schema; undefined for a built-in whose code this process lacks. */
  const parseArgs = (record: ToolRecord, args: unknown): ParsedArgs | undefined => {
    if (record.source !== 'builtin') return validator.parse(record.definition.parameters, args);
    const handler = handlers.get(record.name);
    if (!handler) return undefined;
    const parsed = handler.args.safeParse(args);
    return parsed.success ? { ok: true, args: parsed.data } : { ok: false, issues: zodIssues(parsed.error) };
  };

  const validateArgs = (record: ToolRecord, args: unknown): unknown => {
    const parsed = parseArgs(record, args);
    if (!parsed) throw new AppError('UNAVAILABLE', `built-in tool '${record.name}' is not loaded in this process`, { tool: record.name });
    if (!parsed.ok) throw invalidArguments(record.name, parsed.issues);
    return parsed.args;
  };

  const runSandboxed = async (record: ToolRecord, args: unknown, context: ToolContext, cause: EventCause, signal: AbortSignal, timeoutMs: number) => {
    if (record.code === null) throw new AppError('UNAVAILABLE', `tool '${record.name}' has no code`, { tool: record.name });
    const depth = context.callDepth ?? 0;
    // A custom tool acts as its caller; a plugin tool acts as its plugin.
    const actingAs = record.source === 'plugin' ? `plugin:${record.sourceId}` : context.requesterId;
    const budget = context.hostCalls ?? createHostCallBudget(maxHostCalls);
    // Calls past the in-flight cap wait rather than fail: `Promise.all` over a few dozen reads is
    // ordinary code, and the total budget already bounds how many can ever be waiting.
    const inFlight = createSlotQueue({ slots: maxHostCallsInFlight, maxWaiting: Infinity, levels: 0 });
    // A run's calls end with it: nothing it started keeps a runtime alive after it returned or failed.
    const ended = new AbortController();
    const callSignal = AbortSignal.any([signal, ended.signal]);
    setMaxListeners(maxHostCalls, callSignal); // one per waiting or running call, which the budget bounds
    let calls = 0;
    let output: unknown;
    try {
      output = await sandbox.run({
        code: record.code,
        args,
        signal,
        depth,
        limits: { ...deps.sandboxLimits, timeoutMs },
        callTool: async (name, callArgs) => {
          if (!record.allowedTools.includes(name)) {
            throw new AppError('FORBIDDEN', `tool '${record.name}' may not call '${name}' (not in its allowedTools)`);
          }
          if (depth + 1 > maxCallDepth) throw new AppError('FORBIDDEN', `tool calls may nest at most ${maxCallDepth} deep`);
          budget.spend();
          calls += 1;
          const key = context.idempotencyKey === undefined ? undefined : `${context.idempotencyKey}/${record.name}#${calls}`;
          const release = await inFlight.acquire({ level: 0, signal: callSignal });
          try {
            return await registry.execute(name, callArgs, {
              requesterId: actingAs,
              idempotencyKey: key,
              via: context.via,
              signal: callSignal,
              callDepth: depth + 1,
              // Host calls arrive from the sandbox thread outside this call's async path: pass the cause on.
              cause,
              hostCalls: budget,
            });
          } finally {
            release();
          }
        },
      });
    } catch (error) {
      throw budget.exceeded ?? error;
    } finally {
      ended.abort();
    }
    // The limit is on the whole execution: a run that caught the refusal fails all the same.
    if (budget.exceeded) throw budget.exceeded;
    return output;
  };

  const upsertBuiltins = async (tools: readonly BuiltinTool[]) => {
    const existing = new Map((await prisma.toolRegistry.findMany({ where: { name: { in: tools.map((t) => t.definition.name) } } })).map((r) => [r.name, r]));
    const clash = [...existing.values()].find((r) => r.source !== 'builtin');
    if (clash) throw new AppError('CONFLICT', `'${clash.name}' is already registered by ${clash.source}`, { tool: clash.name });
    await prisma.$transaction([
      ...tools.map((tool) => {
        const data = { category: tool.definition.category, definition: asJson(tool.definition), isEnabled: true, isLocked: true, requiresApproval: tool.requiresApproval ?? false };
        return prisma.toolRegistry.upsert({
          where: { name: tool.definition.name },
          create: { id: newId(), name: tool.definition.name, source: 'builtin', ...data },
          update: { ...data, updatedAt: new Date() },
        });
      }),
      notify(INVALIDATE_ALL),
    ]);
    changed(INVALIDATE_ALL);
    for (const tool of tools) {
      const before = existing.get(tool.definition.name);
      if (!before || JSON.stringify(before.definition) !== JSON.stringify(tool.definition)) {
        events.emit('tool.registered', { tool: tool.definition.name, source: 'builtin', replaced: before !== undefined }, EVENT_SOURCE);
      }
    }
  };

  const setEnabled = async (name: string, principal: string, enabled: boolean): Promise<void> => {
    const record = await requireRecord(name);
    assertCanManage(record, principal);
    if (record.isEnabled === enabled) return;
    await prisma.$transaction([
      prisma.toolRegistry.update({ where: { name }, data: { isEnabled: enabled, updatedAt: new Date() } }),
      ...(record.source === 'custom' ? [prisma.customTool.update({ where: { id: record.id }, data: { isEnabled: enabled, updatedAt: new Date() } })] : []),
      notify(name),
    ]);
    changed(name);
    events.emit(enabled ? 'tool.enabled' : 'tool.disabled', { tool: name, source: record.source, by: principal }, EVENT_SOURCE);
  };

  const registry = {
    /** Waits until cross-process invalidation is listening and the sandbox is loaded; throws if it cannot connect. */
    async ready(): Promise<void> {
      await Promise.all([listener?.ready, sandbox.warm()]);
    },

    /** Stops listening for other processes' changes and stops the sandbox. */
    async close(): Promise<void> {
      await Promise.all([listener?.close(), sandbox.close?.()]);
    },

    /** Execution counters and durations per source (for the observability exporter). */
    metrics,

    /**
     * Registers built-in tools (locked, `core.*`) with their code in this process and upserts
     * their rows: idempotent, called at every worker and API start. Emits tool.registered for
     * new or changed definitions only. Throws CONFLICT if a name is held by a non-built-in.
     */
    async registerBuiltinTools(tools: readonly BuiltinTool[]): Promise<void> {
      for (const tool of tools) {
        const definition = ToolDefinition.parse(tool.definition);
        if (!definition.name.startsWith('core.')) throw new AppError('UNPROCESSABLE', `built-in tool names start with core. (got ${definition.name})`);
        handlers.set(definition.name, tool);
      }
      for (let attempt = 0; ; attempt++) {
        try {
          return await upsertBuiltins(tools);
        } catch (error) {
          if (!isUniqueViolation(error) || attempt > 0) throw error; // another process registered concurrently
        }
      }
    },

    /** Registers one built-in tool; see registerBuiltinTools. */
    async registerBuiltinTool(tool: BuiltinTool): Promise<void> {
      await registry.registerBuiltinTools([tool]);
    },

    /**
     * Stores a user's custom tool as `custom.<name>` and returns its id. Throws VALIDATION_FAILED
     * (zod) / UNPROCESSABLE (bad JSON schema) and CONFLICT when the name is taken.
     */
    async registerCustomTool(userId: string, input: CustomToolInput): Promise<string> {
      const def = CustomToolDefinition.parse(input);
      validator.check(def.parameters);
      const name = `custom.${def.name}`;
      const definition: ToolDefinition = { name, description: def.description, category: def.category, parameters: def.parameters, tags: def.tags };
      await assertReachableFromCustom(name, def.allowedTools);
      const id = newId();
      try {
        await prisma.$transaction([
          prisma.customTool.create({
            data: { id, userId, name: def.name, description: def.description, code: def.code, parameters: asJson(def.parameters), requiresApproval: def.requiresApproval, category: def.category, tags: def.tags, allowedTools: def.allowedTools },
          }),
          prisma.toolRegistry.create({
            data: { id, name, source: 'custom', sourceId: userId, category: def.category, definition: asJson(definition), requiresApproval: def.requiresApproval, allowedTools: def.allowedTools },
          }),
          notify(name),
        ]);
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('CONFLICT', `tool '${name}' already exists`, { tool: name });
        throw error;
      }
      changed(name);
      events.emit('tool.registered', { tool: name, source: 'custom', userId, replaced: false }, EVENT_SOURCE);
      return id;
    },

    /** Changes a custom tool; only its owner or admin (FORBIDDEN otherwise, NOT_FOUND when absent). */
    async updateCustomTool(id: string, principal: string, input: CustomToolPatchInput) {
      const patch = CustomToolPatch.parse(input);
      const row = await prisma.customTool.findUnique({ where: { id } });
      if (!row) throw notFound('custom tool', id);
      const name = `custom.${row.name}`;
      assertCanManage({ name, source: 'custom', sourceId: row.userId, isLocked: false }, principal);
      if (patch.parameters) validator.check(patch.parameters);
      if (patch.allowedTools) await assertReachableFromCustom(name, patch.allowedTools);
      // The patch applies to the row as it is under its lock: a change committed since the read
      // above is kept, and a delete since then is NOT_FOUND.
      const { updated, wasEnabled } = await prisma.$transaction(async (tx) => {
        const [current] = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM custom_tools WHERE id = ${id} FOR UPDATE`;
        const locked = current && (await tx.customTool.findUnique({ where: { id } }));
        if (!locked) throw notFound('custom tool', id);
        const next = {
          description: patch.description ?? locked.description ?? '',
          category: patch.category ?? locked.category,
          tags: patch.tags ?? locked.tags,
          parameters: (patch.parameters ?? locked.parameters ?? { type: 'object' }) as Record<string, unknown>,
          code: patch.code ?? locked.code,
          requiresApproval: patch.requiresApproval ?? locked.requiresApproval,
          allowedTools: patch.allowedTools ?? locked.allowedTools,
          isEnabled: patch.isEnabled ?? locked.isEnabled,
        };
        const definition: ToolDefinition = { name, description: next.description, category: next.category, parameters: next.parameters, tags: next.tags };
        const now = new Date();
        const saved = await tx.customTool.update({ where: { id }, data: { ...next, parameters: asJson(next.parameters), updatedAt: now } });
        await tx.toolRegistry.update({
          where: { id },
          data: { category: next.category, definition: asJson(definition), requiresApproval: next.requiresApproval, allowedTools: next.allowedTools, isEnabled: next.isEnabled, updatedAt: now },
        });
        await notify(name, tx);
        return { updated: saved, wasEnabled: locked.isEnabled };
      });
      changed(name);
      events.emit('tool.registered', { tool: name, source: 'custom', userId: row.userId, replaced: true }, EVENT_SOURCE);
      if (updated.isEnabled !== wasEnabled) events.emit(updated.isEnabled ? 'tool.enabled' : 'tool.disabled', { tool: name, source: 'custom', by: principal }, EVENT_SOURCE);
      return updated;
    },

    /** A custom tool with its code, for its owner or admin only (FORBIDDEN / NOT_FOUND). */
    async getCustomTool(id: string, principal: string) {
      const row = await prisma.customTool.findUnique({ where: { id } });
      if (!row) throw notFound('custom tool', id);
      if (principal !== 'admin' && !ownsTool({ source: 'custom', sourceId: row.userId }, principal)) throw new AppError('FORBIDDEN', `${principal} may not read custom tool '${id}'`);
      return row;
    },

    /** Deletes a custom tool by id; FORBIDDEN unless its owner or admin, NOT_FOUND when absent. */
    async deleteCustomTool(id: string, principal: string): Promise<void> {
      const row = await prisma.customTool.findUnique({ where: { id }, select: { name: true } });
      if (!row) throw notFound('custom tool', id);
      await registry.unregisterTool(`custom.${row.name}`, principal);
    },

    /** The custom tools a principal may see: a user's own, or all for admin. */
    async listCustomTools(principal: string) {
      const p = parsePrincipal(principal);
      if (p.kind === 'admin') return prisma.customTool.findMany({ orderBy: { name: 'asc' } });
      if (p.kind !== 'user') return [];
      return prisma.customTool.findMany({ where: { userId: p.id }, orderBy: { name: 'asc' } });
    },

    /**
     * Registers (or replaces) a plugin's sandboxed tool; its name must be `plugin.<pluginId>.*`
     * (FORBIDDEN otherwise, so a plugin can never take another's or a built-in name). A definition
     * with `subscriptionHandler` is stored so, and only the plugin and admin may then run it.
     */
    async registerPluginTool(pluginId: string, definition: ToolDefinition, code: string, options: PluginToolOptionsInput = {}): Promise<void> {
      PluginId.parse(pluginId);
      const def = ToolDefinition.parse(definition);
      const opts = PluginToolOptions.parse(options);
      ToolCode.parse(code);
      if (!def.name.startsWith(`plugin.${pluginId}.`)) {
        throw new AppError('FORBIDDEN', `plugin '${pluginId}' may only register tools named plugin.${pluginId}.*`, { tool: def.name });
      }
      validator.check(def.parameters);
      const existing = await prisma.toolRegistry.findUnique({ where: { name: def.name } });
      if (existing && (existing.source !== 'plugin' || existing.sourceId !== pluginId)) {
        throw new AppError('FORBIDDEN', `tool '${def.name}' belongs to someone else`, { tool: def.name });
      }
      const data = { category: def.category, definition: asJson(def), code, requiresApproval: opts.requiresApproval, allowedTools: opts.allowedTools };
      await prisma.$transaction([
        prisma.toolRegistry.upsert({
          where: { name: def.name },
          create: { id: newId(), name: def.name, source: 'plugin', sourceId: pluginId, ...data },
          update: { ...data, updatedAt: new Date() },
        }),
        notify(def.name),
      ]);
      changed(def.name);
      events.emit('tool.registered', { tool: def.name, source: 'plugin', pluginId, replaced: existing !== null }, EVENT_SOURCE);
    },

    /** Removes every tool of a plugin (uninstall and install compensation); idempotent, returns the names removed. */
    async unregisterPluginTools(pluginId: string): Promise<string[]> {
      const rows = await prisma.toolRegistry.findMany({ where: { source: 'plugin', sourceId: pluginId }, select: { name: true } });
      if (rows.length === 0) return [];
      await prisma.$transaction([prisma.toolRegistry.deleteMany({ where: { source: 'plugin', sourceId: pluginId } }), notify(INVALIDATE_ALL)]);
      changed(INVALIDATE_ALL);
      for (const { name } of rows) events.emit('tool.unregistered', { tool: name, source: 'plugin', by: `plugin:${pluginId}` }, EVENT_SOURCE);
      return rows.map((r) => r.name);
    },

    /** Removes a tool: TOOL_LOCKED for built-ins, FORBIDDEN unless the principal owns it or is admin. */
    async unregisterTool(name: string, principal: string): Promise<void> {
      const record = await requireRecord(name);
      assertCanManage(record, principal);
      await prisma.$transaction([
        prisma.toolRegistry.delete({ where: { name } }),
        ...(record.source === 'custom' ? [prisma.customTool.deleteMany({ where: { id: record.id } })] : []),
        notify(name),
      ]);
      changed(name);
      events.emit('tool.unregistered', { tool: name, source: record.source, by: principal }, EVENT_SOURCE);
    },

    /** Enables a tool (same rules as unregisterTool); idempotent. */
    async enableTool(name: string, principal: string): Promise<void> {
      await setEnabled(name, principal, true);
    },

    /** Disables a tool (same rules as unregisterTool); idempotent. */
    async disableTool(name: string, principal: string): Promise<void> {
      await setEnabled(name, principal, false);
    },

    /** A tool's definition and state, or null when it does not exist or the principal may not see it. */
    async getTool(name: string, principal = 'admin'): Promise<ToolInfo | null> {
      const record = await cache.get(name);
      return record && canSeeTool(record, principal) ? toInfo(record) : null;
    },

    /** Every tool the principal may see, optionally of one source, by name. */
    async listTools(source?: ToolSource, principal = 'admin'): Promise<ToolInfo[]> {
      const rows = await prisma.toolRegistry.findMany({ where: source ? { source } : {}, orderBy: { name: 'asc' } });
      return rows.map((r) => toRecord(r, null)).filter((r) => canSeeTool(r, principal)).map(toInfo);
    },

    /**
     * Tools whose name, description, category or tags contain every word of `query`
     * (case-insensitive) and that match every filter; name matches first.
     */
    async searchTools(query: string, filters: ToolFilters = {}, principal = 'admin'): Promise<ToolInfo[]> {
      const f = ToolFilters.parse(filters);
      const words = query.toLowerCase().split(/\s+/).filter(Boolean);
      const has = (text: string, part?: string) => part === undefined || text.toLowerCase().includes(part.toLowerCase());
      const tools = await registry.listTools(f.source, principal);
      const hits = tools.filter((t) => {
        const d = t.definition;
        const haystack = `${d.name} ${d.description} ${d.category} ${d.tags.join(' ')}`.toLowerCase();
        return (
          words.every((w) => haystack.includes(w)) &&
          has(d.name, f.name) &&
          has(d.description, f.description) &&
          (f.category === undefined || d.category.toLowerCase() === f.category.toLowerCase()) &&
          (f.tags ?? []).every((tag) => d.tags.includes(tag)) &&
          (f.enabled === undefined || t.isEnabled === f.enabled)
        );
      });
      const nameHit = (t: ToolInfo) => (words.some((w) => t.name.includes(w)) ? 0 : 1);
      return hits.sort((a, b) => nameHit(a) - nameHit(b) || a.name.localeCompare(b.name));
    },

    /**
     * FORBIDDEN when `principal` may not run the tool, enabled or not, indirectly as plan steps and
     * trigger firings call it (save-time checks of both); resolves for an unknown tool, which callers report themselves.
     */
    async assertMayRunTool(name: string, principal: string): Promise<void> {
      const record = await cache.get(name);
      if (record) assertMayRun(record, principal, true);
    },

    /**
     * The issues executing the tool with `args` would raise that no template could remove: a
     * string `isTemplate` accepts stands for any value (templated-args.ts). [] for an unknown tool
     * and for a built-in whose code this process has not loaded (execution checks those).
     */
    async argumentIssues(name: string, args: Record<string, unknown>, isTemplate: (text: string) => boolean = () => false): Promise<ArgumentIssue[]> {
      const record = await cache.get(name);
      const parsed = record ? parseArgs(record, args) : undefined;
      if (!parsed || parsed.ok) return [];
      return literalIssues(parsed.issues, templatedPaths(args, isTemplate)).map(argumentIssue);
    },

    /** Whether a tool of that name is registered (cached). */
    async exists(name: string): Promise<boolean> {
      return (await cache.get(name)) !== null;
    },

    /**
     * The checked execution path. Throws NOT_FOUND, TOOL_DISABLED, FORBIDDEN, UNPROCESSABLE
     * (every argument issue), TOOL_TIMEOUT or TOOL_FAILED; returns `approval_required` instead
     * of running a `requires_approval` tool unless `context.approved`. Emits tool.executed with
     * the outcome and duration in every case and records per-source metrics.
     */
    executeTool(name: string, args: unknown, context: ToolContext): Promise<ToolExecutionResult> {
      const cause: EventCause = context.cause ?? {
        requesterId: context.requesterId,
        ...(context.idempotencyKey !== undefined ? { idempotencyKey: context.idempotencyKey } : {}),
        ...(context.via !== undefined ? { via: context.via } : {}),
      };
      return runWithCause(cause, () => executeChecked(name, args, context, cause));
    },

    /** executeTool for callers that want the output only (plans): APPROVAL_REQUIRED is thrown, not returned. */
    async execute(name: string, args: unknown, context: ToolContext): Promise<unknown> {
      const result = await registry.executeTool(name, args, context);
      if (result.status === 'approval_required') throw new AppError('APPROVAL_REQUIRED', result.reason, { tool: name });
      return result.output;
    },
  };

  /** The body of executeTool, run with `cause` as the cause of every event it emits. */
  async function executeChecked(name: string, args: unknown, context: ToolContext, cause: EventCause): Promise<ToolExecutionResult> {
    const started = clock();
    const record = await cache.get(name);
    if (!record) throw notFound('tool', name);
    let validArgs: unknown;
    try {
      // A firing acts for its creator but is not the creator calling: admin's direct-only rights stay out of reach.
      assertCanExecute(record, context.requesterId, (context.callDepth ?? 0) > 0 || context.via !== undefined || context.planStep === true);
      validArgs = validateArgs(record, args);
    } catch (error) {
      const appError = asToolError(name, error);
      emitExecuted(record, context, 'rejected', clock() - started, appError);
      throw appError;
    }
    if (record.requiresApproval && context.approved !== true) {
      emitExecuted(record, context, 'approval_required', clock() - started);
      return { status: 'approval_required', tool: name, args: validArgs, reason: `tool '${name}' requires approval before it runs` };
    }
    const handler = handlers.get(name);
    const timeoutMs = handler?.timeoutMs ?? defaultTimeoutMs;
    try {
      // A sandboxed run enforces timeoutMs itself and reports why it stopped; the outer
      // deadline is only the backstop.
      const outerTimeoutMs = record.source === 'builtin' ? timeoutMs : timeoutMs + SANDBOX_BACKSTOP_MS;
      const output = await withTimeout(name, outerTimeoutMs, context.signal, (signal) =>
        record.source === 'builtin' ? handler!.execute(validArgs, { ...context, signal }) : runSandboxed(record, validArgs, context, cause, signal, timeoutMs),
      );
      const durationMs = clock() - started;
      emitExecuted(record, context, 'success', durationMs);
      return { status: 'completed', tool: name, output, durationMs };
    } catch (error) {
      const appError = asToolError(name, error);
      emitExecuted(record, context, 'error', clock() - started, appError);
      throw appError;
    }
  }
  return registry;
}
export type ToolRegistry = ReturnType<typeof createToolRegistry>;
