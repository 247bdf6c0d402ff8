import type { CrossShardPolicyName } from '../config/options.js'
import type { CodeLocation, TransactionFacts } from '../shared/errors.js'
import type { CrossShardPolicy } from './policy.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { CallSite } from '../shared/call-site.js'
import type { Runtime } from './services.js'
import { ShardSession } from './shard-session.js'
import { nextTransactionId } from '../shared/transaction-id.js'

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
 * Everything shardtx tracks about one attempt of one `db.transaction()` call.
 *
 * Participation is recorded synchronously, before any await: two statements the callback starts
 * concurrently (`Promise.all`) therefore see each other, and the policy decides on a consistent
 * footprint. A shard's session is stored as a promise for the same reason.
 */
export class TransactionState {
  readonly id: string
  readonly startedAt: number
  readonly policy: CrossShardPolicy
  readonly reason: string | undefined
  readonly runtime: Runtime
  readonly originSite: CallSite
  /** The caller's transaction options, as given (policies validate their own keys). */
  readonly options: Readonly<Record<string, unknown>>
  /** What the previous attempt handed over through RestartAttempt; undefined on a first attempt. */
  readonly carry: unknown
  /** Shards this transaction writes to or holds locks on, in the order they joined. */
  readonly participants: string[] = []
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
    runtime: Runtime,
    policy: CrossShardPolicy,
    originSite: CallSite,
    reason: string | undefined,
    options: Readonly<Record<string, unknown>> = {},
    carry: unknown = undefined,
  ) {
    this.options = options
    this.carry = carry
    this.id = nextTransactionId()
    this.startedAt = Date.now()
    this.runtime = runtime
    this.policy = policy
    this.originSite = originSite
    this.reason = reason
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
    this.#doomed ??= err
    return this.#doomed
  }

  get closed(): boolean {
    return this.#closed
  }

  isParticipant(shard: string): boolean {
    return this.#sessions.has(shard)
  }

  /** The open session on `shard`, if the transaction participates there. */
  sessionOn(shard: string): Promise<ShardSession> | undefined {
    return this.#sessions.get(shard)
  }

  /**
   * Makes the transaction participate in `shard`, asking the policy first. Throws synchronously
   * when the policy refuses, so the statement is never sent.
   */
  join(shard: string, request: JoinRequest): Promise<ShardSession> {
    const existing = this.#sessions.get(shard)
    if (existing) return existing
    this.policy.admit(this, shard, request)
    // The detector learns the session's connection id, and withdraws what it published before release.
    const session = ShardSession.open(shard, this.runtime.sessionPoolOf(shard), this.runtime.deadlock.sessionObserver(this))
    session.catch(() => undefined) // observed by whoever awaits it; never an unhandled rejection
    this.#sessions.set(shard, session)
    this.participants.push(shard)
    return session
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

  /** Participating sessions in canonical shard order. */
  async sessionsInCanonicalOrder(): Promise<ShardSession[]> {
    const shards = this.runtime.canonicalOrder(this.participants)
    return Promise.all(shards.map((s) => this.#sessions.get(s)!))
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

  close(): void {
    this.#closed = true
  }

  facts(): TransactionFacts {
    return {
      transactionId: this.id,
      shards: this.runtime.canonicalOrder(this.participants),
      tables: [...this.tables].sort(),
      origin: this.origin,
    }
  }
}
