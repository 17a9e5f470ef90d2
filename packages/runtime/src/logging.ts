/** The logger the runtime writes to: pino's shape, so a pino logger can be passed as it is. */
import { pino } from 'pino';

type LogFn = (obj: object | string, msg?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export function defaultLogger(level = 'info'): Logger {
  return pino({ name: 'lovage', level });
}
