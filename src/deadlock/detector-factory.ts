import type { ConnectionSettings } from '../config/connection.js'
import type { ResolvedDeadlockOptions } from '../config/deadlock-options.js'
import type { ShardtxLogger } from '../shared/logger.js'
import { PROCESS_TAG } from '../shared/transaction-id.js'
import { DeadlockDetector } from './detector.js'
import { DetectorServers } from './detector-servers.js'

export type { DeadlockDetector }

/** What the detector of one ShardedDb is built from. */
export interface DeadlockDetectorSettings {
  /** The `deadlock` options. */
  options: ResolvedDeadlockOptions
  logger: ShardtxLogger
  /** Shard names in canonical order: the first is the coordinator. */
  shardOrder: readonly string[]
  /** Each shard's connection settings: the detector reads lock views on connections of its own. */
  connections: ReadonlyMap<string, ConnectionSettings>
  /** `connectTimeoutMs`: bounds the detector's own connects. */
  connectTimeoutMs: number
}

/**
 * The detector of one ShardedDb: the coordinator (holder of the ownership table) is the first
 * shard in canonical order, the same in every process that uses these shards. Opens nothing
 * until a statement has waited past the threshold.
 *
 * @example
 * ```ts
 * const detector = createDeadlockDetector({ options: config.deadlock, logger, shardOrder: shardMap.order, connections, connectTimeoutMs: 2000 })
 * ```
 */
export function createDeadlockDetector(settings: DeadlockDetectorSettings): DeadlockDetector {
  const order = settings.shardOrder
  return new DeadlockDetector({
    options: settings.options,
    logger: settings.logger,
    processId: PROCESS_TAG,
    coordinator: order[0]!,
    servers: new DetectorServers(order, settings.connections, settings.connectTimeoutMs),
  })
}
