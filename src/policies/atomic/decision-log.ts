import type { KnexClientLike } from '../../knex/client.js'
import { ER_DUP_ENTRY, ER_NO_SUCH_TABLE, errnoOf } from '../../shared/driver-errors.js'
import type { ShardSession } from '../../transaction/shard-session.js'
import { placeholders, poolQuery, sessionQuery, withPooledConnection, type ResultHeader } from '../../transaction/sql.js'
import { CREATE_ATOMIC_DECISIONS_TABLE, DECISIONS_TABLE } from './decision-log-schema.js'

/** A transaction's decided outcome, as its record says. */
export type Decision = 'commit' | 'abort'

/**
 * Longest a recoverer waits for the row lock of a decision record that a live coordinator is
 * writing (seconds). The committing transaction holds that lock only from its record insert to
 * its COMMIT, a few statements; a longer wait means a stuck coordinator, and the next pass tries again.
 */
const ABORT_LOCK_WAIT_S = 2

/** Records deleted per statement, and statements per prune. */
const PRUNE_BATCH = 500
const PRUNE_MAX_BATCHES = 100

/**
 * The decision records of one ShardedDb: a table on each shard that coordinates (the first shard
 * an atomic transaction opened a session on). The record of a transaction that commits is
 * written inside its coordinator transaction, so it becomes durable exactly when that
 * transaction commits (the commit point); a recoverer that finds prepared branches without a
 * record writes an `abort` record first. The primary key makes exactly one of the two exist.
 *
 * @example
 * ```ts
 * const log = new DecisionLog((shard) => pools.get(shard)!)
 * await log.ensure('-80')
 * await log.recordCommit(coordinatorSession, gtrid, tx.id, 2)
 * await log.read('-80', gtrid) // 'commit' once the coordinator committed
 * ```
 */
export class DecisionLog {
  readonly #poolOf: (shard: string) => KnexClientLike
  /** shard -> CREATE TABLE IF NOT EXISTS done (or in progress); bounded by the shard count. */
  readonly #ensured = new Map<string, Promise<void>>()

  constructor(poolOf: (shard: string) => KnexClientLike) {
    this.#poolOf = poolOf
  }

  /** Creates the table on `shard` if needed, on a pooled connection: DDL inside the coordinator transaction would commit it. */
  ensure(shard: string): Promise<void> {
    let done = this.#ensured.get(shard)
    if (done === undefined) {
      done = poolQuery(this.#poolOf(shard), CREATE_ATOMIC_DECISIONS_TABLE).then(() => undefined)
      done.catch(() => this.#ensured.delete(shard))
      this.#ensured.set(shard, done)
    }
    return done
  }

  /** Inserts the `commit` record inside the coordinator's open transaction: durable only when that transaction commits. */
  async recordCommit(coordinator: ShardSession, gtrid: string, transactionId: string, branches: number): Promise<void> {
    await sessionQuery(coordinator, `INSERT INTO ${DECISIONS_TABLE} (gtrid, outcome, transaction_id, branches) VALUES (?, 'commit', ?, ?)`, [
      gtrid,
      transactionId,
      branches,
    ])
  }

  /** The committed record of `gtrid` on `shard`; undefined when there is none (or no table). A non-locking read: never waits. */
  async read(shard: string, gtrid: string): Promise<Decision | undefined> {
    try {
      const [row] = await poolQuery<{ outcome: Decision }[]>(this.#poolOf(shard), `SELECT outcome FROM ${DECISIONS_TABLE} WHERE gtrid = ?`, [gtrid])
      return row?.outcome
    } catch (err) {
      if (errnoOf(err) === ER_NO_SUCH_TABLE) return undefined
      throw err
    }
  }

  /**
   * Decides `abort` for a transaction unless it is decided already, and returns what is decided.
   * The insert waits (at most {@link ABORT_LOCK_WAIT_S} s) for a coordinator that is writing its
   * `commit` record right now: when that one commits, the insert fails with a duplicate key and
   * the answer is `commit`; when it rolls back (its process died), `abort` wins.
   */
  async recordAbort(shard: string, gtrid: string, transactionId: string): Promise<Decision> {
    await this.ensure(shard)
    const inserted = await withPooledConnection(this.#poolOf(shard), async (query) => {
      await query(`SET SESSION innodb_lock_wait_timeout = ${ABORT_LOCK_WAIT_S}`)
      try {
        await query(`INSERT INTO ${DECISIONS_TABLE} (gtrid, outcome, transaction_id) VALUES (?, 'abort', ?)`, [gtrid, transactionId])
        return true
      } catch (err) {
        if (errnoOf(err) === ER_DUP_ENTRY) return false
        throw err
      } finally {
        await query('SET SESSION innodb_lock_wait_timeout = DEFAULT')
      }
    })
    if (inserted) return 'abort'
    const decided = await this.read(shard, gtrid)
    if (decided === undefined) throw new Error(`shardtx: decision record ${gtrid} on shard ${shard} vanished between a duplicate key and its read`)
    return decided
  }

  /**
   * Deletes records older than `retainMs` (server clock) on `shard`, except those of `keep` (the
   * transactions some server still lists a branch of). Candidates are read without locks, so a
   * record still being written (uncommitted) is never seen, let alone deleted. Returns how many.
   */
  async prune(shard: string, keep: ReadonlySet<string>, retainMs: number): Promise<number> {
    const pool = this.#poolOf(shard)
    let pruned = 0
    let after = ''
    for (let batch = 0; batch < PRUNE_MAX_BATCHES; batch++) {
      let rows: { gtrid: string }[]
      try {
        rows = await poolQuery(
          pool,
          `SELECT gtrid FROM ${DECISIONS_TABLE} WHERE decided_at < NOW(3) - INTERVAL ? MICROSECOND AND gtrid > ? ORDER BY gtrid LIMIT ${PRUNE_BATCH}`,
          [retainMs * 1000, after],
        )
      } catch (err) {
        if (errnoOf(err) === ER_NO_SUCH_TABLE) return pruned
        throw err
      }
      const doomed = rows.map((r) => r.gtrid).filter((g) => !keep.has(g))
      if (doomed.length > 0) {
        const result = await poolQuery<ResultHeader>(pool, `DELETE FROM ${DECISIONS_TABLE} WHERE gtrid IN (${placeholders(doomed.length)})`, doomed)
        pruned += result.affectedRows
      }
      if (rows.length < PRUNE_BATCH) break
      after = rows[rows.length - 1]!.gtrid
    }
    return pruned
  }
}
