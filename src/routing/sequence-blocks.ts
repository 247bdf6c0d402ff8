import type { ShardtxError } from '../shared/errors.js'

/** Runs one statement with `?` bindings on the sequence's shard (outside any transaction) and resolves to knex's raw result. */
export type RunOnSequenceShard = (sql: string, bindings: readonly unknown[]) => Promise<unknown>

/** Where a sequence lives, for messages. */
export interface SequenceLocation {
  /** The sharded table whose keys it hands out. */
  forTable: string
  table: string
  shard: string
  blockSize: number
}

/**
 * Ids of one Vitess-style sequence: a one-row counter table (`id = 0`, `next_id`) on one shard.
 * Blocks of `blockSize` ids are reserved with one atomic statement,
 * `UPDATE seq SET next_id = LAST_INSERT_ID(next_id + n) WHERE id = 0`, whose OK packet carries the
 * new `next_id`, and handed out from memory. Two processes never get the same id (each block is
 * reserved by one committed update); a process that stops loses at most the rest of its block.
 * Memory is two numbers and one in-flight reservation, whatever the block size; concurrent
 * callers that find the block empty wait for that one reservation, whose round trip is bounded
 * by the pool's statement timeout.
 *
 * @example
 * ```ts
 * const seq = new SequenceBlocks({ forTable: 'customers', table: 'customer_seq', shard: '-80', blockSize: 100 }, run)
 * await seq.take(3) // [1, 2, 3]; the next 97 calls need no round trip
 * ```
 */
export class SequenceBlocks {
  readonly #where: SequenceLocation
  readonly #run: RunOnSequenceShard
  #next = 0
  #end = 0
  #reserving: Promise<void> | undefined

  constructor(where: SequenceLocation, run: RunOnSequenceShard) {
    this.#where = where
    this.#run = run
  }

  /** `count` new ids, ascending. */
  async take(count: number): Promise<number[]> {
    const ids: number[] = []
    while (ids.length < count) {
      if (this.#next < this.#end) {
        ids.push(this.#next++)
        continue
      }
      this.#reserving ??= this.#reserve(count - ids.length).finally(() => {
        this.#reserving = undefined
      })
      await this.#reserving
    }
    return ids
  }

  async #reserve(needed: number): Promise<void> {
    const { table, blockSize } = this.#where
    const reserved = Math.ceil(needed / blockSize) * blockSize
    let result: unknown
    try {
      result = await this.#run(`UPDATE \`${table}\` SET next_id = LAST_INSERT_ID(next_id + ?) WHERE id = 0`, [reserved])
    } catch (err) {
      if ((err as Partial<ShardtxError>).code?.startsWith('SHARDTX_')) throw err
      throw this.#error(`reserving ids failed: ${(err as Error).message}`, err)
    }
    const header = (Array.isArray(result) ? result[0] : result) as { affectedRows?: unknown; insertId?: unknown } | undefined
    if (header?.affectedRows !== 1) throw this.#error('its table has no row with id = 0')
    const end = header.insertId
    if (typeof end !== 'number' || !Number.isSafeInteger(end)) throw this.#error(`next_id is not a safe integer (got ${typeof end})`)
    this.#next = end - reserved
    this.#end = end
  }

  #error(problem: string, cause?: unknown): Error {
    const { forTable, table, shard } = this.#where
    return new Error(
      `The sequence of \`${forTable}\` (table \`${table}\` on shard ${shard}) cannot hand out ids: ${problem}. ` +
        `It needs one row: CREATE TABLE ${table} (id INT PRIMARY KEY, next_id BIGINT NOT NULL, cache BIGINT NOT NULL) COMMENT 'vitess_sequence'; ` +
        `INSERT INTO ${table} (id, next_id, cache) VALUES (0, 1, ${this.#where.blockSize}) (docs/routing.md, "Sequences").`,
      cause === undefined ? undefined : { cause },
    )
  }
}
