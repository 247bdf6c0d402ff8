import { closeConnection, wasClosed } from '../health/close-connection.js'
import { shardGuardOf } from '../health/shard-guard.js'
import type { KnexClientLike, RawConnection } from '../knex/client.js'
import { clientOnConnection } from '../knex/derived-clients.js'

/**
 * Told when a session starts and before its connection leaves it: the deadlock detector maps
 * connection ids to transactions with it, and withdraws what it published about a connection
 * before the pool can hand that connection (and its id) to another transaction.
 */
export interface SessionObserver {
  opened(session: ShardSession): void
  /** `true`, or a promise of whether the connection may be reused (false: it is closed instead). */
  releasing(session: ShardSession): true | Promise<boolean>
}

/**
 * One transaction's connection on one shard: a pooled connection inside BEGIN ... COMMIT.
 *
 * shardtx owns this lifecycle instead of using `knex.transaction()` so it knows the connection id
 * (the deadlock detector matches it against the server's lock-wait views) and can discard a
 * connection that a shard killed or dropped instead of returning it to the pool.
 *
 * Builders run on the session through {@link ShardSession.client}: a child of the shard's knex
 * client whose `acquireConnection` always hands out this connection (knex/derived-clients.ts).
 */
export class ShardSession {
  readonly shard: string
  /** Server-side connection id (`CONNECTION_ID()`), as the lock-wait views report it. */
  readonly connectionId: number
  /** A knex client bound to this session's connection. */
  readonly client: KnexClientLike
  readonly #pool: KnexClientLike
  readonly #connection: RawConnection
  #observer: SessionObserver | undefined
  #state: 'open' | 'prepared' | 'committed' | 'rolled back' | 'broken' = 'open'
  /** The XA branch this session runs as (an xid as SQL text), or undefined for a plain transaction. */
  readonly #xid: string | undefined

  private constructor(shard: string, pool: KnexClientLike, connection: RawConnection, observer: SessionObserver | undefined, xid: string | undefined) {
    this.shard = shard
    this.#pool = pool
    this.#connection = connection
    this.#observer = observer
    this.connectionId = connection.threadId
    this.client = clientOnConnection(pool, connection)
    this.#xid = xid
  }

  /**
   * Takes a connection from the shard's pool and starts a transaction on it: with BEGIN, or, with
   * `implicitBegin` on a session pool (autocommit off, see knex/session-pool.ts), implicitly at
   * the first statement. With `xa` (an xid as SQL text, e.g. `'g','b',1`) the transaction is an
   * XA branch instead: `XA START` (allowed with autocommit off as long as nothing ran yet), and
   * {@link prepare}, {@link commit} and {@link rollback} speak XA.
   */
  static async open(
    shard: string,
    pool: KnexClientLike,
    options: { implicitBegin: boolean; observer?: SessionObserver; setupSql?: readonly string[]; xa?: string },
  ): Promise<ShardSession> {
    const connection = (await pool.acquireConnection()) as RawConnection
    const session = new ShardSession(shard, pool, connection, undefined, options.xa)
    // `SET TRANSACTION ...` must precede the transaction it shapes: before BEGIN, or, on a
    // session pool, before the first statement (which starts the transaction implicitly).
    const begin = options.xa !== undefined ? [`XA START ${options.xa}`] : options.implicitBegin ? [] : ['BEGIN']
    const first = [...(options.setupSql ?? []), ...begin]
    try {
      for (const sql of first) await session.#send(sql)
    } catch (err) {
      await session.#discard(err)
      throw err
    }
    session.#observer = options.observer
    options.observer?.opened(session)
    return session
  }

  /**
   * The deadlock detector is about to KILL this connection (its transaction is a victim): from now
   * on it is closed, never returned to the pool, so the KILL cannot reach a connection that
   * another transaction took meanwhile. Statements already running are left alone.
   */
  retire(reason: Error): void {
    this.#connection.__knex__disposed ??= reason
  }

  /**
   * The server's version string from its greeting (e.g. `5.5.5-10.11.19-MariaDB-0+deb12u1`), known
   * without a query; undefined if the driver does not expose it.
   */
  get serverVersion(): string | undefined {
    const version = this.#connection._handshakePacket?.serverVersion
    return typeof version === 'string' ? version : undefined
  }

  get isOpen(): boolean {
    return this.#state === 'open'
  }

  /** The xid (as SQL text) of the XA branch this session runs, or undefined for a plain transaction. */
  get xid(): string | undefined {
    return this.#xid
  }

  /** True once the transaction is over: committed or rolled back by this session (not closed with its outcome unknown). */
  get resolved(): boolean {
    return this.#state === 'committed' || this.#state === 'rolled back'
  }

  /** True once {@link prepare} succeeded and until the branch is committed or rolled back. */
  get isPrepared(): boolean {
    return this.#state === 'prepared'
  }

