import pino, { type Logger, type LoggerOptions } from 'pino';
import { redactDeep, redactText } from './redact.js';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  /** Component name: scheduler, worker, board, ... */
  name: string;
  level?: string;
  /** Pretty human output. Default: when stdout is a TTY and LOG_FORMAT is not json. */
  pretty?: boolean;
  /** Write to this destination instead of stdout (tests). */
  destination?: pino.DestinationStream;
}

/**
 * pino logger whose every message and field passes through credential redaction.
 * JSON lines by default; pretty output when stdout is a TTY.
 */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const pretty =
    opts.pretty ?? (process.stdout.isTTY === true && process.env.LOG_FORMAT !== 'json');
  const options: LoggerOptions = {
    name: opts.name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      log: (obj) => redactDeep(obj),
    },
    hooks: {
      logMethod(args, method) {
        const cleaned = args.map((a) => (typeof a === 'string' ? redactText(a) : a));
        return method.apply(this, cleaned as Parameters<typeof method>);
      },
    },
    serializers: {
      err: (e: unknown) => redactDeep(pino.stdSerializers.err(e as Error)),
    },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(options);
}
