import { ShardUnavailableError } from '../shared/errors.js'
import type { ShardtxLogger } from '../shared/logger.js'
import { describeDriverError } from './connection-errors.js'
import { SHARD_HEALTH_CHANNEL, type ShardDownEvent, type ShardHealthInfo, type ShardState, type ShardUpEvent } from './health-events.js'
import { LatestSlot } from './latest-slot.js'
import type { ShardProbe } from './probe.js'
import { ReportQueue } from './report-queue.js'

/**
 * What a guard tells the registry. `failed`: a fresh connection could not be made (that was a
 * probe already): the shard goes down at once. `suspect`: a statement or wait went unanswered, or
 * a connection broke mid-statement (which also happens when a deadlock detector kills it): a
 * probe decides.
 */
export interface FailureReport {
  kind: 'failed' | 'suspect'
  reason: string
  error?: unknown
}

export interface HealthRegistryOptions {
  /** Time a probe may take (connect and `SELECT 1`). */
  probeTimeoutMs: number
  /** Pause between recovery probes of a shard that is down. */
  probeIntervalMs: number
  logger: ShardtxLogger
  now?: () => number
}

/** A registered wait on a shard, failed at once if the shard goes down. */
export type DownListener = (err: ShardUnavailableError) => void

class ShardEntry {
  state: ShardState = 'up'
  since: number
  lastError: { code?: string; message: string } | undefined
  consecutiveFailures = 0
  probeInFlight = false
  /** Token of the probe whose result counts; results of older probes (started before a transition) are ignored. */
  probeToken = 0
  /** A suspicion that arrived while a probe was running: answered by one more probe, latest reason wins. */
  readonly reprobe = new LatestSlot<FailureReport>()
  /** Waits currently in flight on this shard; each holds a connection or a pool slot, so pool.max bounds them. */
  readonly listeners = new Set<DownListener>()
  recoveryTimer: NodeJS.Timeout | undefined

  constructor(
    readonly shard: string,
    now: number,
  ) {
    this.since = now
  }
}

/**
 * Per-shard health: `up` -> `down` -> `probing` -> `up` (or back to `down`).
 *
 * All transitions happen in one place, the worker of a bounded {@link ReportQueue}: guards report
 * and return at once; the worker updates state synchronously and starts probes without awaiting
 * them; a probe's result comes back as a plain callback. No lock exists, so none can be held while
 * a network reply is awaited (the pgpool-II failover deadlock of 2014).
 *
 * @example
 * ```ts
 * const health = new HealthRegistry(['-80', '80-'], connectionProbe(connections), { probeTimeoutMs: 1000, probeIntervalMs: 500, logger })
 * health.report('-80', { kind: 'failed', reason: 'connect failed', error })
 * health.unavailable('-80')   // a ShardUnavailableError once the worker has run
 * ```
 */
export class HealthRegistry {
  readonly #entries: ReadonlyMap<string, ShardEntry>
  readonly #probe: ShardProbe
  readonly #options: HealthRegistryOptions
  readonly #now: () => number
  readonly #queue: ReportQueue<FailureReport>
  #closed = false

