import { isMariaDbVersion } from '../../deadlock/server-flavor.js'
import type { KnexClientLike } from '../../knex/client.js'
import { clientWithStatementPrefix } from '../../knex/derived-clients.js'
import type { ShardSession } from '../shard-session.js'
import { executeOnShard } from '../statement-executor.js'
import type { TransactionState } from '../transaction-state.js'

/**
 * MariaDB's per-statement variable override (10.1+). With a lock wait timeout of 0 (allowed since
 * 10.3), a statement that would wait for a lock fails at once with 1205 instead. Measured on
 * 10.11: the error arrives immediately, and only the statement is rolled back.
 * MySQL has no equivalent for this variable (its SET_VAR hint does not accept InnoDB variables;
 * Percona Server's extension does), so there such statements cannot be sent (docs/ordered.md, limits).
 */
const NO_WAIT_PREFIX = 'SET STATEMENT innodb_lock_wait_timeout=0 FOR '

/**
 * Whether each shard's server takes MariaDB's no-wait form, and the no-wait clients of sessions.
 * One per ShardedDb (the `ordered` policy's). Learned from the server's greeting on the
 * transaction's own session (no query), or, if the driver does not expose it, with
 * `SELECT VERSION()` on that session: never another pooled connection while holding locks. One
 * entry per shard, so no bound beyond the shard map is needed; the clients go with their sessions.
 *
 * @example
 * ```ts
 * const noWait = new NoWaitSupport()
 * const client = (await noWait.learn(tx, shard)) ? noWait.clientOf(session) : session.client
 * ```
 */
export class NoWaitSupport {
  readonly #flavours = new Map<string, boolean>()
  readonly #clients = new WeakMap<ShardSession, KnexClientLike>()

  /**
   * What is known, without asking, about whether `shard` takes the no-wait form: true or false
   * once any `ordered` statement ran there, undefined before. The policy plans statements
   * synchronously and only relies on what is already known.
   */
  known(shard: string): boolean | undefined {
    return this.#flavours.get(shard)
  }

  /** Whether `shard` takes the no-wait form, learning it on the transaction's session if needed. */
  async learn(tx: TransactionState, shard: string): Promise<boolean> {
    const known = this.#flavours.get(shard)
    if (known !== undefined) return known
    const session = await tx.sessionOn(shard)
    let version = session?.serverVersion
    if (version === undefined) {
      const [rows] = (await executeOnShard(tx, shard, tx.services.compileClient.raw('SELECT VERSION() AS version'), {
        readOnly: false,
        callSite: undefined,
      })) as [{ version: string }[]]
      version = String(rows[0]?.version)
    }
    const answer = isMariaDbVersion(version)
    this.#flavours.set(shard, answer)
    return answer
  }

  /**
   * A client for `session` whose statements carry the no-wait prefix: the session's own
   * connection and health guard, knex's `_query` hook prepending the prefix, so the builder is
   * neither cloned nor wrapped and results keep knex's shape. Deriving an object from the builder
   * per statement was measurable (bench/RESULTS.md: ~70 us of Node CPU per transfer); the client
   * is derived once per session.
   *
   * @example
   * ```ts
   * await executeOnShard(tx, shard, builder, { readOnly: false, callSite, clientFor: (s) => noWait.clientOf(s) })
   * // sends: SET STATEMENT innodb_lock_wait_timeout=0 FOR update `accounts` set ...
   * ```
   */
  clientOf(session: ShardSession): KnexClientLike {
    let client = this.#clients.get(session)
    if (client === undefined) this.#clients.set(session, (client = clientWithStatementPrefix(session.client, NO_WAIT_PREFIX)))
    return client
  }
}
