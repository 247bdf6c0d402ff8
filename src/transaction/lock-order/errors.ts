import { TransactionError, formatLocation, type TransactionFacts } from '../../shared/errors.js'

/** One restart of an `ordered` or `atomic` transaction: the statement that could not run in canonical order. */
export interface LockRestart {
  /** The attempt the statement belonged to: 1 for the first run of the callback. */
  attempt: number
  /** Table of the statement (`(raw SQL via tx.shard)` for unrouted statements). */
  table: string
  /** The shard it reached for. */
  shard: string
  /** The higher-ranked shard the transaction already held locks on. */
  above: string
  /**
   * `rows`: rows on `shard` outside the lock set, with no way to try them without waiting (MySQL);
   * `busy`: such rows, tried without waiting, were locked by another transaction;
   * `session`: no session on `shard` yet, and no free pooled connection to open one without waiting.
   */
  cause: 'rows' | 'busy' | 'session'
}

/**
 * How a restart reads in messages: `rows of accounts on shard -80`, `rows of accounts on shard -80
 * (locked by another transaction)`, `a session on shard -80 (ledger)`.
 *
 * @example
 * ```ts
 * describeReach({ table: 'accounts', shard: '-80', cause: 'busy' }) // 'rows of accounts on shard -80 (locked by another transaction)'
 * ```
 */
export function describeReach(r: Pick<LockRestart, 'table' | 'shard' | 'cause'>): string {
  if (r.cause === 'session') return `a session on shard ${r.shard} (${r.table})`
  return `rows of ${r.table} on shard ${r.shard}${r.cause === 'busy' ? ' (locked by another transaction)' : ''}`
}

/**
 * An `ordered` (or `atomic`) transaction kept reaching, attempt after attempt, for rows it had not locked on a
 * shard ranked below one it held, more often than `maxLockRestarts` allows. Nothing was
 * committed. Its lock set does not settle (which rows it touches depends on what it reads, on
 * time or on chance); declare the rows with the `lock` option.
 *
 * @example
 * ```ts
 * await db.transaction(fn, { crossShard: 'ordered' }).catch((err) => {
 *   if (err.code === 'SHARDTX_LOCK_SET_UNSTABLE') console.error(err.restarts) // [{ table, shard, above, cause }, ...]
 * })
 * ```
 */
export class LockSetUnstableError extends TransactionError {
  override readonly name = 'LockSetUnstableError'
  /** What made each attempt restart, oldest first, and last the restart that was refused (at most the last 10). */
  readonly restarts: readonly LockRestart[]

  constructor(facts: TransactionFacts, restarts: readonly LockRestart[], maxLockRestarts: number, policy: 'ordered' | 'atomic' = 'ordered') {
    const tables = [...new Set(restarts.map((r) => r.table))]
    super(
      'SHARDTX_LOCK_SET_UNSTABLE',
      `Transaction ${facts.transactionId} (opened at ${formatLocation(facts.origin)}) under crossShard: '${policy}' still reached ` +
        `out of canonical shard order after ${maxLockRestarts} restart${maxLockRestarts === 1 ? '' : 's'} (maxLockRestarts): ` +
        restarts.map(describeRestart).join('; ') +
        `. Each restart locked what the previous attempt touched or found busy, in canonical order, yet the next attempt reached for something else: ` +
        `the rows this transaction locks change from attempt to attempt (they depend on what it reads, on time or on chance). ` +
        `Nothing was committed. To fix: declare the rows up front, db.transaction(fn, { crossShard: '${policy}', ` +
        `lock: { ${
          tables
            .filter((t) => !t.startsWith('('))
            .map((t) => `${t}: [/* keys */]`)
            .join(', ') || 'table: [/* keys */]'
        } } }), ` +
        `touch rows in canonical shard order (${facts.shards.join(', ') || 'see db.shardNames'}), or raise maxLockRestarts.`,
      facts,
    )
    this.restarts = restarts
  }
}

function describeRestart(r: LockRestart, index: number, all: readonly LockRestart[]): string {
  const label = index === all.length - 1 ? `attempt ${r.attempt} (refused)` : `attempt ${r.attempt}`
  return `${label}: ${describeReach(r)} while holding shard ${r.above}`
}
