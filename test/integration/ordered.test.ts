/**
 * Acceptance of the `ordered` policy on the incident workload: 4 shards (separate databases),
 * accounts on all of them, 64 concurrent workers, 20,000 transfers between accounts on different
 * shards, half in each direction, `innodb_lock_wait_timeout` at its default. Every transfer must
 * commit, with zero lock-wait timeouts and the bank's invariants intact, for both the declared
 * and the learned lock set. (The naive version of the same transfers stalls: see
 * ordered-behaviour.test.ts and bench/contention.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { TransactionOptions } from '../../src/index.js'
import type { Transfer } from '../support/bank.js'
import { INCIDENT_TRANSFERS as TRANSFERS, runIncident, type IncidentRun } from '../support/incident.js'

let last: IncidentRun | undefined
afterEach(async () => {
  await last?.bank.db.destroy()
  await last?.shards.drop()
  last = undefined
})

describe('ordered on the incident workload (4 shards, 64 workers, 20,000 cross-shard transfers)', () => {
  it.each([
    ['declared', (t: Transfer): TransactionOptions => ({ crossShard: 'ordered', lock: { accounts: [t.from, t.to] } })],
    ['learned', (): TransactionOptions => ({ crossShard: 'ordered' })],
  ] as const)(
    '%s lock set: every transfer commits, no lock-wait timeout, money conserved, one ledger row per account and transfer',
    async (form, options) => {
      const { run, lockWaitTimeouts, check, directions, restarts, shards } = (last = await runIncident(`ordered, ${form} lock set`, options))
      const [{ timeout }] = await shards.query(shards.names[0]!, 'SELECT @@innodb_lock_wait_timeout AS timeout')
      expect(Number(timeout)).toBe(50) // the default: nothing here shortens waits to hide a stall
      // Both directions between shards, as in the incident (the canonical order favours one).
      expect(Math.min(directions.up, directions.down)).toBeGreaterThan(TRANSFERS / 4)
      expect(run.failed.map((f) => String((f.error as Error).message).slice(0, 300)).slice(0, 5)).toEqual([])
      expect(run.ok).toBe(TRANSFERS)
      expect(lockWaitTimeouts).toBe(0)
      expect(check).toMatchObject({ total: check.expectedTotal, brokenTransfers: [], accountsOutOfBalance: [], completeTransfers: TRANSFERS })
      // Declared sets never restart; learned ones restart at most once per transfer (the downhill half).
      expect(restarts).toBeLessThanOrEqual(form === 'declared' ? 0 : directions.down)
    },
    900_000,
  )
})