  constructor(shards: readonly string[], probe: ShardProbe, options: HealthRegistryOptions) {
    this.#now = options.now ?? Date.now
    this.#entries = new Map(shards.map((s) => [s, new ShardEntry(s, this.#now())]))
    this.#probe = probe
    this.#options = options
    this.#queue = new ReportQueue<FailureReport>((shard, report) => this.#handle(shard, report), {
      // A definite failure is not downgraded by a later suspicion of the same shard.
      merge: (waiting, next) => (waiting.kind === 'failed' && next.kind === 'suspect' ? waiting : next),
      onHandlerError: (err) =>
        options.logger.error({ event: 'shardtx.internal_error', error: describeDriverError(err) }, 'shardtx: health worker failed to handle a report'),
    })
  }

  /** Hands a failure to the worker and returns at once. */
  report(shard: string, report: FailureReport): void {
    if (this.#entries.has(shard)) this.#queue.offer(shard, report)
  }

  state(shard: string): ShardState {
    return this.#entry(shard).state
  }

  /** The error a transaction needing `shard` fails with right now, or undefined when the shard is up. */
  unavailable(shard: string): ShardUnavailableError | undefined {
    const entry = this.#entry(shard)
    if (entry.state === 'up') return undefined
    const ago = Math.max(0, this.#now() - entry.since)
    const cause = entry.lastError?.code ?? entry.lastError?.message ?? 'unknown error'
    return new ShardUnavailableError(
      shard,
      `marked down ${ago} ms ago (${cause}); nothing was sent to it, and shardtx probes it every ${this.#options.probeIntervalMs} ms`,
    )
  }

  /**
   * Registers a wait on `shard`; `listener` is called once if the shard goes down while the wait
   * lasts. Returns the function that ends the registration. Check {@link unavailable} first.
   */
  onDown(shard: string, listener: DownListener): () => void {
    const listeners = this.#entry(shard).listeners
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  /** Per-shard state, for `db.health()`. */
  snapshot(): Record<string, ShardHealthInfo> {
    const out: Record<string, ShardHealthInfo> = {}
    for (const [shard, e] of this.#entries) {
      const info: ShardHealthInfo = { state: e.state, since: e.since, consecutiveFailures: e.consecutiveFailures }
      if (e.lastError !== undefined) info.lastError = { ...e.lastError }
      out[shard] = info
    }
    return out
  }

  /** Reports waiting in the queue and reports dropped because it was full (diagnostics, tests). */
  get queueStats(): { waiting: number; dropped: number } {
    return { waiting: this.#queue.size, dropped: this.#queue.dropped }
  }

  /** Stops probing and the worker; `db.destroy()` calls it. */
  close(): void {
    this.#closed = true
    this.#queue.close()
    for (const e of this.#entries.values()) {
      clearTimeout(e.recoveryTimer)
      e.recoveryTimer = undefined
      e.listeners.clear()
    }
  }

  #entry(shard: string): ShardEntry {
    const entry = this.#entries.get(shard)
    if (entry === undefined) throw new Error(`shardtx internal error: no health entry for shard ${shard}`)
    return entry
  }

  /** The worker's step for one report. Synchronous: probes are started, never awaited here. */
  #handle(shard: string, report: FailureReport): void {
    if (this.#closed) return
    const entry = this.#entry(shard)
    if (entry.state !== 'up') return // already down; the recovery probe decides when it is back
    if (report.kind === 'failed') {
      this.#markDown(entry, report)
    } else if (entry.probeInFlight) {
      // The running probe may have started before this wait went unanswered: ask for one more.
      entry.reprobe.offer(report)
    } else {
      this.#startProbe(entry, report)
    }
  }

  #startProbe(entry: ShardEntry, cause: FailureReport | undefined): void {
    entry.probeInFlight = true
    const token = ++entry.probeToken
    let probing: Promise<void>
    try {
      probing = this.#probe(entry.shard, this.#options.probeTimeoutMs)
    } catch (err) {
      probing = Promise.reject(err)
    }
    probing.then(
      () => this.#probeFinished(entry, token, cause, undefined),
      (err: unknown) => this.#probeFinished(entry, token, cause, err ?? new Error('probe failed')),
    )
  }

  #probeFinished(entry: ShardEntry, token: number, cause: FailureReport | undefined, err: unknown): void {
    if (token !== entry.probeToken) return // superseded: a suspicion probe that outlived the shard going down
    entry.probeInFlight = false
    if (this.#closed) return
    if (entry.state === 'up') {
      if (err !== undefined) {
        this.#markDown(entry, { kind: 'failed', reason: `health probe failed after: ${cause?.reason ?? 'a suspicion'}`, error: err })
        return
      }
      const next = entry.reprobe.take()
      if (next !== undefined) this.#startProbe(entry, next)
      return
    }
    if (entry.state !== 'probing') return
    if (err === undefined) {
      this.#markUp(entry)
    } else {
      entry.state = 'down'
      entry.consecutiveFailures++
      entry.lastError = describeDriverError(err)
      this.#scheduleRecovery(entry)
    }
  }

  #markDown(entry: ShardEntry, report: FailureReport): void {
    entry.state = 'down'
    entry.since = this.#now()
    entry.consecutiveFailures++
    entry.lastError = report.error === undefined ? { message: report.reason } : describeDriverError(report.error)
    entry.reprobe.take()
    entry.probeToken++ // a suspicion probe still in flight no longer decides anything
    entry.probeInFlight = false
    const err = new ShardUnavailableError(entry.shard, `marked down (${report.reason})`, { cause: report.error })
    const listeners = [...entry.listeners]
    entry.listeners.clear()
    for (const listener of listeners) listener(err)
    const event: ShardDownEvent = {
      event: 'shardtx.shard_down',
      shard: entry.shard,
      reason: report.reason,
      error: entry.lastError,
      failedWaiters: listeners.length,
      probeIntervalMs: this.#options.probeIntervalMs,
    }
    this.#options.logger.warn(
      event,
      `shardtx: shard ${entry.shard} is down (${report.reason}${report.error === undefined ? '' : `: ${entry.lastError.message}`}); ` +
        `transactions that need it fail at once until a probe (every ${this.#options.probeIntervalMs} ms) finds it answering`,
    )
    if (SHARD_HEALTH_CHANNEL.hasSubscribers) SHARD_HEALTH_CHANNEL.publish(event)
    this.#scheduleRecovery(entry)
  }

  #markUp(entry: ShardEntry): void {
    const now = this.#now()
    const event: ShardUpEvent = { event: 'shardtx.shard_up', shard: entry.shard, downForMs: now - entry.since, failedProbes: entry.consecutiveFailures }
    entry.state = 'up'
    entry.since = now
    entry.consecutiveFailures = 0
    this.#options.logger.info(event, `shardtx: shard ${entry.shard} is answering again after ${event.downForMs} ms; back in use`)
    if (SHARD_HEALTH_CHANNEL.hasSubscribers) SHARD_HEALTH_CHANNEL.publish(event)
  }

  #scheduleRecovery(entry: ShardEntry): void {
    clearTimeout(entry.recoveryTimer)
    entry.recoveryTimer = setTimeout(() => {
      entry.recoveryTimer = undefined
      if (this.#closed || entry.state !== 'down') return
      entry.state = 'probing'
      this.#startProbe(entry, undefined)
    }, this.#options.probeIntervalMs)
    // Probing is background work: it must never keep an otherwise finished process alive.
    entry.recoveryTimer.unref()
  }
}
