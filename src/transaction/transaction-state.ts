import type { CrossShardPolicyName } from '../config/policy-names.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { CallSite } from '../shared/call-site.js'
import { ShardtxError, formatLocation, type CodeLocation, type TransactionFacts } from '../shared/errors.js'
import { nextTransactionId } from '../shared/transaction-id.js'
import type { TransactionOutcome } from '../shared/channels.js'
import type { TransactionServices } from './services.js'
import { RestartAttempt } from './restart-attempt.js'
import { ShardSession } from './shard-session.js'

/** At most this many key values per shard appear in one warning. */
const MAX_LOGGED_KEYS_PER_SHARD = 20

/** A statement about to make the transaction participate in a shard. */
export interface JoinRequest {
  /** Undefined for statements sent through `tx.shard(name)`, which are not routed. */
  statement: RoutedStatement | undefined
  table: string | undefined
  callSite: CallSite | undefined
}

/**
 * What the transaction's own methods call on its policy. The full interface, with the hooks the
 * executor calls, is policy.ts's `CrossShardPolicy`, which extends this one; declaring the slice
 * here keeps the two files from importing each other.
 */
export interface AttemptPolicy<A> {
  readonly name: CrossShardPolicyName
  begin(tx: TransactionState<A>, options: unknown, carry: unknown): A | Promise<A>
  admit(tx: TransactionState<A>, shard: string, request: JoinRequest): void
  /**
   * Called synchronously as a session opens on `shard` (for a participant or a read): an xid (as
   * SQL text) makes the session an XA branch (`atomic`); undefined, a plain transaction.
   */
  xaBranch?(tx: TransactionState<A>, shard: string): string | undefined
}

/**
 * Everything shardtx tracks about one attempt of one `db.transaction()` call. `A` is the policy's
 * state for the attempt (the policy's `begin` returns it; `tx.attempt` carries it); `P` is the
 * policy's type as the holder of the state knows it.
 *
 * Participation is recorded synchronously, before any await: two statements the callback starts
 * concurrently (`Promise.all`) therefore see each other, and the policy decides on a consistent
 * footprint. A shard's session is stored as a promise for the same reason.
 *
 * @example
 * ```ts
 * const tx = new TransactionState(services, policy, new CallSite(db.transaction), undefined)
 * await tx.begin(options, undefined)
 * ```
 */
export class TransactionState<A = unknown, P extends AttemptPolicy<A> = AttemptPolicy<A>> {
  readonly id: string
  readonly startedAt: number
  readonly policy: P
  readonly reason: string | undefined
  readonly services: TransactionServices
  readonly originSite: CallSite
  /** Shards this transaction writes to or holds locks on, in the order they joined. */
  readonly #participants: string[] = []
  /** Participants with a session of their own (every participant but split's, which writes later). */
  readonly #joined = new Set<string>()
  /** `SET TRANSACTION ...` for every new session (isolation level, read only); empty by default. */
  readonly #sessionSetup: readonly string[]
  readonly #savepoints: string[] = []
  #savepointCount = 0
  /** False without a callback to run again (`await db.transaction()`): a policy restart is then an error. */
  readonly #canRestart: boolean
  #attempt: A | undefined
  #begun = false
  /** Tables touched by any statement, reads included. */
  readonly tables = new Set<string>()
  /**
   * Key values written or locked, by shard; filled only with `warnings.logKeyValues`, because keys
   * are often customer identifiers. Bounded per shard so a huge batch cannot grow a log line unboundedly.
   */
  readonly loggedKeys = new Map<string, string[]>()
  readonly #sessions = new Map<string, Promise<ShardSession>>()
  readonly #inFlight = new Set<Promise<unknown>>()
  #doomed: Error | undefined
  #closed = false

  constructor(
    services: TransactionServices,
    policy: P,
    originSite: CallSite,
    reason: string | undefined,
    options: { sessionSetup?: readonly string[]; canRestart?: boolean } = {},
  ) {
    this.#sessionSetup = options.sessionSetup ?? []
    this.#canRestart = options.canRestart ?? true
    this.id = nextTransactionId()
    this.startedAt = Date.now()
    this.services = services
    this.policy = policy
    this.originSite = originSite
    this.reason = reason
  }

