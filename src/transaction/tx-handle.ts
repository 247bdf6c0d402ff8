import type { Knex } from 'knex'
import type { ShardKey } from '../config/options.js'
import { isRawStatement, type KnexBuilderInternals } from '../knex/builder-internals.js'
import type { KnexClientLike } from '../knex/client.js'
import { routingClient, routingClients } from '../knex/derived-clients.js'
import { knexInstanceOn, knexOver } from '../knex/make-knex.js'
import { CallSite } from '../shared/call-site.js'
import { ShardtxError, UnroutableQueryError } from '../shared/errors.js'
import type { CoreTransaction } from './policy.js'
import type { HandleTemplate } from './services.js'
import { executeRawStatement, executeStatement, executeUnroutedStatement } from './statement-executor.js'

/** Unrouted access to one shard inside a transaction: raw SQL and builders that bypass routing. */
export interface ShardHandle {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- knex's own signature, so rows are typed as in knex
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
 * The `tx` a `db.transaction()` callback receives: a real knex transaction (`Knex.Transaction`)
 * whose client is shardtx's routing client, so every way knex and the ORMs built on it reach a
 * transaction (`tx('t')`, `tx.select().from()`, `tx.raw()`, `builder.transacting(tx)`,
 * Objection's `Model.query(tx)`) is routed and checked by the policy. See
 * docs/knex-compatibility.md for the whole surface.
 *
 * @example
 * ```ts
 * async function debit(trx: Knex.Transaction, id: number, amount: number) {
 *   await trx('accounts').where({ id }).decrement('balance', amount)
 * }
 * await db.transaction(async (tx) => {
 *   await debit(tx, 42, 10)                                  // a helper typed Knex.Transaction
 *   return tx<Account>('accounts').where({ id: 42 }).first() // Account | undefined
 * })
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- knex's own signature, so rows are typed as in knex
export interface ShardedTransaction<TRecord extends {} = any, TResult = any[]> extends Knex.Transaction<TRecord, TResult> {
  /** shardtx's id of this attempt; it appears in every log event and error. */
  readonly id: string
  /** Shards this transaction has written to or locked rows on, in canonical order. */
  readonly shards: readonly string[]
  /**
   * Unrouted access to one shard. Statements through it count as writes on that shard (the
   * policy applies), unless `readOnly` is set: then they only read, in the transaction's snapshot.
   */
  shard(name: string, options?: { readOnly?: boolean }): ShardHandle
  /**
   * Unrouted access to the shard that holds `key` of `table` (as {@link ShardedTransaction.shard}).
   * @example
   * ```ts
   * await tx.shardFor('accounts', 42).raw('UPDATE accounts SET balance = balance - ? WHERE id = ?', [10, 42])
   * ```
   */
  shardFor(table: string, key: ShardKey, options?: { readOnly?: boolean }): ShardHandle
  /** Not available in a transaction: DDL commits implicitly on MySQL. Use `db.shard(name).schema` or `db.migrate`. */
  readonly schema: never
  /** Not available in a transaction. Use `db.migrate` (every shard) or `db.shard(name).migrate`. */
  readonly migrate: never
  /** Not available in a transaction. Seed each shard through `db.shard(name).seed`. */
  readonly seed: never
  /** Not available: the transaction owns no pool. `db.destroy()` closes every pool. */
  destroy: never
  /** Not available: the transaction owns no pool. */
  initialize: never
  /** Not available on a transaction (knex refuses it too). */
  withUserParams: never
}

/** How a handle ends its transaction (or savepoint): knex's `commit`, `rollback`, `isCompleted`, `executionPromise`. */
export interface HandleControl {
  commit(value?: unknown): Promise<void>
  rollback(error?: unknown): Promise<void>
  isCompleted(): boolean
  readonly executionPromise: Promise<unknown>
}

/** Opens a savepoint of `tx` (knex's nested `trx.transaction()` / `trx.savepoint()`); see savepoints.ts. */
export type SavepointOpener = (container: unknown, config: unknown) => Promise<unknown>

/**
 * Builds the knex transaction object of one attempt: knex's own instance maker over a routing
 * client (knex/make-knex.ts, knex/derived-clients.ts), plus shardtx's members and knex's
 * transaction members wired to `control`.
 *
 * @example
 * ```ts
 * const handle = createTransactionHandle(tx, control, (container, config) => openSavepoint(tx, container, config))
 * await fn(handle)
 * ```
 */
export function createTransactionHandle(tx: CoreTransaction, control: HandleControl, savepoint: SavepointOpener): ShardedTransaction {
  const template = tx.services.handleTemplate
  const handle = knexInstanceOn(template.knex, template.routed.derive(tx), template.onTable) as unknown as ShardedTransaction & HandleInternals
  handle.context.transaction = savepoint
  // One own property for the attempt; every member reads it (defined once, on the template).
  handle[HANDLE] = { tx, control, savepoint }
  return handle
}

/** A statement awaited on a transaction's routing client: raw SQL on its own, or a builder. */
function routeStatement(tx: CoreTransaction, statement: unknown): Promise<unknown> {
  return isRawStatement(statement)
    ? executeRawStatement(tx, statement, siteOf(statement))
    : executeStatement(tx, statement as KnexBuilderInternals, siteOf(statement))
}

const HANDLE = Symbol('shardtx.transactionHandle')

/** What a transaction object carries of its own: its attempt, how it ends, how it opens savepoints. */
interface HandleInternals {
  context: Record<string, unknown>
  [HANDLE]: { tx: CoreTransaction; control: HandleControl; savepoint: SavepointOpener }
}

/** The attempt behind a transaction object; a member called on something else is a misuse. */
function stateOf(handle: unknown): HandleInternals[typeof HANDLE] {
  const state = (handle as Partial<HandleInternals> | null)?.[HANDLE]
  if (state === undefined)
    throw new TypeError('Expected a shardtx transaction object as `this`: call the member on the transaction (tx.commit()), not detached from it.')
  return state
}

/** Where the statements of a `tx.shard(name)` handle go. */
interface UnroutedTarget {
  tx: CoreTransaction
  shard: string
  readOnly: boolean
}

/**
 * What every transaction object inherits (made once per ShardedDb, see knex/make-knex.ts): knex's
 * instance members, shardtx's and knex's transaction members (each reading the attempt of the
 * object it is called on), and the refusals of members a sharded transaction does not have. A
 * transaction then costs one small function, a context, a client and one property, not a closure
 * a member.
 *
 * @example
 * ```ts
 * const services = { ...parts, handleTemplate: createHandleTemplate(compileClient) }
 * ```
 */
export function createHandleTemplate(compileClient: KnexClientLike): HandleTemplate {
  const routed = routingClients(compileClient, routeStatement, refuse)
  const { onTable } = rememberCallSites(routed.prototype)
  const unrouted = routingClients(
    compileClient,
    (target: UnroutedTarget, builder) => executeUnroutedStatement(target.tx, target.shard, builder, { readOnly: target.readOnly, callSite: siteOf(builder) }),
    refuse,
  )
  rememberCallSites(unrouted.prototype)
  const template = knexOver(
    routingClient(compileClient, () => Promise.reject(new Error('shardtx internal error: the transaction template ran a statement')), refuse),
  )
  const context = (template as unknown as { context: Record<string, unknown> }).context
  rememberRawCallSites(context)
  context.destroy = () => refuse('tx.destroy(); db.destroy() closes every pool')
  context.initialize = () => refuse('tx.initialize()')
  context.withUserParams = () => refuse('tx.withUserParams()')
  const shardHandle = (tx: CoreTransaction, name: string, options: { readOnly?: boolean } = {}) => unroutedHandle(tx, name, options.readOnly === true)
  Object.defineProperties(template, {
    isTransaction: { value: true },
    id: {
      get: function (this: unknown) {
        return stateOf(this).tx.id
      },
      enumerable: true,
    },
    shards: {
      get: function (this: unknown) {
        const { tx } = stateOf(this)
        return tx.services.shardMap.canonicalOrder(tx.participants)
      },
      enumerable: true,
    },
    executionPromise: {
      get: function (this: unknown) {
        return stateOf(this).control.executionPromise
      },
    },
    commit: {
      value: function commit(this: unknown, value?: unknown) {
        return stateOf(this).control.commit(value)
      },
    },
    rollback: {
      value: function rollback(this: unknown, error?: unknown) {
        return stateOf(this).control.rollback(error)
      },
    },
    isCompleted: {
      value: function isCompleted(this: unknown) {
        return stateOf(this).control.isCompleted()
      },
    },
    savepoint: {
      value: function savepoint(this: unknown, container: unknown, config: unknown) {
        return stateOf(this).savepoint(container, config)
      },
    },
    shard: {
      value: function shard(this: unknown, name: string, options?: { readOnly?: boolean }) {
        return shardHandle(stateOf(this).tx, name, options)
      },
    },
    shardFor: {
      value: function shardFor(this: unknown, table: string, key: ShardKey, options?: { readOnly?: boolean }) {
        const { tx } = stateOf(this)
        return shardHandle(tx, tx.services.router.shardOf(table, key), options)
      },
    },
    schema: { get: () => refuse('tx.schema (DDL commits implicitly on MySQL); use db.shard(name).schema or db.migrate') },
    migrate: { get: () => refuse('tx.migrate; use db.migrate or db.shard(name).migrate') },
    seed: { get: () => refuse('tx.seed; seed each shard through db.shard(name).seed') },
  })
  return { knex: template, routed, unrouted, onTable }
}

/** `tx.shard(name)`: builders and raw SQL on one named shard, unrouted. */
function unroutedHandle(tx: CoreTransaction, name: string, readOnly: boolean): ShardHandle {
  if (!tx.services.shardMap.has(name)) {
    throw new TypeError(`Expected a shard name from ${JSON.stringify(tx.services.shardMap.order)} in tx.shard(), got ${JSON.stringify(name)}`)
  }
  const client = tx.services.handleTemplate.unrouted.derive({ tx, shard: name, readOnly })
  const handle = function table(table: string) {
    return client.queryBuilder().table(table)
  } as ShardHandle
  handle.raw = function raw(sql: string, bindings?: readonly Knex.RawBinding[] | Knex.ValueDict) {
    return withSite(bindings === undefined ? client.raw(sql) : client.raw(sql, bindings), raw, 1)
  } as ShardHandle['raw']
  return handle
}

const CALL_SITE = Symbol('shardtx.callSite')

/**
 * Frames kept above the routing client's `queryBuilder`/`raw`: knex's instance member, its
 * context method and its query-builder helper sit between them and the application's line, and
 * `firstUserFrame` skips them. `tx(table)` needs one frame: it is captured at the instance itself.
 */
const CALL_SITE_FRAMES = 5

/**
 * Every builder made on `client` remembers the application line that made it.
 * `onTable` is the instance's call form (`tx(table)`, see knex/make-knex.ts), which captures the
 * line with one frame instead of five: capturing is the largest per-statement cost in the
 * overhead profile (bench/RESULTS.md).
 *
 * Raw statements are not captured here: knex's compiler makes raws of its own while it compiles
 * (`increment()` becomes `` `n` + ? ``), in a microtask with no application frame to find, and
 * those captures were a third of a counter statement's cost. A raw that runs on its own is made
 * through an instance's or handle's `raw`, which {@link rememberRawCallSites} covers.
 */
export function rememberCallSites(client: KnexClientLike): { onTable: (instance: Knex, table: unknown, options: unknown) => Knex.QueryBuilder } {
  const makeBuilder = client.queryBuilder
  let captured = false
  client.queryBuilder = function queryBuilder(this: KnexClientLike) {
    const builder = makeBuilder.call(this)
    return captured ? builder : withSite(builder, queryBuilder, CALL_SITE_FRAMES)
  }
  return {
    onTable(instance, table, options) {
      captured = true
      let builder: Knex.QueryBuilder
      try {
        // The instance's own client (derived from `client`), which carries the transaction.
        builder = (instance as unknown as { client: KnexClientLike }).client.queryBuilder()
      } finally {
        captured = false
      }
      withSite(builder, instance as unknown as (...args: never[]) => unknown, 1)
      return table === undefined || table === null ? builder : builder.table(table as string, options as never)
    },
  }
}

/**
 * The `raw` of a knex instance context (knex/make-knex.ts), remembering the application line that
 * called it: `tx.raw(...)` and `db.knex.raw(...)` reach it through knex's one-line instance
 * member, so two frames reach the caller.
 *
 * @example
 * ```ts
 * rememberRawCallSites(template.context)
 * siteOf(tx.raw('select 1'))?.location // the line that called tx.raw
 * ```
 */
export function rememberRawCallSites(context: Record<string, unknown>): void {
  context.raw = function raw(this: { client: KnexClientLike }, ...args: unknown[]) {
    return withSite((this.client.raw as (...a: unknown[]) => Knex.Raw).apply(this.client, args), raw, 2)
  }
}

/** Remembers on `statement` the application line `frames` frames above `boundary`. */
function withSite<T>(statement: T, boundary: (...args: never[]) => unknown, frames: number): T {
  ;(statement as { [CALL_SITE]?: CallSite })[CALL_SITE] = new CallSite(boundary, frames)
  return statement
}

/** The application line that made `statement` on a client prepared by {@link rememberCallSites}. */
export function siteOf(statement: unknown): CallSite | undefined {
  return (statement as { [CALL_SITE]?: CallSite } | null)?.[CALL_SITE]
}

/** The error for a knex member shardtx does not offer on a routed instance, naming what to use instead. */
export function refuse(what: string): never {
  if (what === 'stream()' || what === 'pipe()') {
    throw new UnroutableQueryError(
      `Streaming (${what}) is not supported through shardtx routing. Stream from one shard with db.shard(name), outside the transaction.`,
    )
  }
  throw new ShardtxError('SHARDTX_UNSUPPORTED', `${what} is not available through shardtx. See docs/knex-compatibility.md.`)
}
