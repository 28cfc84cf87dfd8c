import pino from 'pino';

/** A JSON logger tagged with the service name; redacts credentials wherever they appear. */
export function createLogger(service: string, level: string) {
  return pino({
    name: service,
    level,
    redact: ['req.headers.authorization', '*.apiKey', '*.secret', '*.password', 'key'],
  });
}
export type Logger = ReturnType<typeof createLogger>;
