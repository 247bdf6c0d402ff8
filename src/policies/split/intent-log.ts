import type { KnexClientLike } from '../../knex/client.js'
import { ER_DUP_ENTRY, ER_NO_SUCH_TABLE, errnoOf } from './failure-kind.js'
import { APPLIED_TABLE, CREATE_APPLIED_TABLE, CREATE_PLANS_TABLE, PLANS_TABLE } from './intent-log-schema.js'
import { parseParts, type PlanPart, type SplitPlan } from './plan.js'
import { placeholders, poolQuery, type ResultHeader } from '../../transaction/sql.js'

/** Why a plan failed, as stored in its row (codes always; the driver message too, since the row already holds every value). */
export interface StoredFailure {
  partNo: number
  shard: string
  appliedShards: string[]
  unappliedShards: string[]
  code: string | undefined
  errno: number | undefined
  sqlState: string | undefined
  message: string | undefined
}

export interface StoredPlan {
  planId: string
  status: 'pending' | 'applied' | 'failed'
  parts: PlanPart[]
  parallel: boolean
  digest: string
  transactionId: string | undefined
  failure: StoredFailure | undefined
}

/** A plan about to be stored, with its stored text and that text's digest. */
export interface NewPlanRow {
  plan: SplitPlan
  serialized: string
  digest: string
}

interface PlanRow {
  plan_id: string
  status: StoredPlan['status']
  parallel_parts: number
  plan: string
  plan_digest: string
  transaction_id: string | null
  failure: string | null
}

const PLAN_COLUMNS = 'plan_id, status, parallel_parts, plan, plan_digest, transaction_id, failure'

/**
 * The intent log of one ShardedDb: the plans table on the coordinator shard and the applied-part
 * markers on every shard. Every statement here is a single autocommitted statement, so each
 * state change is durable the moment it returns (InnoDB's default
 * `innodb_flush_log_at_trx_commit = 1`).
 */
export class IntentLog {
  /** The shard holding the plans table: the first shard in canonical order. */
  readonly coordinator: string
  readonly #poolOf: (shard: string) => KnexClientLike
  readonly #shardNames: readonly string[]
  /** `table@shard` -> CREATE TABLE IF NOT EXISTS done (or in progress); bounded by 2 x shard count. */
  readonly #ensured = new Map<string, Promise<void>>()

  constructor(poolOf: (shard: string) => KnexClientLike, shardNames: readonly string[]) {
    this.#poolOf = poolOf
    this.#shardNames = shardNames
    this.coordinator = shardNames[0]!
  }

  ensurePlansTable(): Promise<void> {
    return this.#ensure(this.coordinator, PLANS_TABLE, CREATE_PLANS_TABLE)
  }

  ensureAppliedTable(shard: string): Promise<void> {
    return this.#ensure(shard, APPLIED_TABLE, CREATE_APPLIED_TABLE)
  }

  /** Forgets that a table exists, after the server said it does not (someone dropped it). */
  forgetTables(shard: string): void {
    this.#ensured.delete(`${PLANS_TABLE}@${shard}`)
    this.#ensured.delete(`${APPLIED_TABLE}@${shard}`)
  }

  /** Stores a plan as pending. `duplicate` means another plan already holds its idempotency key. */
  async insert(plan: NewPlanRow): Promise<'inserted' | 'duplicate'> {
    try {
      await this.insertMany([plan])
      return 'inserted'
    } catch (err) {
      if (errnoOf(err) === ER_DUP_ENTRY && plan.plan.idempotencyKeyHash !== undefined) return 'duplicate'
      throw err
    }
  }

