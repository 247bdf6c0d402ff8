/**
 * Named points in the life of a split plan, for fault tests: the crash test kills its child
 * process with SIGKILL at each of them, and the workload test watches which connection runs
 * which part. Not part of the public API (not exported from the package entry); when no hook is
 * installed a phase costs one comparison.
 *
 * - `after-intent`: the plan is durable in the intent log, no part has started;
 * - `in-part`: a part's transaction is open on its shard and its applied marker is written;
 * - `before-commit`: the part's statements ran, COMMIT not sent;
 * - `during-commit`: COMMIT was written to the socket, its reply has not arrived;
 * - `between-parts`: a part committed and another part follows;
 * - `before-mark-applied`: every part is applied, the plan is not yet marked applied;
 * - `part-ended`: a part's transaction is over (committed or rolled back), its connection released;
 * - `part-skipped`: the part's applied marker already existed: someone applied it, nothing was done.
 */
export type SplitPhase =
  'after-intent' | 'in-part' | 'before-commit' | 'during-commit' | 'between-parts' | 'before-mark-applied' | 'part-ended' | 'part-skipped'

export interface SplitPhaseDetail {
  /** Undefined for a single-shard split transaction, which needs no plan. */
  planId: string | undefined
  transactionId: string | undefined
  partNo?: number
  shard?: string
  /** Server connection id of the part's transaction (`CONNECTION_ID()`, INNODB_TRX.trx_mysql_thread_id). */
  connectionId?: number
  /** True when `db.recover()` (or an idempotent resubmission) is finishing the plan. */
  recovering: boolean
}

export type SplitPhaseHook = (phase: SplitPhase, detail: SplitPhaseDetail) => void

let hook: SplitPhaseHook | undefined

/**
 * Installs (or, with `undefined`, removes) the process-wide phase hook. Tests only.
 *
 * @example
 * ```ts
 * setSplitPhaseHookForTests((phase) => { if (phase === 'between-parts') process.kill(process.pid, 'SIGKILL') })
 * ```
 */
export function setSplitPhaseHookForTests(fn: SplitPhaseHook | undefined): void {
  hook = fn
}

export function splitPhase(phase: SplitPhase, detail: SplitPhaseDetail): void {
  if (hook !== undefined) hook(phase, detail)
}
