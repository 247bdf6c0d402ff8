import type { ShardtxLogger } from '../../shared/logger.js'
import type { ResolvedSplitOptions } from '../../config/split-options.js'
import type { SplitRecoveryErrorEvent } from './events.js'
import { errorCodes } from './failure-kind.js'
import type { RecoveryTrigger, SplitCoordinator } from './split-coordinator.js'

/**
 * Runs split recovery in the background for one ShardedDb: once at start (next tick, so creating
 * a ShardedDb stays synchronous and cheap) and every `split.recoveryIntervalMs`. Timers are
 * unref'd: they never keep a process alive. `stop()` (from `db.destroy()`) clears them, waits
 * for a pass in progress and for the batched applied marks, so the pools are not closed under them.
 *
 * Background passes never throw: a failure (coordinator down) is logged and the next pass tries
 * again. At most one background pass is queued at a time, so a slow pass cannot pile up timers.
 */
export class RecoveryScheduler {
  readonly #coordinator: () => SplitCoordinator
  readonly #settings: ResolvedSplitOptions
  readonly #logger: ShardtxLogger
  #startup: NodeJS.Immediate | undefined
  #interval: NodeJS.Timeout | undefined
  #background: Promise<void> | undefined
  #stopped = false

  constructor(coordinator: () => SplitCoordinator, settings: ResolvedSplitOptions, logger: ShardtxLogger) {
    this.#coordinator = coordinator
    this.#settings = settings
    this.#logger = logger
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

  /** Stops the timers, waits for a pass in progress, and writes the plans' applied marks still queued. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#startup !== undefined) clearImmediate(this.#startup)
    if (this.#interval !== undefined) clearInterval(this.#interval)
    await this.#background
    await this.#coordinator().drain()
  }

  #runInBackground(trigger: RecoveryTrigger, olderThanMs: number): void {
    if (this.#stopped || this.#background !== undefined) return
    this.#background = this.#coordinator()
      .recover({ olderThanMs, trigger })
      .then(
        () => undefined,
        (err: unknown) => {
          const codes = errorCodes(err)
          const event: SplitRecoveryErrorEvent = { event: 'shardtx.split_recovery_error', trigger, errorCode: codes.code, errno: codes.errno }
          this.#logger.warn(event, `shardtx: split recovery (${trigger}) could not finish (${codes.code}); the next pass tries again`)
        },
      )
      .finally(() => {
        this.#background = undefined
      })
  }
}
