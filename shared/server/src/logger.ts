import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger of a process. Created in main.ts and handed down as `log.child({ component })`.
 * Redaction is a safety net: code must never pass tokens or message bodies to the logger at all.
 */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'body', '*.body', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
