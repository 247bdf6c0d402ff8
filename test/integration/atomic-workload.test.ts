/**
 * Acceptance of the `atomic` policy on the incident workload (issue 17): 4 shards (separate
 * databases), 1,332 accounts, 64 concurrent workers, 20,000 transfers between accounts on
 * different shards, half in each direction, `innodb_lock_wait_timeout` at its default. Every
 * transfer must commit through two-phase commit, with zero lock-wait timeouts, zero partial
 * commits, no prepared branch left behind, and the bank's invariants intact. The same workload
 * under `ordered` is ordered.test.ts; crashes are in test/faults/atomic-*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { PartialCommitError, type TransactionOptions } from '../../src/index.js'
import type { Transfer } from '../support/bank.js'
import { preparedXaBranches } from '../support/atomic-bank.js'
import { INCIDENT_TRANSFERS as TRANSFERS, runIncident, type IncidentRun } from '../support/incident.js'

let last: IncidentRun | undefined
afterEach(async () => {
  await last?.bank.db.destroy()
  await last?.shards.drop()
  last = undefined
})

describe('atomic on the incident workload (4 shards, 64 workers, 20,000 cross-shard transfers)', () => {
  it('declared lock set: every transfer commits atomically, no lock-wait timeout, no partial commit, money conserved, no branch left prepared', async () => {
    const options = (t: Transfer): TransactionOptions => ({ crossShard: 'atomic', lock: { accounts: [t.from, t.to] } })
    const { run, lockWaitTimeouts, check, directions, restarts, shards, bank } = (last = await runIncident('atomic, declared lock set', options, {
      atomic: { recoverOnStart: false, recoveryIntervalMs: 0 },
    }))
    const [{ timeout }] = await shards.query(shards.names[0]!, 'SELECT @@innodb_lock_wait_timeout AS timeout')
    expect(Number(timeout)).toBe(50) // the default: nothing here shortens waits to hide a stall
    expect(Math.min(directions.up, directions.down)).toBeGreaterThan(TRANSFERS / 4)
    expect(run.failed.map((f) => String((f.error as Error).message).slice(0, 300)).slice(0, 5)).toEqual([])
    expect(run.ok).toBe(TRANSFERS)
    expect(lockWaitTimeouts).toBe(0)
    expect(run.failed.filter((f) => f.error instanceof PartialCommitError)).toEqual([])
    expect(check).toMatchObject({ total: check.expectedTotal, brokenTransfers: [], accountsOutOfBalance: [], completeTransfers: TRANSFERS })
    expect(restarts).toBe(0)
    // Every transfer spanned two shards, so every one went through prepare and a decision record.
    expect(bank.db.atomicStats()).toMatchObject({ committed: TRANSFERS, outcomeUnknown: 0, branchesLeftInDoubt: 0 })
    expect(await preparedXaBranches(shards)).toEqual([])
    // The coordinator is the lowest shard of each transfer, so the highest shard never got the table.
    const decisions = await Promise.all(
      shards.names.slice(0, -1).map((s) => shards.query(s, "SELECT COUNT(*) AS n FROM shardtx_atomic_decisions WHERE outcome = 'commit'")),
    )
    expect(decisions.reduce((n, [row]) => n + Number(row.n), 0)).toBe(TRANSFERS)
  }, 900_000)
})
