import type { Knex } from 'knex'
import { UnroutableQueryError } from '../shared/errors.js'
import type { KnexBuilderInternals } from '../knex/builder-internals.js'
import type { KnexClientLike } from '../knex/client.js'
import { clientRunning } from '../knex/derived-clients.js'
import { CallSite } from '../shared/call-site.js'
import { executeStatement, executeUnroutedStatement } from './statement-executor.js'
import type { CoreTransaction } from './policy.js'

/** Unrouted access to one shard inside a transaction: raw SQL and builders that bypass routing. */
export interface ShardHandle {
  <TRecord extends {} = any, TResult = any[]>(table: string): Knex.QueryBuilder<TRecord, TResult>
  /**
   * Raw SQL on this shard, with bindings (never splice values into `sql`).
   * @example
   * ```ts
   * await tx.shard('-80').raw('UPDATE counters SET n = n + 1 WHERE name = ?', ['x'])
   * ```
   */
  raw<TResult = any>(sql: string, bindings?: readonly Knex.RawBinding[] | Knex.ValueDict): Knex.Raw<TResult>
}

/**
 * The `tx` a `db.transaction()` callback receives: call it like a knex transaction.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx('accounts').where({ id: 42 }).decrement('balance', 10)
 *   const rows = await tx.shard('-80').raw('SELECT COUNT(*) AS n FROM audit')
 * })
 * ```
 */
export interface ShardedTransaction {
  /** A knex query builder on `table`, routed to the shard of its shard key when awaited. */
  <TRecord extends {} = any, TResult = any[]>(table: string): Knex.QueryBuilder<TRecord, TResult>
  /** shardtx's id of this attempt; it appears in every log event and error. */
  readonly id: string
  /** Shards this transaction has written to or locked rows on, in canonical order. */
  readonly shards: readonly string[]
  /**
   * Unrouted access to one shard. Statements through it count as writes on that shard (the
   * policy applies), unless `readOnly` is set: then they run outside the transaction unless the
   * transaction already participates in that shard.
   */
  shard(name: string, options?: { readOnly?: boolean }): ShardHandle
  /** Not available: raw SQL has no table to route by. Use `tx.shard(name).raw(...)`. */
  raw(...args: unknown[]): never
}

export function createTransactionHandle(tx: CoreTransaction): ShardedTransaction {
  const base = tx.services.compileClient
  const handle = tableFunction(
    clientRunning(base, (builder) => executeStatement(tx, builder as KnexBuilderInternals, siteOf(builder)), refuseStream),
  ) as ShardedTransaction

  Object.defineProperties(handle, {
    id: { value: tx.id, enumerable: true },
    shards: { get: () => tx.services.shardMap.canonicalOrder(tx.participants), enumerable: true },
    shard: {
      value: function shard(name: string, options: { readOnly?: boolean } = {}): ShardHandle {
        if (!tx.services.shardMap.has(name)) {
          throw new TypeError(`Expected a shard name from ${JSON.stringify(tx.services.shardMap.order)} in tx.shard(), got ${JSON.stringify(name)}`)
        }
        const readOnly = options.readOnly === true
        const client = clientRunning(base, (builder) => executeUnroutedStatement(tx, name, builder, { readOnly, callSite: siteOf(builder) }), refuseStream)
        const shardHandle = tableFunction(client) as ShardHandle
        shardHandle.raw = function raw(sql: string, bindings?: readonly Knex.RawBinding[] | Knex.ValueDict) {
          const r = bindings === undefined ? client.raw(sql) : client.raw(sql, bindings)
          remember(r, new CallSite(raw, 1))
          return r
        } as ShardHandle['raw']
        return shardHandle
      },
    },
    raw: {
      value: () => {
        throw new UnroutableQueryError(
          `tx.raw() has no table to route by. Send raw SQL to a named shard with tx.shard(name).raw(sql, bindings); ` +
            `db.shardOf(table, key) tells which shard holds a key.`,
        )
      },
    },
  })
  return handle
}

/** `(table) => builder` on `client`, remembering the application line that called it. */
function tableFunction(client: KnexClientLike): (table: string) => Knex.QueryBuilder {
  return function table(name: string) {
    const builder = client.queryBuilder()
    remember(builder, new CallSite(table, 1))
    return builder.table(name)
  }
}

const CALL_SITE = Symbol('shardtx.callSite')

function remember(builder: object, site: CallSite): void {
  ;(builder as { [CALL_SITE]?: CallSite })[CALL_SITE] = site
}

function siteOf(builder: unknown): CallSite | undefined {
  return (builder as { [CALL_SITE]?: CallSite } | null)?.[CALL_SITE]
}

function refuseStream(): never {
  throw new UnroutableQueryError(
    'Streaming is not supported through shardtx routing. Stream from one shard with db.shard(name), outside the transaction.',
  )
}
