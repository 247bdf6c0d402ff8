import type { KnexClientLike } from '../knex/client.js'
import { clientWithHooks } from '../knex/derived-clients.js'
import type { ShardGuard } from './shard-guard.js'

const GUARD = Symbol('shardtx.shardGuard')

/**
 * A copy of a shard's knex client (prototype chain, the trick knex's own transactions use) whose
 * `acquireConnection` and `_query` go through `guard`. Everything derived from it with
 * `Object.create` (the session clients of ShardSession, routed reads) inherits both, so every
 * statement shardtx sends to the shard is bounded, whichever path sent it.
 *
 * `_query` is a knex internal; knex/derived-clients.ts checks it, so a knex without it fails at
 * start-up rather than running statements unguarded.
 *
 * @example
 * ```ts
 * const pool = guardClient(clientOf(knexForShard), guard)
 * await pool.runner(builder).run()   // acquire and statement both bounded by the guard
 * ```
 */
export function guardClient(client: KnexClientLike, guard: ShardGuard): KnexClientLike {
  const guarded = clientWithHooks(client, {
    acquire: (acquire) => guard.acquire(acquire, (connection) => client.releaseConnection(connection)),
    query: (connection, obj, send) => guard.run(connection, statementLabel(obj), send),
  }) as KnexClientLike & { [GUARD]: ShardGuard }
  guarded[GUARD] = guard
  return guarded
}

/** The guard of a client made by {@link guardClient} (or derived from one); undefined otherwise. */
export function shardGuardOf(client: unknown): ShardGuard | undefined {
  return (client as { [GUARD]?: ShardGuard } | null)?.[GUARD]
}

const LABELS: Readonly<Record<string, string>> = {
  select: 'SELECT',
  first: 'SELECT',
  pluck: 'SELECT',
  insert: 'INSERT',
  upsert: 'INSERT',
  update: 'UPDATE',
  counter: 'UPDATE',
  del: 'DELETE',
  raw: 'raw statement',
}

/** A label for messages: the statement's kind, never its SQL or values. */
function statementLabel(obj: { method?: string } | string): string {
  const method = typeof obj === 'object' && obj !== null ? obj.method : undefined
  return (method !== undefined && LABELS[method]) || 'statement'
}