  /**
   * Phase one of two-phase commit on an XA branch: `XA END`, then `XA PREPARE`. Afterwards the
   * branch survives this connection (MariaDB 10.5+ keeps a prepared branch when its connection
   * ends), so a failure here closes the connection without resolving anything: if PREPARE did
   * reach the server the branch waits, prepared, for recovery.
   */
  async prepare(): Promise<void> {
    if (this.#xid === undefined) throw new Error(`shardtx internal error: prepare() on shard ${this.shard}'s plain transaction`)
    try {
      await this.#send(`XA END ${this.#xid}`)
      await this.#send(`XA PREPARE ${this.#xid}`)
      this.#state = 'prepared'
    } catch (err) {
      await this.#discard(err)
      throw err
    }
  }

  /**
   * Closes the connection of a prepared branch without resolving it: the branch stays prepared on
   * the server, for whoever knows the decision (recovery). The connection could not be reused
   * anyway: a connection holding a prepared branch cannot start another transaction (1399).
   */
  async abandon(reason: Error): Promise<void> {
    if (this.#state === 'open' || this.#state === 'prepared') await this.#discard(reason)
  }

  /**
   * A transaction-control statement on this session (SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO
   * SAVEPOINT), bounded by the shard's guard like every statement. A failure leaves the
   * connection's state unknown: the session is discarded (the server rolls it back).
   */
  async control(sql: string): Promise<void> {
    try {
      await this.#send(sql)
    } catch (err) {
      await this.#discard(err)
      throw err
    }
  }

  /**
   * Commits: `COMMIT`, or for an XA branch `XA COMMIT` once prepared, and `XA END` + `XA COMMIT
   * ... ONE PHASE` before (valid only from the IDLE state, never on a prepared branch).
   */
  async commit(): Promise<void> {
    if (this.#state === 'committed') return // a read session that carried atomic's decision record, committed with it
    try {
      if (this.#xid === undefined) await this.#send('COMMIT')
      else if (this.#state === 'prepared') await this.#send(`XA COMMIT ${this.#xid}`)
      else {
        await this.#send(`XA END ${this.#xid}`)
        await this.#send(`XA COMMIT ${this.#xid} ONE PHASE`)
      }
      this.#state = 'committed'
      await this.#release()
    } catch (err) {
      await this.#discard(err)
      throw err
    }
  }

  /** Rolls back and returns the connection; a connection that cannot roll back is discarded, which rolls it back server-side. */
  async rollback(): Promise<void> {
    if (this.#state !== 'open' && this.#state !== 'prepared') return
    // A connection a guard already closed (shard down, timeout) cannot answer; closing was the
    // rollback (for a prepared XA branch: it is left prepared, and recovery rolls it back).
    if (wasClosed(this.#connection)) return this.#discard(this.#connection.__knex__disposed)
    try {
      if (this.#xid === undefined) await this.#send('ROLLBACK')
      else {
        if (this.#state === 'open') await this.#send(`XA END ${this.#xid}`)
        await this.#send(`XA ROLLBACK ${this.#xid}`)
      }
      this.#state = 'rolled back'
      await this.#release()
    } catch (err) {
      await this.#discard(err)
    }
  }

  /**
   * Closes the socket without a word to the server: the server rolls the transaction back when it
   * notices. Used when the connection's state is unknown (a statement failed mid-flight).
   */
  async #discard(reason: unknown): Promise<void> {
    this.#state = 'broken'
    try {
      closeConnection(this.#connection, reason)
    } finally {
      const observed = this.#releasing()
      if (observed !== true) await observed
      await this.#pool.releaseConnection(this.#connection).catch(() => undefined)
    }
  }

  /** Back to the pool once the observer is done with the connection; closed instead if it says so. */
  async #release(): Promise<void> {
    const observed = this.#releasing()
    if (observed !== true && !(await observed)) {
      closeConnection(this.#connection, new Error('shardtx: connection closed instead of reused (its deadlock-detector ownership row could not be withdrawn)'))
    }
    await this.#pool.releaseConnection(this.#connection)
  }

  /** Tells the observer once, whichever path ends the session. */
  #releasing(): true | Promise<boolean> {
    const observer = this.#observer
    this.#observer = undefined
    return observer === undefined ? true : observer.releasing(this)
  }

  /** BEGIN / COMMIT / ROLLBACK and their XA forms, bounded by the shard's guard like every statement (see health/shard-guard.ts). */
  #send(sql: string): Promise<void> {
    const send = () =>
      new Promise<void>((resolve, reject) => {
        this.#connection.query(sql, (err) => (err ? reject(err) : resolve()))
      })
    const guard = shardGuardOf(this.#pool)
    return guard === undefined ? send() : guard.run(this.#connection, sql, send)
  }
}
