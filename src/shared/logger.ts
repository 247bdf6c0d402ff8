/**
 * The logger shape shardtx needs: pino's. Each method receives a structured event object first
 * and a human message second, so pino writes one JSON line and `console` prints both.
 *
 * @example
 * ```ts
 * createShardedDb({ ...config, logger: pino() })
 * createShardedDb({ ...config, logger: console })
 * ```
 */
export interface ShardtxLogger {
  error(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
  /**
   * pino's level check. When the logger has it and says a level is off, shardtx skips building
   * events for that level (a debug event per cross-shard transaction formats a stack frame).
   * Loggers without it (console) get error, warn and info, never debug: they cannot be told to
   * hide debug lines, and `console.debug` prints them all. Add `isLevelEnabled: () => true` to a
   * logger of your own to receive debug events too.
   */
  isLevelEnabled?(level: string): boolean
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const

/** A logger that drops everything; the default, so a library never writes to stdout uninvited. */
export const silentLogger: ShardtxLogger = { error() {}, warn() {}, info() {}, debug() {}, isLevelEnabled: () => false }

/**
 * Whether events at `level` reach anyone: false only when the logger says so (pino's `isLevelEnabled`).
 *
 * @example
 * ```ts
 * levelEnabled(pino({ level: 'info' }), 'debug') // false
 * levelEnabled(console, 'debug')                 // true
 * ```
 */
export function levelEnabled(logger: ShardtxLogger, level: (typeof LEVELS)[number]): boolean {
  return logger.isLevelEnabled === undefined || logger.isLevelEnabled(level)
}

/**
 * Checks a user-supplied logger at configuration time, so a wrong object fails at start-up with
 * a message instead of at the first warning in production.
 */
export function validateLogger(value: unknown, option = 'logger'): ShardtxLogger {
  if (value === undefined) return silentLogger
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`Expected \`${option}\` to be an object with error/warn/info/debug methods (pino, console), got ${describe(value)}`)
  }
  for (const level of LEVELS) {
    if (typeof (value as Record<string, unknown>)[level] !== 'function') {
      throw new TypeError(
        `Expected \`${option}.${level}\` to be a function (pino and console both have it), got ${describe((value as Record<string, unknown>)[level])}`,
      )
    }
  }
  const logger = value as ShardtxLogger
  // Bind once so loggers that rely on `this` (pino, console) keep working when called as values.
  const bound: ShardtxLogger = {
    error: logger.error.bind(logger),
    warn: logger.warn.bind(logger),
    info: logger.info.bind(logger),
    debug: logger.debug.bind(logger),
  }
  if (typeof logger.isLevelEnabled === 'function') bound.isLevelEnabled = logger.isLevelEnabled.bind(logger)
  else {
    // Quiet by default: `logger: console` must not print a debug line per background pass.
    bound.debug = () => {}
    bound.isLevelEnabled = (level) => level !== 'debug'
  }
  return bound
}

function describe(value: unknown): string {
  return value === null ? 'null' : `${typeof value}`
}
