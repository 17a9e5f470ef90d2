/** The worker's pino logger: human-readable (pino-pretty) on a terminal, JSON lines otherwise. */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Celery's log level names, mapped to pino's. */
export const LOG_LEVELS = {
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
} as const;

export type LogLevelName = keyof typeof LOG_LEVELS;
export type LogFormat = 'pretty' | 'json';

export function createLogger(level: LogLevelName, format: LogFormat): Logger {
  const options = { name: 'lovage', level: LOG_LEVELS[level] };
  if (format === 'json') return pino(options);
  // Synchronous so that lines written just before process.exit() are not lost. Colours only where
  // colorette sees a terminal (or FORCE_COLOR), never with NO_COLOR.
  return pino(options, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }));
}
