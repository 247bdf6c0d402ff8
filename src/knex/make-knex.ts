// A reference, not an import: the file only declares the untyped knex module below for the compiler.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./types/make-knex.d.ts" />
import type { Knex } from 'knex'
// knex's own constructor of knex instances (and of its transaction objects): not exported by its
// public entry, so it is reached by path. The tested knex range (package.json peerDependencies)
// pins its location; knexOver checks what it returns.
import makeKnex from 'knex/lib/knex-builder/make-knex.js'
import type { KnexClientLike } from './client.js'

/** The parts of a knex instance that {@link knexInstanceOn} relies on; knex internals. */
interface KnexInternals {
  context: Record<string, unknown> & { client: KnexClientLike; queryBuilder(): Knex.QueryBuilder }
  _events?: unknown
  _eventsCount?: number
}

/**
 * A full knex instance over `client`, made the way knex makes its transaction objects
 * (lib/execution/transaction.js calls the same function with its transaction client). Everything
 * knex and the ORMs built on it reach through an instance (`instance(table)`, `select`, `raw`,
 * `fn`, `ref`, `queryBuilder`, `client`) then goes through `client`.
 *
 * @example
 * ```ts
 * const tx = knexOver(routingClient)
 * await tx('accounts').where({ id: 1 }) // runs through routingClient.runner
 * ```
 */
export function knexOver(client: KnexClientLike): Knex {
  const instance = (makeKnex as (client: unknown) => unknown)(client) as Knex & Partial<KnexInternals>
  if (typeof instance !== 'function' || instance.client !== client || typeof instance.context?.queryBuilder !== 'function') {
    throw new Error('shardtx could not build a knex instance over its routing client; this knex version is not supported (install knex >=3.1 <4).')
  }
  return instance
}

/**
 * A knex instance over `client` that inherits everything else from `template` (made once with
 * {@link knexOver}): the same members as a fresh one, for a fraction of the cost. knex's instance
 * maker defines a closure per query-builder method (about 150) and an event emitter per instance;
 * a transaction needs none of them of its own, only its own client, its own context (knex's
 * instance members all read `this.context`, whose methods read `this.client`) and its own event
 * listeners. `onTable` replaces the instance's call form, `instance(table)`.
 *
 * @example
 * ```ts
 * const template = knexOver(templateClient)           // once per ShardedDb
 * const tx = knexInstanceOn(template, routingClient)   // per transaction
 * ```
 */
export function knexInstanceOn(
  template: Knex,
  client: KnexClientLike,
  onTable?: (instance: Knex, table: unknown, options: unknown) => Knex.QueryBuilder,
): Knex {
  const templateContext = (template as unknown as KnexInternals).context
  const instance = function knex(table?: unknown, options?: unknown): Knex.QueryBuilder {
    if (onTable !== undefined) return onTable(instance as unknown as Knex, table, options)
    const builder = context.queryBuilder()
    return table === undefined || table === null ? builder : builder.table(table as string, options as never)
  } as unknown as Knex & KnexInternals
  const context = Object.create(templateContext) as KnexInternals['context']
  context.client = client
  context.userParams = {}
  Object.setPrototypeOf(instance, template)
  instance.context = context
  // Own listeners: an instance inheriting the template's would share them with every transaction.
  instance._events = Object.create(null)
  instance._eventsCount = 0
  return instance
}
