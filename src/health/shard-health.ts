import type { ConnectionSettings } from '../config/connection.js'
import type { ShardtxLogger } from '../shared/logger.js'
import type { KnexClientLike } from '../knex/client.js'
import { guardClient } from './shard-guard.js'
import { HealthRegistry } from './health-registry.js'
import { connectionProbe, type ShardProbe } from './probe.js'
import { ShardGuard } from './shard-guard.js'

/**
 * Splits the failure bound (`connectTimeoutMs`) in two halves: a wait unanswered for the first half
 * triggers a probe, which gets the second half to answer. So a hung shard is declared down, and
 * the waits on it fail, about one bound after they started.
 *
 * @example
 * ```ts
 * splitFailureBound(2000) // { suspectAfterMs: 1000, probeTimeoutMs: 1000 }
 * ```
 */
export function splitFailureBound(boundMs: number): { suspectAfterMs: number; probeTimeoutMs: number } {
  const suspectAfterMs = Math.max(1, Math.floor(boundMs / 2))
  return { suspectAfterMs, probeTimeoutMs: Math.max(1, boundMs - suspectAfterMs) }
}

/** The settings health guarding reads (from createShardedDb's options). */
export interface HealthSettings {
  connections: ReadonlyMap<string, ConnectionSettings>
  /** `connectTimeoutMs`: the failure bound, split into suspicion and probe (see {@link splitFailureBound}). */
  connectTimeoutMs: number
  statementTimeoutMs: number
  acquireTimeoutMs: number
  /** `pool.max`. */
  poolMax: number
  /** `health.probeIntervalMs`. */
  probeIntervalMs: number
  logger: ShardtxLogger
}

/**
 * Creates the health registry of one ShardedDb and wraps each shard's knex clients (its plain
 * pool and its session pool) in that shard's one {@link ShardGuard}. The Runtime hands out only
 * the guarded clients.
 *
 * @example
 * ```ts
 * const { health, pools, sessionPools } = guardShardPools(settings, { pools: rawPools, sessionPools: rawSessionPools })
 * health.snapshot() // { '-80': { state: 'up', ... }, '80-': { state: 'up', ... } }
 * ```
 */
export function guardShardPools(
  config: HealthSettings,
  shardPools: { pools: ReadonlyMap<string, KnexClientLike>; sessionPools: ReadonlyMap<string, KnexClientLike> },
  probe: ShardProbe = connectionProbe(config.connections),
): { health: HealthRegistry; pools: Map<string, KnexClientLike>; sessionPools: Map<string, KnexClientLike> } {
  const { pools, sessionPools } = shardPools
  const { suspectAfterMs, probeTimeoutMs } = splitFailureBound(config.connectTimeoutMs)
  const health = new HealthRegistry([...pools.keys()], probe, {
    probeTimeoutMs,
    probeIntervalMs: config.probeIntervalMs,
    logger: config.logger,
  })
  const guarded = new Map<string, KnexClientLike>()
  const guardedSessions = new Map<string, KnexClientLike>()
  for (const [shard, client] of pools) {
    const guard = new ShardGuard(shard, health, {
      suspectAfterMs,
      statementTimeoutMs: config.statementTimeoutMs,
      acquireTimeoutMs: config.acquireTimeoutMs,
      poolMax: config.poolMax,
    })
    guarded.set(shard, guardClient(client, guard))
    const sessions = sessionPools.get(shard)
    if (sessions === undefined) throw new Error(`shardtx internal error: no session pool for shard ${shard}`)
    guardedSessions.set(shard, guardClient(sessions, guard))
  }
  return { health, pools: guarded, sessionPools: guardedSessions }
}
