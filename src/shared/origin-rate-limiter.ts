import { LRUCache } from 'lru-cache'
import type { ShardtxLogger } from './logger.js'

/**
 * How many distinct call sites the limiter remembers. A constant, not an option: the number of
 * call sites is decided by code, not by configuration, and an LRU of this size costs well under a
 * megabyte. Counts of evicted sites are not lost; they are reported with the next warning.
 */
export const MAX_TRACKED_ORIGINS = 1000

/** Decision for one would-be warning. `suppressed` = warnings from this origin dropped since the last one logged. */
export type RateDecision = { emit: true; suppressed: number; suppressedElsewhere: number } | { emit: false }

interface OriginWindow {
  lastEmittedAt: number
  suppressed: number
}

/**
 * At most one warning per origin per interval, with a count of what was dropped.
 *
 * @example
 * ```ts
 * const limiter = new OriginRateLimiter(60_000)
 * if (limiter.decide('src/pay.ts:10:3').emit) logger.warn(...)
 * ```
 */
export class OriginRateLimiter {
  readonly #intervalMs: number
  #evictedSuppressed = 0
  readonly #windows = new LRUCache<string, OriginWindow>({
    max: MAX_TRACKED_ORIGINS,
    dispose: (window, _key, reason) => {
      if (reason === 'evict') this.#evictedSuppressed += window.suppressed
    },
  })

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs
  }

  decide(origin: string, now = Date.now()): RateDecision {
    const window = this.#windows.get(origin)
    if (window !== undefined && now - window.lastEmittedAt < this.#intervalMs) {
      window.suppressed++
      return { emit: false }
    }
    const suppressed = window?.suppressed ?? 0
    const suppressedElsewhere = this.#evictedSuppressed
    this.#evictedSuppressed = 0
    this.#windows.set(origin, { lastEmittedAt: now, suppressed: 0 })
    return { emit: true, suppressed, suppressedElsewhere }
  }

  /** Number of origins currently remembered (bounded by {@link MAX_TRACKED_ORIGINS}). */
  get size(): number {
    return this.#windows.size
  }
}

/**
 * The base of reporters that write at most one line per origin per `warnings.intervalMs` to the
 * application's logger (the cross-shard report, ordered's restart log).
 *
 * @example
 * ```ts
 * class MyReporter extends OriginRateLimitedLog {
 *   report(origin: string) { if (this.limiter.decide(origin).emit) this.logger.warn({ origin }, 'once per interval') }
 * }
 * ```
 */
export abstract class OriginRateLimitedLog {
  protected readonly logger: ShardtxLogger
  protected readonly limiter: OriginRateLimiter

  constructor(logger: ShardtxLogger, intervalMs: number) {
    this.logger = logger
    this.limiter = new OriginRateLimiter(intervalMs)
  }
}
