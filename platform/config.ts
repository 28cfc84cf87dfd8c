import path from 'node:path';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** Every environment variable the project reads; the README's configuration table mirrors it. */
export const ConfigSchema = z.object({
  DATABASE_URL: optionalString,
  OWNPILOT_DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: port(54329),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('ownpilot'),
  TEMPORAL_DEV_SYNC: z.enum(['full', 'normal']).default('full'),
  API_PORT: port(3000),
  API_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OWNPILOT_ADMIN_KEY: optionalString,
  WORKER_METRICS_PORT: port(9464),
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_TOKEN: optionalString,
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(25_000),
  TOOLS_HTTP_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  TOOLS_HTTP_ALLOWED_HOSTS: z.string().default('').transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  TOOLS_HTTP_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1).default(5 * 1024 * 1024),
  /** Host calls (tools.call) one top-level execution of a sandboxed tool may make, counting every tool it nests. */
  TOOLS_SANDBOX_MAX_HOST_CALLS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Host calls one sandboxed run may have in flight at once; further calls wait their turn. */
  TOOLS_SANDBOX_MAX_CALLS_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).default(8),
  /** Sandboxed runs (QuickJS runtimes) alive at once per process; more than the nesting depth (3). */
  TOOLS_SANDBOX_MAX_LIVE_RUNS: z.coerce.number().int().min(4).max(1000).default(16),
  /** Sandboxed runs that may wait for a free slot; one more fails with UNAVAILABLE. */
  TOOLS_SANDBOX_MAX_QUEUED_RUNS: z.coerce.number().int().min(0).max(100_000).default(256),
  /** An idle sandbox worker whose WASM memory grew past this is replaced, giving the memory back. */
  TOOLS_SANDBOX_RECYCLE_BYTES: z.coerce.number().int().min(16 * 1024 * 1024).default(64 * 1024 * 1024),
  ACL_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** The largest result (rows as JSON) one ACL statement may answer; PostgreSQL stops a read that grows past it. */
  ACL_MAX_RESULT_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
  OWNPILOT_SECRETS_KEY: optionalString,
  /** How often the API makes Temporal schedules match the triggers table again (0 = only at start and on the endpoint). */
  TRIGGER_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  /** How far back the API reads event_log at start for events no process dispatched to event triggers (0 = none). */
  TRIGGER_EVENT_CATCH_UP_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
  /** The most trigger firings one causal chain may hold (trigger → event → trigger ...); deeper firings are skipped. */
  TRIGGER_MAX_CHAIN_DEPTH: z.coerce.number().int().min(1).max(100).default(8),
  /** Days event_log (and the plugin delivery claims of its events) are kept; workers prune hourly (0 = forever). */
  EVENT_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(90),
});
export type Config = z.infer<typeof ConfigSchema> & { dataDir: string };

/** Parses configuration once; throws a ZodError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.parse(env);
  return { ...parsed, dataDir: path.resolve(parsed.OWNPILOT_DATA_DIR) };
}

/** The Temporal address the processes should use: the external cluster or the local dev server. */
export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
}
