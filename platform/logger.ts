import pino, { type DestinationStream } from 'pino';

/** Field paths whose values are credentials: replaced by "[redacted]" wherever a log line carries them. */
export const REDACTED_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'req.headers.authorization',
  'headers.cookie', '*.headers.cookie', 'req.headers.cookie',
  'key', '*.key', 'apiKey', '*.apiKey', 'secret', '*.secret', 'webhookSecret', '*.webhookSecret',
  'token', '*.token', 'password', '*.password', 'signature', '*.signature',
];

/**
 * A JSON logger whose every line carries `service`; credentials are redacted by field name.
 * `destination` defaults to stdout (tests pass a stream to read the lines back).
 */
export function createLogger(service: string, level: string, destination?: DestinationStream) {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  }, destination);
}
export type Logger = ReturnType<typeof createLogger>;
