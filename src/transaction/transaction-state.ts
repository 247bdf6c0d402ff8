import type { CrossShardPolicyName } from '../config/policy-names.js'
import type { RoutedStatement } from '../routing/statement-router.js'
import type { CallSite } from '../shared/call-site.js'
import type { CodeLocation, TransactionFacts } from '../shared/errors.js'
import { nextTransactionId } from '../shared/transaction-id.js'
import type { TransactionOutcome } from '../shared/channels.js'
import type { TransactionServices } from './services.js'
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

  constructor(services: TransactionServices, policy: P, originSite: CallSite, reason: string | undefined) {
    this.id = nextTransactionId()
    this.startedAt = Date.now()
    this.services = services
    this.policy = policy
    this.originSite = originSite
    this.reason = reason
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
    const session = ShardSession.open(shard, this.services.sessionPools.get(shard)!, { implicitBegin: true, observer: this.services.deadlock.sessionObserver(this) })
    session.catch(() => undefined) // observed by whoever awaits it; never an unhandled rejection
    this.#sessions.set(shard, session)
    this.#participants.push(shard)
    return session
  }

  /**
   * Counts `shard` as a participant without opening a session there: for a policy that sends the
   * writes later, in transactions of its own (`split`). Idempotent.
   */
  participateLater(shard: string): void {
    if (!this.#participants.includes(shard)) this.#participants.push(shard)
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
    const shards = this.services.shardMap.canonicalOrder(this.#participants)
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

  /**
   * Publishes and logs this attempt as a multi-shard transaction (see logging/cross-shard-reporter.ts
   * for the levels); key values only with `warnings.logKeyValues`.
   */
  reportCrossShard(outcome: TransactionOutcome, durationMs: number, level: 'warn' | 'debug'): void {
    const keys = this.services.settings.logKeyValues ? Object.fromEntries(this.loggedKeys) : undefined
    this.services.reporter.report({ facts: () => this.facts(), policy: this.policy.name, reason: this.reason, outcome, durationMs, keys }, level)
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
