// A reference, not an import: the file only declares the untyped knex module below for the compiler.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./types/make-knex.d.ts" />
import type { Knex } from 'knex'
// knex's own constructor of knex instances (and of its transaction objects): not exported by its
// public entry, so it is reached by path. The tested knex range (package.json peerDependencies)
// pins its location; knexOver checks what it returns.
import makeKnex from 'knex/lib/knex-builder/make-knex.js'
import type { KnexClientLike } from './client.js'

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
  const instance = (makeKnex as (client: unknown) => unknown)(client) as Knex
  if (typeof instance !== 'function' || (instance as unknown as { client?: unknown }).client !== client) {
    throw new Error('shardtx could not build a knex instance over its routing client; this knex version is not supported (install knex >=3.1 <4).')
  }
  return instance
}
