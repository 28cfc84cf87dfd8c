import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../platform/logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * Routes the Temporal SDK's own log lines (worker lifecycle, workflow and activity `log`) into
 * the process's pino logger, so the worker writes JSON only. Call once, before creating the worker.
 */
export function installTemporalRuntimeLog(logger: Logger, level: LogLevel = 'INFO'): void {
  const temporal = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      temporal[LEVELS[entry.level]]({ ...(entry.meta ?? {}) }, entry.message);
    }),
  });
}
