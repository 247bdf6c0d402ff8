/**
 * Collects a split transaction's writes into per-shard statement lists while its callback runs.
 * Each write is compiled at once, exactly as knex would send it (`toSQL().toNative()`), and its
 * bindings are encoded for the intent log right away: a write that could not be stored or
 * replayed fails at its own line, not later at commit.
 */
import type { KnexBuilderInternals } from '../../knex/builder-internals.js'
import { encodeBindings } from './binding-codec.js'
import { SplitUnsupportedError } from './errors.js'
import type { PlanPart, PlannedStatement } from './plan.js'

interface CompiledQuery {
  sql: string
  bindings?: readonly unknown[]
  options?: Record<string, unknown>
  toNative?: () => { sql: string; bindings: readonly unknown[] }
}

export class SplitPlanBuilder {
  readonly #byShard = new Map<string, PlannedStatement[]>()
  readonly #maxBytes: number
  #bytes = 0

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get isEmpty(): boolean {
    return this.#byShard.size === 0
  }

  /** Compiles `builder` and appends its statements to `shard`'s part; `what` names it in errors. */
  record(shard: string, builder: KnexBuilderInternals, what: string): void {
    const statements = compile(builder, what)
    let bytes = 0
    for (const s of statements) bytes += Buffer.byteLength(s.sql) + Buffer.byteLength(JSON.stringify(s.bindings))
    if (this.#bytes + bytes > this.#maxBytes) {
      throw new SplitUnsupportedError(
        `This split transaction's plan would exceed split.maxPlanBytes (${this.#maxBytes} bytes) with ${what}. ` +
          `The whole plan is stored in one row of the intent log before anything runs, so its size is bounded. ` +
          `Split the work into several transactions, or raise split.maxPlanBytes (below the server's max_allowed_packet).`,
      )
    }
    this.#bytes += bytes
    let list = this.#byShard.get(shard)
    if (list === undefined) this.#byShard.set(shard, (list = []))
    list.push(...statements)
  }

  /** The parts, one per shard, in the given (canonical) order. */
  parts(canonicalOrder: (shards: Iterable<string>) => string[]): PlanPart[] {
    return canonicalOrder(this.#byShard.keys()).map((shard) => ({ shard, statements: this.#byShard.get(shard)! }))
  }
}

function compile(builder: KnexBuilderInternals, what: string): PlannedStatement[] {
  const compiled = builder.toSQL() as CompiledQuery | CompiledQuery[]
  const queries = Array.isArray(compiled) ? compiled : [compiled]
  const statements: PlannedStatement[] = []
  for (const query of queries) {
    if (query.options !== undefined && Object.keys(query.options).length > 0) {
      throw new SplitUnsupportedError(
        `${what} sets knex query options (.options(...)), which split cannot store in its intent log. Remove them, or use { crossShard: 'ordered' }.`,
      )
    }
    const native = typeof query.toNative === 'function' ? query.toNative() : { sql: query.sql, bindings: query.bindings ?? [] }
    if (!native.sql) continue // e.g. insert([]): knex sends nothing either
    statements.push({ sql: native.sql, bindings: encodeBindings(native.bindings ?? [], what) })
  }
  return statements
}
