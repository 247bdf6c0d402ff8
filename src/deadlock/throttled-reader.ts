import type { LockWaitReader } from './types.js'
import type { LockWaitEdge } from './types.js'

/**
 * Wraps a reader so that the server's lock views are read at most once per `minIntervalMs`,
 * however many detectors of this process ask. InnoDB refreshes the cache behind
 * `INNODB_TRX`/`INNODB_LOCKS`/`INNODB_LOCK_WAITS` only when its previous read ended 100 ms or
 * more earlier; measured on MariaDB 10.11, one client reading every 50 ms kept every other reader
 * on that server seeing a stale (empty) view for a whole 3 s wait. So many waiting transactions
 * polling one server independently would blind each other.
 *
 * Callers that arrive while a read is in flight or too soon after the last one share the next
 * read, which starts once `minIntervalMs` has passed since the last one ended; every caller gets
 * the result of a read that started after it called. Wrap one reader per server, not per shard,
 * when several shards are databases of one server.
 *
 * @param minIntervalMs @default 250
 * @example
 * ```ts
 * const reader = throttleLockWaitReader(createMariaDbLockWaitReader('-80', run))
 * const [a, b] = await Promise.all([reader.read(), reader.read()]) // one statement
 * ```
 */
export function throttleLockWaitReader(reader: LockWaitReader, minIntervalMs = 250): LockWaitReader {
  if (!Number.isFinite(minIntervalMs) || minIntervalMs < 0) {
    throw new TypeError(`Expected \`minIntervalMs\` to be a non-negative number, got ${String(minIntervalMs)}`)
  }
  let lastEnd = Number.NEGATIVE_INFINITY
  let inFlight: Promise<LockWaitEdge[]> | undefined
  let next: Promise<LockWaitEdge[]> | undefined

  const start = (): Promise<LockWaitEdge[]> => {
    next = undefined
    const current = reader.read().finally(() => {
      lastEnd = performance.now()
      inFlight = undefined
    })
    inFlight = current
    return current
  }

  return {
    flavor: reader.flavor,
    shard: reader.shard,
    read() {
      if (next) return next
      next = (async () => {
        await Promise.resolve() // let `next` be assigned before start() clears it
        if (inFlight) await inFlight.catch(() => undefined)
        const wait = lastEnd + minIntervalMs - performance.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        return start()
      })()
      return next
    },
  }
}
