/**
 * Named points in the commit of a multi-shard `atomic` transaction, for fault tests: the crash
 * test kills its child process with SIGKILL at each of them (test/faults/atomic-crash.test.ts).
 * Not part of the public API (not exported from the package entry); when no hook is installed a
 * phase costs one comparison.
 *
 * - `before-prepare`: the commit record is inserted in the coordinator's open transaction, no
 *   branch is prepared yet;
 * - `after-prepare`: branch `index` (canonical order) on `shard` is prepared;
 * - `before-decision`: every branch is prepared, the coordinator's COMMIT (the commit point) not sent;
 * - `after-decision`: the coordinator committed: the decision is durable, no branch committed yet;
 * - `before-branch-commit`: branch `index` on `shard` is about to get `XA COMMIT`;
 * - `committed`: every branch committed.
 */
export type AtomicPhase = 'before-prepare' | 'after-prepare' | 'before-decision' | 'after-decision' | 'before-branch-commit' | 'committed'

export interface AtomicPhaseDetail {
  transactionId: string
  gtrid: string
  /** The coordinator shard (holds the decision record). */
  coordinator: string
  /** The branches' shards, in canonical order. */
  branches: readonly string[]
  /** Server connection ids of the branches' sessions, in the same order, and of the coordinator's. */
  branchConnections: readonly number[]
  coordinatorConnection: number
  /** For `after-prepare` and `before-branch-commit`: the branch's index in `branches` and its shard. */
  index?: number
  shard?: string
}

export type AtomicPhaseHook = (phase: AtomicPhase, detail: AtomicPhaseDetail) => void | Promise<void>

let hook: AtomicPhaseHook | undefined

/**
 * Installs (or, with `undefined`, removes) the process-wide phase hook. Tests only. A hook that
 * returns a promise holds the commit at that point until it settles (a test that kills a
 * connection or a server there).
 *
 * @example
 * ```ts
 * setAtomicPhaseHookForTests((phase) => { if (phase === 'after-decision') process.kill(process.pid, 'SIGKILL') })
 * ```
 */
export function setAtomicPhaseHookForTests(fn: AtomicPhaseHook | undefined): void {
  hook = fn
}

/** Runs the hook, if any: undefined (no await needed) when none is installed or it is synchronous. */
export function atomicPhase(phase: AtomicPhase, detail: () => AtomicPhaseDetail): void | Promise<void> {
  if (hook !== undefined) return hook(phase, detail())
}
