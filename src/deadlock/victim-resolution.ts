import { DistributedDeadlockError } from '../shared/errors.js'
import type { DeadlockCycle } from './cycle-search.js'
import { killConnectionSql } from './kill.js'
import type { TrackedTransaction } from './transaction-registry.js'

/** A connection to kill: which server, which connection id. */
export interface ConnectionOnServer {
  server: string
  connectionId: number
  /** A statement may be running on it: end that first (`KILL QUERY`), see the detector's `#kill`. */
  busy: boolean
}

/**
 * Dooms a victim of this process and retires its connections, synchronously, before anything is
 * sent: the transaction's fate is DistributedDeadlockError from this moment (it wins over the
 * connection-lost error its blocked statement is about to get), no statement of it starts any
 * more, it cannot reach COMMIT (a statement of it is in flight, and commit runs only after every
 * statement settled), and its connections will be closed rather than returned to the pool, so the
 * KILLs about to be sent can never hit a connection reused by another transaction.
 *
 * Returns the connections to kill. The caller must have checked that the victim still has a wait
 * in flight (the graph only keeps edges whose waiting statement is still running).
 *
 * @example
 * ```ts
 * const kills = doomLocalVictim(tracked, cycle)
 * await Promise.all(kills.map((k) => servers.run(k.server, killConnectionSql(k.connectionId))))
 * ```
 */
export function doomLocalVictim(victim: TrackedTransaction, cycle: DeadlockCycle): ConnectionOnServer[] {
  victim.victim = true
  const error = victim.tx.doom(new DistributedDeadlockError({ ...victim.tx.facts(), cycle: cycle.transactions.map((t) => t.transactionId) }))
  const kills: ConnectionOnServer[] = []
  for (const tracked of victim.sessions.values()) {
    tracked.session.retire(error)
    const busy = [...victim.waits].some((w) => w.shard === tracked.session.shard)
    kills.push({ server: tracked.server, connectionId: tracked.session.connectionId, busy })
  }
  return kills
}

/**
 * `KILL QUERY <id>`: ends the statement a connection is running (1317), nothing more; the detector
 * sends it just before `KILL CONNECTION`, never alone (the transaction would keep its locks).
 *
 * @throws {TypeError} unless `connectionId` is a positive safe integer.
 * @example
 * ```ts
 * killQuerySql(42) // 'KILL QUERY 42'
 * ```
 */
export function killQuerySql(connectionId: number): string {
  return killConnectionSql(connectionId).replace('KILL CONNECTION', 'KILL QUERY')
}

/** Cycles with a victim in another process tracked at most; each round finds at most 100 cycles anyway. */
export const MAX_PENDING_REMOTE_CYCLES = 1_024

interface PendingCycle {
  firstSeenAt: number
  rounds: number
}

/**
 * Cycles whose victim belongs to another process. That process's detector breaks them normally;
 * this one steps in only when the same cycle (same members, same victim) is found in two rounds,
 * each on a fresh read of the lock views, and `graceMs` have passed since it was first seen: the
 * owner is then presumably hung, dead to its event loop, or detection is off there. A cycle that
 * is not found in a round is forgotten, so a transient one never accumulates time.
 *
 * @example
 * ```ts
 * const pending = new RemoteVictims()
 * pending.observe(cycle, now)            // round 1
 * pending.observe(cycle, now + 2_500)    // round 2: due after a 2 s grace
 * ```
 */
export class RemoteVictims {
  readonly #pending = new Map<string, PendingCycle>()

  /** Records that `cycle` was found in this round; true when its victim is due to be killed. */
  observe(cycle: DeadlockCycle, now: number, graceMs: number, seen: Set<string>): boolean {
    const key = cycleKey(cycle)
    seen.add(key)
    let entry = this.#pending.get(key)
    if (entry === undefined) {
      if (this.#pending.size >= MAX_PENDING_REMOTE_CYCLES) return false
      entry = { firstSeenAt: now, rounds: 0 }
      this.#pending.set(key, entry)
    }
    entry.rounds++
    if (entry.rounds >= 2 && now - entry.firstSeenAt >= graceMs) {
      this.#pending.delete(key)
      return true
    }
    return false
  }

  /** Forgets cycles not found in the round that just ended. */
  endRound(seen: ReadonlySet<string>): void {
    for (const key of this.#pending.keys()) if (!seen.has(key)) this.#pending.delete(key)
  }

  get size(): number {
    return this.#pending.size
  }
}

function cycleKey(cycle: DeadlockCycle): string {
  const ids = cycle.transactions.map((t) => t.transactionId).sort()
  return `${cycle.victim.transactionId}\u0000${ids.join('\u0000')}`
}
