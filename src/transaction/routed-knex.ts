import type { Knex } from 'knex'
import type { KnexClientLike } from '../knex/client.js'
import { routingClient } from '../knex/derived-clients.js'
import { knexOver } from '../knex/make-knex.js'
import type { CallSite } from '../shared/call-site.js'
import { refuse, rememberCallSites, rememberRawCallSites, siteOf, type ShardedTransaction } from './tx-handle.js'

/** How the routed instance runs things: a statement as a transaction of its own, and knex's `transaction()`. */
export interface RoutedKnexRunner {
  /** Runs `statement` alone, as a one-statement transaction under the database-wide policy. */
  statement(statement: unknown, origin: CallSite | undefined): Promise<unknown>
  /** knex's `instance.transaction(container?, config?)`: `db.transaction` with knex's overloads. */
  transaction(container: unknown, config: unknown): Promise<unknown>
}

/**
 * The routed knex instance of a ShardedDb (`db.knex`), for code that runs statements outside a
 * transaction and for ORMs that want a knex instance at start-up (`Model.knex(db.knex)`). Each
 * awaited statement is routed like one inside a transaction, and runs as a transaction of its
 * own under the database-wide policy, so a statement whose rows span shards is refused or warned
 * about exactly as inside `db.transaction`. `db.knex.transaction(...)` is `db.transaction(...)`.
 *
 * @example
 * ```ts
 * const row = await db.knex('accounts').where({ id: 42 }).first()
 * await db.knex.transaction(async (trx) => trx('accounts').where({ id: 42 }).increment('balance', 1))
 * ```
 */
export function createRoutedKnex(compileClient: KnexClientLike, runner: RoutedKnexRunner): Knex {
  const client = routingClient(compileClient, (statement) => runner.statement(statement, siteOf(statement)), refuse)
  rememberCallSites(client)
  const instance = knexOver(client) as Knex & { context: Record<string, unknown> }
  rememberRawCallSites(instance.context)
  instance.context.transaction = (container: unknown, config: unknown) => runner.transaction(container, config)
  instance.context.destroy = () => refuse('destroy() on db.knex; db.destroy() closes every pool')
  instance.context.initialize = () => refuse('initialize() on db.knex')
  Object.defineProperties(instance, {
    schema: { get: () => refuse('schema on db.knex (DDL has no shard to route by); use db.shard(name).schema or db.migrate') },
    migrate: { get: () => refuse('migrate on db.knex; use db.migrate or db.shard(name).migrate') },
    seed: { get: () => refuse('seed on db.knex; seed each shard through db.shard(name).seed') },
  })
  return instance
}

export type { ShardedTransaction }