  /**
   * Stores several plans as pending in one autocommitted INSERT: all of them or, on any error,
   * none (one statement is atomic). A duplicate idempotency key fails the whole statement; see
   * PlanInserts for what its caller does then.
   */
  async insertMany(plans: readonly NewPlanRow[]): Promise<void> {
    const values: unknown[] = []
    for (const { plan, serialized, digest } of plans) {
      values.push(
        plan.planId,
        plan.idempotencyKeyHash ?? null,
        plan.parallel ? 1 : 0,
        plan.parts.length,
        serialized,
        digest,
        plan.transactionId ?? null,
        plan.origin?.slice(0, 512) ?? null,
      )
    }
    const row = `(?, ?, 'pending', ?, ?, ?, ?, ?, ?)`
    await this.#coordinatorQuery(
      `INSERT INTO ${PLANS_TABLE} (plan_id, idempotency_key, status, parallel_parts, part_count, plan, plan_digest, transaction_id, origin) ` +
        `VALUES ${Array.from(plans, () => row).join(', ')}`,
      values,
    )
  }

  async byId(planId: string): Promise<StoredPlan | undefined> {
    const rows = await this.#coordinatorQuery<PlanRow[]>(`SELECT ${PLAN_COLUMNS} FROM ${PLANS_TABLE} WHERE plan_id = ?`, [planId])
    return rows[0] && toStored(rows[0])
  }

  async byIdempotencyKey(keyHash: string): Promise<StoredPlan | undefined> {
    const rows = await this.#coordinatorQuery<PlanRow[]>(`SELECT ${PLAN_COLUMNS} FROM ${PLANS_TABLE} WHERE idempotency_key = ?`, [keyHash])
    return rows[0] && toStored(rows[0])
  }

  /** Marks several finished plans applied in one statement (see AppliedMarks). */
  async markAppliedMany(planIds: readonly string[]): Promise<number> {
    const r = await this.#coordinatorQuery<ResultHeader>(
      `UPDATE ${PLANS_TABLE} SET status = 'applied', finished_at = NOW(3) WHERE plan_id IN (${placeholders(planIds.length)}) AND status = 'pending'`,
      planIds,
    )
    return r.affectedRows
  }

  /** True if this call moved the plan from pending to failed: only that caller runs the compensation hook. */
  async markFailed(planId: string, failure: StoredFailure): Promise<boolean> {
    const r = await this.#coordinatorQuery<ResultHeader>(
      `UPDATE ${PLANS_TABLE} SET status = 'failed', failure = ?, finished_at = NOW(3) WHERE plan_id = ? AND status = 'pending'`,
      [JSON.stringify(failure), planId],
    )
    return r.affectedRows === 1
  }

  /**
   * Up to `limit` pending plans with ids in (`afterId`, `beforeId`), at least `olderThanMs` old
   * (server clock), by id. Rows whose plan cannot be read (a format from a newer shardtx, a
   * damaged row) come back in `unreadable` instead of failing the whole page. Empty when the
   * plans table does not exist: nothing was ever accepted.
   */
  async pending(opts: {
    afterId: string
    beforeId: string
    olderThanMs: number
    limit: number
  }): Promise<{ plans: StoredPlan[]; unreadable: string[]; lastId: string | undefined }> {
    let rows: PlanRow[]
    try {
      rows = await this.#coordinatorQuery<PlanRow[]>(
        `SELECT ${PLAN_COLUMNS} FROM ${PLANS_TABLE} WHERE status = 'pending' AND plan_id > ? AND plan_id < ? ` +
          `AND created_at <= NOW(3) - INTERVAL ? MICROSECOND ORDER BY plan_id LIMIT ?`,
        [opts.afterId, opts.beforeId, opts.olderThanMs * 1000, opts.limit],
      )
    } catch (err) {
      if (errnoOf(err) === ER_NO_SUCH_TABLE) return { plans: [], unreadable: [], lastId: undefined }
      throw err
    }
    const plans: StoredPlan[] = []
    const unreadable: string[] = []
    for (const row of rows) {
      try {
        plans.push(toStored(row))
      } catch {
        unreadable.push(row.plan_id)
      }
    }
    return { plans, unreadable, lastId: rows.at(-1)?.plan_id }
  }

  /**
   * Deletes finished plans (applied or failed) whose `finished_at` is more than `retainMs` ago,
   * `batchSize` at a time so no statement locks many rows, at most `maxBatches` batches per call.
   * Markers go first, then the plan rows: a plan row without markers is finished and is never
   * replayed, while markers without their plan row would be garbage forever.
   */
  async prune(opts: { retainMs: number; batchSize: number; maxBatches: number }): Promise<number> {
    let pruned = 0
    for (let batch = 0; batch < opts.maxBatches; batch++) {
      let ids: string[]
      try {
        const rows = await this.#coordinatorQuery<{ plan_id: string }[]>(
          `SELECT plan_id FROM ${PLANS_TABLE} WHERE finished_at < NOW(3) - INTERVAL ? MICROSECOND ORDER BY finished_at LIMIT ?`,
          [opts.retainMs * 1000, opts.batchSize],
        )
        ids = rows.map((r) => r.plan_id)
      } catch (err) {
        if (errnoOf(err) === ER_NO_SUCH_TABLE) return pruned
        throw err
      }
      if (ids.length === 0) break
      for (const shard of this.#shardNames) {
        try {
          await poolQuery(this.#poolOf(shard), `DELETE FROM ${APPLIED_TABLE} WHERE plan_id IN (${placeholders(ids.length)})`, ids)
        } catch (err) {
          if (errnoOf(err) !== ER_NO_SUCH_TABLE) throw err // no markers table: this shard never ran a part
        }
      }
      const r = await this.#coordinatorQuery<ResultHeader>(`DELETE FROM ${PLANS_TABLE} WHERE plan_id IN (${placeholders(ids.length)})`, ids)
      pruned += r.affectedRows
      if (ids.length < opts.batchSize) break
    }
    return pruned
  }

  #coordinatorQuery<T>(sql: string, values: readonly unknown[]): Promise<T> {
    return poolQuery<T>(this.#poolOf(this.coordinator), sql, values)
  }

  #ensure(shard: string, table: string, ddl: string): Promise<void> {
    const key = `${table}@${shard}`
    let done = this.#ensured.get(key)
    if (done === undefined) {
      done = poolQuery(this.#poolOf(shard), ddl).then(() => undefined)
      this.#ensured.set(key, done)
      // A failed CREATE (shard down) is tried again next time instead of being remembered.
      done.catch(() => this.#ensured.get(key) === done && this.#ensured.delete(key))
    }
    return done
  }
}

function toStored(row: PlanRow): StoredPlan {
  return {
    planId: row.plan_id,
    status: row.status,
    parts: parseParts(row.plan),
    parallel: Number(row.parallel_parts) === 1,
    digest: row.plan_digest,
    transactionId: row.transaction_id ?? undefined,
    failure: row.failure === null ? undefined : (JSON.parse(row.failure) as StoredFailure),
  }
}
