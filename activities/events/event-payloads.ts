import { z } from 'zod';
import { PLAN_RUN_EVENTS, PLAN_STEP_EVENTS } from '../../workflows/plan-types';

// Payload schemas of the events this project emits. They name the fields every emitter must
// send and let extra fields through (loose objects), so a service may add detail freely.
const id = z.string().min(1);
const tool = z.looseObject({ tool: id });
const table = z.looseObject({ table: id });
const plugin = z.looseObject({ pluginId: id });
const plan = z.looseObject({ planId: id, runId: id.optional() });
const planStep = z.looseObject({ planId: id, runId: id, stepId: id });
const trigger = z.looseObject({ triggerId: id });
const resource = z.looseObject({ resourceType: id, id });

/** Known event type → payload schema; an emit of a known type with a bad payload is rejected. */
export const KNOWN_EVENT_PAYLOADS: Readonly<Record<string, z.ZodType>> = {
  'system.started': z.looseObject({ process: id }),
  'system.stopping': z.looseObject({ process: id }),
  'tool.registered': tool,
  'tool.unregistered': tool,
  'tool.executed': z.looseObject({ tool: id, durationMs: z.number().nonnegative().optional() }),
  'tool.enabled': tool,
  'tool.disabled': tool,
  'database.table_created': table,
  'database.table_dropped': table,
  'database.access_denied': z.looseObject({ requesterId: id }),
  'plugin.installed': plugin,
  'plugin.install_failed': z.looseObject({ pluginId: id, error: z.string() }),
  'plugin.upgraded': z.looseObject({ pluginId: id, fromVersion: id, toVersion: id }),
  'plugin.upgrade_failed': z.looseObject({ pluginId: id, toVersion: id, error: z.string() }),
  'plugin.uninstalled': plugin,
  'plugin.enabled': plugin,
  'plugin.disabled': plugin,
  'plugin.config_updated': plugin,
  // every plan_history event the plan workflow records is emitted under its name
  ...Object.fromEntries(PLAN_RUN_EVENTS.map((type) => [type, plan])),
  ...Object.fromEntries(PLAN_STEP_EVENTS.map((type) => [type, planStep])),
  'trigger.fired': trigger,
  'trigger.executed': trigger,
  'trigger.failed': trigger,
  'resource.created': resource,
  'resource.updated': resource,
  'resource.deleted': resource,
  'agent.started': z.looseObject({ agentId: id }),
  'agent.completed': z.looseObject({ agentId: id }),
  'agent.failed': z.looseObject({ agentId: id }),
};

/** Any event's data must survive JSON: it is logged as JSONB and sent across processes. */
export const JsonData = z.unknown().refine((value) => {
  try {
    return value === undefined || JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}, 'event data must be JSON-serialisable');
