import { MIN_POLL_INTERVAL_MS } from '../config/deadlock-options.js'
import { createLockWaitReader } from './lock-wait-reader.js'
import type { QueryRunner } from './query-runner.js'
import { detectServerFlavor } from './server-flavor.js'
import { throttleLockWaitReader } from './throttled-reader.js'
import type { LockWaitEdge, ServerFlavor } from './types.js'

/** One read of a server's lock views and when it began (`performance.now()`). */
export interface TimedLockWaits {
  edges: LockWaitEdge[]
  startedAt: number
}

/** A detector's handle on the process-wide reader of one server. */
export interface ServerReaderHandle {
  read(): Promise<TimedLockWaits>
  detach(): void
}

interface SharedServer {
  readonly reader: ReturnType<typeof throttleLockWaitReader>
  /** Runners of the attached detectors; reads use the first (all reach the same server). */
  readonly runners: QueryRunner[]
  flavor: Promise<ServerFlavor> | undefined
}

/**
 * One throttled lock-view reader per server for the whole process, shared by every ShardedDb that
 * uses the server: InnoDB refreshes the views only when they were last read 100 ms or more
 * earlier, so two detectors of one process polling a server on their own could keep each other's
 * view stale (README.md of this folder). Keyed by the server key (host:port or socket).
 */
const servers = new Map<string, SharedServer>()
/** When each read (an array of edges) began; the throttle shares one array among its callers. */
const readStarts = new WeakMap<LockWaitEdge[], number>()

/**
 * Attaches a detector to the process-wide reader of `server`. Edges come back tagged with
 * `server` as their shard: the caller's `serverOf` must map that tag to itself.
 *
 * @example
 * ```ts
 * const handle = attachServerReader('127.0.0.1:3306', run)
 * const { edges, startedAt } = await handle.read()
 * handle.detach()
 * ```
 */
export function attachServerReader(server: string, run: QueryRunner): ServerReaderHandle {
  let shared = servers.get(server)
  if (shared === undefined) {
    const entry: SharedServer = {
      runners: [],
      flavor: undefined,
      reader: throttleLockWaitReader(
        {
          flavor: 'mariadb', // unused: the throttle only forwards it
          shard: server,
          async read() {
            const runner = entry.runners[0]
            if (runner === undefined) return []
            const flavor = (entry.flavor ??= detectServerFlavor(runner))
            flavor.catch(() => {
              if (entry.flavor === flavor) entry.flavor = undefined // ask again next time
            })
            const reader = createLockWaitReader(await flavor, server, runner)
            const startedAt = performance.now()
            const edges = await reader.read()
            readStarts.set(edges, startedAt)
            return edges
          },
        },
        MIN_POLL_INTERVAL_MS,
      ),
    }
    shared = entry
    servers.set(server, shared)
  }
  const entry = shared
  entry.runners.push(run)
  let attached = true
  return {
    async read() {
      const edges = await entry.reader.read()
      // An empty result from an early return has no start: nothing in it needs checking.
      return { edges, startedAt: readStarts.get(edges) ?? performance.now() }
    },
    detach() {
      if (!attached) return
      attached = false
      entry.runners.splice(entry.runners.indexOf(run), 1)
      if (entry.runners.length === 0 && servers.get(server) === entry) servers.delete(server)
    },
  }
}
