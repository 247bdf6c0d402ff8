import type { ShardtxLogger } from '../shared/logger.js'
import { errorCodes } from '../shared/driver-errors.js'

/** What started a recovery pass: a new ShardedDb, the periodic timer, or `db.recover()`. */
export type RecoveryTrigger = 'start' | 'interval' | 'call'

/**
 * Something that finishes what crashed processes left behind: split's coordinator (pending plans),
 * atomic's recoverer (prepared XA branches). `drain` writes whatever the recoverer batches
 * (split's applied marks) before the pools close.
 */
export interface Recoverer {
  recover(options: { olderThanMs: number; trigger: RecoveryTrigger }): Promise<unknown>
  drain(): Promise<void>
}

/** When background passes run (`split.recoverOnStart` / `atomic.recoverOnStart`, and the intervals). */
export interface RecoverySchedule {
  recoverOnStart: boolean
  /** `0` turns periodic passes off. */
  recoveryIntervalMs: number
}

/**
 * The warn-level event of a background pass that could not run to the end; the next pass tries again.
 *
 * @example
 * ```ts
 * if (line.event === 'shardtx.atomic_recovery_error') metrics.inc('atomic.recovery_errors')
 * ```
 */
export interface RecoveryErrorEvent {
  event: 'shardtx.split_recovery_error' | 'shardtx.atomic_recovery_error'
  trigger: RecoveryTrigger
  errorCode: string | undefined
  errno: number | undefined
}

/** The event of a failed background pass, by recoverer. */
const ERROR_EVENT = {
  split: { event: 'shardtx.split_recovery_error' },
  atomic: { event: 'shardtx.atomic_recovery_error' },
} as const

/**
 * Runs a recoverer in the background for one ShardedDb: once at start (next tick, so creating a
 * ShardedDb stays synchronous and cheap) and every `recoveryIntervalMs`, asking then only for
 * work at least one interval old (younger work probably belongs to a live process). Timers are
 * unref'd: they never keep a process alive. `stop()` (from `db.destroy()`) clears them, waits for
 * a pass in progress and for the recoverer's batched writes, so the pools are not closed under them.
 *
 * Background passes never throw: a failure (coordinator down) is logged and the next pass tries
 * again. At most one background pass is queued at a time, so a slow pass cannot pile up timers.
 *
 * @example
 * ```ts
 * const scheduler = new RecoveryScheduler(() => coordinator, config.split, logger) // split's, by default
 * scheduler.start()
 * await scheduler.stop()
 * ```
 */
export class RecoveryScheduler {
  readonly #recoverer: () => Recoverer
  readonly #settings: RecoverySchedule
  readonly #logger: ShardtxLogger
  readonly #what: 'split' | 'atomic'
  #startup: NodeJS.Immediate | undefined
  #interval: NodeJS.Timeout | undefined
  #background: Promise<void> | undefined
  #stopped = false

  constructor(recoverer: () => Recoverer, settings: RecoverySchedule, logger: ShardtxLogger, what: 'split' | 'atomic' = 'split') {
    this.#recoverer = recoverer
    this.#settings = settings
    this.#logger = logger
    this.#what = what
  }

  start(): void {
    if (this.#settings.recoverOnStart) {
      this.#startup = setImmediate(() => this.#runInBackground('start', 0))
      this.#startup.unref()
    }
    const every = this.#settings.recoveryIntervalMs
    if (every > 0) {
      this.#interval = setInterval(() => this.#runInBackground('interval', every), every)
      this.#interval.unref()
    }
  }

  /** Stops the timers, waits for a pass in progress, and lets the recoverer write what it batched. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#startup !== undefined) clearImmediate(this.#startup)
    if (this.#interval !== undefined) clearInterval(this.#interval)
    await this.#background
    await this.#recoverer().drain()
  }

  #runInBackground(trigger: RecoveryTrigger, olderThanMs: number): void {
    if (this.#stopped || this.#background !== undefined) return
    this.#background = this.#recoverer()
      .recover({ olderThanMs, trigger })
      .then(
        () => undefined,
        (err: unknown) => {
          const codes = errorCodes(err)
          const event: RecoveryErrorEvent = { ...ERROR_EVENT[this.#what], trigger, errorCode: codes.code, errno: codes.errno }
          this.#logger.warn(event, `shardtx: ${this.#what} recovery (${trigger}) could not finish (${codes.code}); the next pass tries again`)
        },
      )
      .finally(() => {
        this.#background = undefined
      })
  }
}
