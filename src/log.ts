// Structured JSON logs (pino): level, time, msg, and fields naming the stream/file/sink concerned.
import pino, { type Logger } from 'pino';

export type { Logger };

/** A JSON logger writing to stderr (stdout stays free for command output). */
export function createLogger(level: string = 'info'): Logger {
  return pino(
    { level, base: { service: 'tailseal' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 2, sync: true }),
  );
}