  /** True for a `readOnly` transaction (every session runs `SET TRANSACTION ... READ ONLY`). */
  get readOnly(): boolean {
    return this.#sessionSetup.some((sql) => /\bREAD ONLY\b/.test(sql))
  }

  /** Starts the attempt under its policy: the state `begin` returns is {@link attempt} from then on. */
  async begin(options: unknown, carry: unknown): Promise<void> {
    const state = this.policy.begin(this, options, carry)
    this.#attempt = state instanceof Promise ? await state : state
    this.#begun = true
  }

  /** The policy's state for this attempt. Throws before {@link begin} finished: a hook ran too early. */
  get attempt(): A {
    if (!this.#begun) throw new Error(`shardtx internal error: transaction ${this.id} used its policy state before begin()`)
    return this.#attempt as A
  }

  /** Whether {@link begin} finished, so {@link attempt} can be read (a policy's `finished` runs either way). */
  get begun(): boolean {
    return this.#begun
  }

  /** Shards this transaction writes to or holds locks on, in the order they joined. */
  get participants(): readonly string[] {
    return this.#participants
  }

  get policyName(): CrossShardPolicyName {
    return this.policy.name
  }

  get origin(): CodeLocation | undefined {
    return this.originSite.location
  }

  /** An error that has already decided this transaction's fate: it will roll back and rethrow it. */
  get doomed(): Error | undefined {
    return this.#doomed
  }

  doom(err: Error): Error {
    this.#doomed ??= err instanceof RestartAttempt && !this.#canRestart ? cannotRestart(this, err) : err
    return this.#doomed
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Whether the transaction writes to or holds locks on `shard` (reads do not count). */
  isParticipant(shard: string): boolean {
    return this.#joined.has(shard)
  }

  /** The open session on `shard` (a participant's, or one opened by a read), if any. */
  sessionOn(shard: string): Promise<ShardSession> | undefined {
    return this.#sessions.get(shard)
  }

  /**
   * Makes the transaction participate in `shard`, asking the policy first. Throws synchronously
   * when the policy refuses, so the statement is never sent. A session a read already opened
   * there is reused: the transaction keeps its snapshot.
   */
  join(shard: string, request: JoinRequest): Promise<ShardSession> {
    if (this.#joined.has(shard)) return this.#sessions.get(shard)!
    this.policy.admit(this, shard, request)
    const session = this.#sessions.get(shard) ?? this.#open(shard)
    this.#joined.add(shard)
    this.#participants.push(shard)
    return session
  }

  /**
   * The session plain reads of `shard` run on, opened on first use: once a transaction has read a
   * shard, its later reads there see the same snapshot, as in one database. Reading takes no lock
   * and does not make the shard a participant (the policy is not asked).
   */
  readSession(shard: string): Promise<ShardSession> {
    return this.#sessions.get(shard) ?? this.#open(shard)
  }

  #open(shard: string): Promise<ShardSession> {
    // Statements each new session runs first: the transaction's characteristics, then every
    // savepoint still open, so rolling back to one also undoes what this shard did after it.
    const setup = [...this.#sessionSetup, ...this.#savepoints.map((name) => `SAVEPOINT ${name}`)]
    // The detector learns the session's connection id, and withdraws what it published before release.
    const session = ShardSession.open(shard, this.services.sessionPools.get(shard)!, {
      implicitBegin: true,
      observer: this.services.deadlock.sessionObserver(this),
      setupSql: setup,
      xa: this.policy.xaBranch?.(this, shard),
    })
    session.catch(() => undefined) // observed by whoever awaits it; never an unhandled rejection
    this.#sessions.set(shard, session)
    return session
  }

  /**
   * Counts `shard` as a participant without opening a session there: for a policy that sends the
   * writes later, in transactions of its own (`split`). Idempotent.
   */
  participateLater(shard: string): void {
    if (!this.#participants.includes(shard)) this.#participants.push(shard)
  }

  /** A savepoint name unique within this attempt (an identifier: it is spliced into SQL). */
  nextSavepointName(): string {
    return `shardtx_sp_${++this.#savepointCount}`
  }

  /** Open savepoints, outermost first (see transaction/savepoints.ts). */
  get savepoints(): readonly string[] {
    return this.#savepoints
  }

  /** Sends `sql` to every open session, in canonical shard order (SAVEPOINT, RELEASE, ROLLBACK TO). */
  async sendToEverySession(sql: string): Promise<void> {
    for (const shard of this.services.shardMap.canonicalOrder(this.#sessions.keys())) {
      const session = await this.#sessions.get(shard)!
      await session.control(sql)
    }
  }

  /** Opens savepoint `name` on every session now and on every session opened while it is open. */
  async openSavepoint(name: string): Promise<void> {
    const sessions = this.sendToEverySession(`SAVEPOINT ${name}`)
    this.#savepoints.push(name)
    await sessions
  }

  /** Forgets savepoint `name` and those opened inside it (after RELEASE or a rollback to it). */
  closeSavepoint(name: string): void {
    const at = this.#savepoints.indexOf(name)
    if (at >= 0) this.#savepoints.length = at
  }

  /** Runs `work` and remembers it until it settles, so commit can wait for statements the callback did not await. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work)
    const forget = () => this.#inFlight.delete(work)
    work.then(forget, forget)
    return work
  }

  async settleInFlight(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
  }

  /** Every session opened so far, participants and reads, by shard (each settles once opened or failed). */
  get sessions(): ReadonlyMap<string, Promise<ShardSession>> {
    return this.#sessions
  }

  /** Participating sessions in canonical shard order. */
  async sessionsInCanonicalOrder(): Promise<ShardSession[]> {
    const shards = this.services.shardMap.canonicalOrder(this.#joined)
    return Promise.all(shards.map((s) => this.#sessions.get(s)!))
  }

  /**
   * Ends the sessions only reads opened (after the policy committed the participants; `split`
   * calls it before its parts run): they hold no locks and wrote nothing, so COMMIT only ends
   * their snapshot and returns the connection. Calling it again does nothing more (a committed
   * session's commit returns at once).
   */
  async endReadSessions(): Promise<void> {
    if (this.#sessions.size === this.#joined.size) return // nothing but participants: nothing to do, no await
    const reads = [...this.#sessions].filter(([shard]) => !this.#joined.has(shard)).map(([, session]) => session)
    const opened = await Promise.allSettled(reads)
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.commit() : undefined)))
  }

  /** Rolls back every shard that opened; shards that failed to open need nothing. */
  async rollbackAll(): Promise<void> {
    const opened = await Promise.allSettled(this.#sessions.values())
    await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.rollback() : undefined)))
  }

  /** Remembers key values for the cross-shard warning (only called when the user opted in). */
  recordKeys(keysByShard: ReadonlyMap<string, readonly unknown[]>): void {
    for (const [shard, keys] of keysByShard) {
      const list = this.loggedKeys.get(shard) ?? []
      for (const key of keys) if (list.length < MAX_LOGGED_KEYS_PER_SHARD) list.push(String(key))
      this.loggedKeys.set(shard, list)
    }
  }

  /**
   * Publishes and logs this attempt as a multi-shard transaction (see logging/cross-shard-reporter.ts
   * for the levels); key values only with `warnings.logKeyValues`.
   */
  reportCrossShard(outcome: TransactionOutcome, durationMs: number, level: 'warn' | 'debug'): void {
    const keys = this.services.settings.logKeyValues ? Object.fromEntries(this.loggedKeys) : undefined
    this.services.reporter.report(
      { facts: () => this.facts(), callers: () => this.originSite.callers, policy: this.policy.name, reason: this.reason, outcome, durationMs, keys },
      level,
    )
  }

  close(): void {
    this.#closed = true
  }

  facts(): TransactionFacts {
    return {
      transactionId: this.id,
      shards: this.services.shardMap.canonicalOrder(this.#participants),
      tables: [...this.tables].sort(),
      origin: this.origin,
    }
  }
}

/** What a policy restart becomes in a transaction that has no callback to run again. */
function cannotRestart(tx: TransactionState<unknown, AttemptPolicy<unknown>>, restart: RestartAttempt): Error {
  return new ShardtxError(
    'SHARDTX_RESTART_UNAVAILABLE',
    `Transaction ${tx.id} (opened at ${formatLocation(tx.origin)}) under crossShard: '${tx.policy.name}' would have to start again (${restart.message}), ` +
      `but it was opened without a callback (await db.transaction()), so there is nothing to run again; it has been rolled back. ` +
      `Use the callback form db.transaction(async (tx) => ...), or declare the rows up front with { lock: { table: [keys] } }.`,
  )
}
