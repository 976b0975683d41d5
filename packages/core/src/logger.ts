import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Paths never logged in clear. */
export const REDACT_PATHS = ['token', 'loginToken', '*.token', '*.loginToken', 'authorization', '*.authorization', 'req.headers.authorization', 'secret', '*.secret'];

/** The root logger of a process. Pass children down; never import a global logger. */
export function createLogger(opts: { level?: LevelWithSilent; base?: Record<string, unknown>; destination?: DestinationStream } = {}): Logger {
  return pino(
    { level: opts.level ?? 'info', base: opts.base ?? {}, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything: for library defaults and tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
