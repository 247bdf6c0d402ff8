import type { KnexClientLike } from '../../knex/client.js'
import { backoffDelay, sleep } from '../../shared/backoff.js'
import { ShardSession } from '../../transaction/shard-session.js'
import { decodeBindings } from './binding-codec.js'
import { ER_DUP_ENTRY, ER_NO_SUCH_TABLE, errnoOf, failureKind, type FailureKind } from './failure-kind.js'
import { APPLIED_TABLE } from './intent-log-schema.js'
import type { IntentLog } from './intent-log.js'
import { splitPhase } from './phase-hook.js'
import type { PlanPart } from './plan.js'
import { sessionQuery } from '../../transaction/sql.js'

export interface PartRunner {
  log: IntentLog
  /**
   * The shard's session pool (autocommit off, knex/session-pool.ts): a part's transaction starts
   * at its marker INSERT, without a BEGIN round trip.
   */
  sessionPoolOf(shard: string): KnexClientLike
  /** Tries per part for transient errors, in this call (recovery tries again later). */
  attempts: number
  backoff: { baseDelayMs: number; maxDelayMs: number }
  /** `warnings.logKeyValues`: without it, driver errors lose the `sql` property mysql2 fills with the values spliced in. */
  logKeyValues: boolean
}

export interface PartTarget {
  planId: string
  transactionId: string | undefined
  partNo: number
  part: PlanPart
  recovering: boolean
}

/** A part that could not be applied: `permanent` fails the plan, `transient` leaves it pending. */
export class PartError extends Error {
  readonly kind: FailureKind
  readonly shard: string
  readonly partNo: number
  constructor(kind: FailureKind, target: PartTarget, cause: unknown) {
    super(`part ${target.partNo} on shard ${target.part.shard}: ${kind} failure`, { cause })
    this.kind = kind
    this.shard = target.part.shard
    this.partNo = target.partNo
  }
}

/**
 * Applies one part exactly once: in one transaction on the part's shard, first insert the
 * part's row in the applied table, then run its statements, then COMMIT. The marker comes first
 * so that a second runner of the same part blocks on its primary key before touching any data,
 * and then either fails with a duplicate key (the part is applied: nothing to do) or, if the
 * first runner rolled back, applies the part itself. Whatever the timing of a crash, the server
 * has the marker and the data changes both or neither.
 *
 * Transient errors (deadlock, lost connection) retry the part up to `attempts` times with
 * jittered backoff; then, or at once for a permanent error, a {@link PartError} is thrown.
 */
export async function applyPart(runner: PartRunner, target: PartTarget): Promise<'applied' | 'already-applied'> {
  const { part } = target
  for (let attempt = 1; ; attempt++) {
    try {
      await runner.log.ensureAppliedTable(part.shard)
      return await applyOnce(runner, target)
    } catch (err) {
      if (!runner.logKeyValues) withoutValues(err)
      if (errnoOf(err) === ER_NO_SUCH_TABLE) runner.log.forgetTables(part.shard) // dropped under us: create again
      const kind = errnoOf(err) === ER_NO_SUCH_TABLE ? 'transient' : failureKind(err)
      if (kind === 'permanent' || attempt >= runner.attempts) throw new PartError(kind, target, err)
      await sleep(backoffDelay(attempt, runner.backoff))
    }
  }
}

async function applyOnce(runner: PartRunner, target: PartTarget): Promise<'applied' | 'already-applied'> {
  const { part, planId } = target
  const session = await ShardSession.open(part.shard, runner.sessionPoolOf(part.shard), { implicitBegin: true })
  const detail = {
    planId,
    transactionId: target.transactionId,
    partNo: target.partNo,
    shard: part.shard,
    connectionId: session.connectionId,
    recovering: target.recovering,
  }
  try {
    try {
      await sessionQuery(session, `INSERT INTO ${APPLIED_TABLE} (plan_id, part_no) VALUES (?, ?)`, [planId, target.partNo])
    } catch (err) {
      if (errnoOf(err) !== ER_DUP_ENTRY) throw err
      splitPhase('part-skipped', detail)
      return 'already-applied'
    }
    splitPhase('in-part', detail)
    for (const statement of part.statements) {
      await sessionQuery(session, statement.sql, decodeBindings(statement.bindings))
    }
    splitPhase('before-commit', detail)
    const committing = session.commit()
    splitPhase('during-commit', detail) // COMMIT is on the wire: a crash now leaves the outcome to the server
    await committing
    return 'applied'
  } finally {
    await session.rollback() // no-op after a commit; otherwise releases the row locks at once
    splitPhase('part-ended', detail)
  }
}

/**
 * mysql2 attaches the failed statement with every value spliced in (`err.sql`); these errors end
 * up as `cause` of split errors and in compensation hooks, which applications log. Same rule as
 * the rest of shardtx: values only with `warnings.logKeyValues`.
 */
export function withoutValues(err: unknown): void {
  if (err !== null && typeof err === 'object' && typeof (err as { sql?: unknown }).sql === 'string') delete (err as { sql?: unknown }).sql
}
