import type { ResolvedConfig } from '../config/resolve.js'
import { PROCESS_TAG } from '../shared/transaction-id.js'
import { DeadlockDetector } from './detector.js'
import { DetectorServers } from './detector-servers.js'

export type { DeadlockDetector }

/**
 * The detector of one ShardedDb: the coordinator (holder of the ownership table) is the first
 * shard in canonical order, the same in every process that uses these shards. Opens nothing
 * until a statement has waited past the threshold.
 *
 * @example
 * ```ts
 * const detector = createDeadlockDetector(resolveConfig(options))
 * ```
 */
export function createDeadlockDetector(config: ResolvedConfig): DeadlockDetector {
  const order = config.shardMap.order
  return new DeadlockDetector({
    options: config.deadlock,
    logger: config.logger,
    processId: PROCESS_TAG,
    coordinator: order[0]!,
    servers: new DetectorServers(order, config.connections, config.connectTimeoutMs),
  })
}
