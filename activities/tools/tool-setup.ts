import type { Config } from '../../platform/config';
import type { PrismaClient } from '../../platform/database';
import type { EventPublisher } from '../events/event-types';
import { createResourceService } from '../resources/resource-service';
import { createBuiltinTools } from './builtin';
import type { HttpToolConfig } from './builtin/http-tools';
import type { BuiltinTool } from './tool-types';
import { createToolRegistry, type ToolRegistryDeps } from './tool-registry';

/** The HTTP tool's policy from configuration. */
export function httpToolConfig(config: Pick<Config, 'TOOLS_HTTP_ALLOW_PRIVATE' | 'TOOLS_HTTP_ALLOWED_HOSTS' | 'TOOLS_HTTP_MAX_RESPONSE_BYTES'>): HttpToolConfig {
  return { allowPrivate: config.TOOLS_HTTP_ALLOW_PRIVATE, allowedHosts: config.TOOLS_HTTP_ALLOWED_HOSTS, maxResponseBytes: config.TOOLS_HTTP_MAX_RESPONSE_BYTES, defaultTimeoutMs: 15_000 };
}

/** The sandbox's host-call, live-run and memory bounds from configuration. */
export function sandboxConfig(
  config: Pick<Config, 'TOOLS_SANDBOX_MAX_HOST_CALLS' | 'TOOLS_SANDBOX_MAX_CALLS_IN_FLIGHT' | 'TOOLS_SANDBOX_MAX_LIVE_RUNS' | 'TOOLS_SANDBOX_MAX_QUEUED_RUNS' | 'TOOLS_SANDBOX_RECYCLE_BYTES'>,
): Pick<ToolRegistryDeps, 'maxHostCalls' | 'maxHostCallsInFlight' | 'sandboxPool'> {
  return {
    maxHostCalls: config.TOOLS_SANDBOX_MAX_HOST_CALLS,
    maxHostCallsInFlight: config.TOOLS_SANDBOX_MAX_CALLS_IN_FLIGHT,
    sandboxPool: { maxLiveRuns: config.TOOLS_SANDBOX_MAX_LIVE_RUNS, maxQueuedRuns: config.TOOLS_SANDBOX_MAX_QUEUED_RUNS, recycleAboveBytes: config.TOOLS_SANDBOX_RECYCLE_BYTES },
  };
}

export interface ToolStackDeps extends Omit<ToolRegistryDeps, 'events' | 'prisma'> {
  prisma: PrismaClient;
  events: EventPublisher;
  http: HttpToolConfig;
  /** Built-in tools other services provide (e.g. core.db.query from the database ACL). */
  extraTools?: readonly BuiltinTool[];
  /** Whether a plugin may emit through core.events.emit (the plugin service's grant; plugins may not when absent). */
  pluginMayEmit?: (pluginId: string) => Promise<boolean>;
}

/**
 * Builds the resource service and the tool registry, waits for cross-process invalidation to
 * listen, and registers every built-in tool. What each process (API, worker) calls at start.
 */
export async function startToolRegistry({ http, extraTools = [], pluginMayEmit, ...deps }: ToolStackDeps) {
  const resources = createResourceService({ prisma: deps.prisma, events: deps.events });
  const registry = createToolRegistry(deps);
  await registry.ready();
  await registry.registerBuiltinTools([...createBuiltinTools({ events: deps.events, resources, http, pluginMayEmit }), ...extraTools]);
  return { registry, resources };
}
