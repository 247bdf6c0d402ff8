import { CHANNELS } from '../shared/channels.js'

/** `up`: in use. `down`: failed; transactions that need it fail at once. `probing`: down, a recovery probe is in flight. */
export type ShardState = 'up' | 'down' | 'probing'

/** What `db.health()` reports for one shard. */
export interface ShardHealthInfo {
  state: ShardState
  /** When the shard entered `up` or `down` (ms since the epoch); `probing` keeps the time it went down. */
  since: number
  /** The failure that last took the shard down; absent if it never went down. Code and message only. */
  lastError?: { code?: string; message: string }
  /** Failed connects and probes since the shard was last up. */
  consecutiveFailures: number
  /**
   * `atomic`: prepared XA branches on this shard that the last atomic recovery pass had to leave in
   * doubt (their coordinator shard or server unreachable); 0 when none (or before any pass). Set
   * by `db.health()`; see docs/atomic.md.
   */
  atomicInDoubt?: number
}

/** Logged at `warn` when a shard is marked down. */
export interface ShardDownEvent {
  event: 'shardtx.shard_down'
  shard: string
  /** What shardtx saw: e.g. `connect failed`, `health probe failed after a statement went unanswered for 1000 ms`. */
  reason: string
  error: { code?: string; message: string } | undefined
  /** Waits on the shard (statements, connection acquires) failed at once by this transition. */
  failedWaiters: number
  probeIntervalMs: number
}

/** Logged at `info` when a probe finds a shard that was down answering again. */
export interface ShardUpEvent {
  event: 'shardtx.shard_up'
  shard: string
  downForMs: number
  /** Probes and connects that failed while it was down. */
  failedProbes: number
}

export type ShardHealthEvent = ShardDownEvent | ShardUpEvent

/**
 * The `shardtx:shard-health` channel (`CHANNELS.shardHealth`), under the name earlier releases
 * exported: every health transition is published there (free when nobody subscribes).
 *
 * @example
 * ```ts
 * import { CHANNELS } from '../shared/channels.js'
 * diagnosticsChannel.subscribe('shardtx:shard-health', (e) => gauge.set({ shard: e.shard }, e.event === 'shardtx.shard_up' ? 1 : 0))
 * ```
 */
export const SHARD_HEALTH_CHANNEL = CHANNELS.shardHealth
