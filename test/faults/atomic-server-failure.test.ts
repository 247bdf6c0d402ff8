/**
 * `atomic` when a server, not the coordinating process, fails, on three separate mariadbd
 * processes (one per shard), with three-shard payments (a coordinator and two XA branches):
 * - a participant's server is SIGKILLed while it holds a prepared branch, and restarted: the
 *   branch survives the crash, prepared, and recovery commits it by the decision;
 * - the coordinator shard's server dies after every branch is prepared: the caller gets
 *   AtomicOutcomeUnknownError, recovery leaves the branches prepared while the coordinator is
 *   down (it never presumes abort while the decision is unknown), and rolls them back once the
 *   coordinator is back and shows no decision;
 * - a prepared branch's connection is killed: the transaction still commits everywhere.
 * After each: no shardtx branch in any `XA RECOVER`, the payment on all shards or none, money conserved.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AtomicOutcomeUnknownError, keyrangeNames } from '../../src/index.js'
import { setAtomicPhaseHookForTests } from '../../src/policies/atomic/phase-hook.js'
import { setupBank, type Bank } from '../support/bank.js'
import { applyPayment, checkPayments, preparedXaBranches, type Payment } from '../support/atomic-bank.js'
import { startServerShards, type ServerShards } from '../support/server-shards.js'

/**
 * Four shards; payments use the last three. The first holds split's intent log, which db.recover()
 * also reads (and rejects when it is down): keeping it out of the payments lets the coordinator
 * of a payment go down while db.recover() still reports atomic's side.
 */
const ALL = keyrangeNames(4)
const NAMES = ALL.slice(1)
let shards: ServerShards
let bank: Bank
let serial = 0

beforeAll(async () => {
  shards = await startServerShards({ names: ALL })
  bank = await setupBank(shards, {
    perShard: 3,
    options: { crossShard: 'atomic', connectTimeoutMs: 1000, health: { probeIntervalMs: 50 }, atomic: { recoverOnStart: false, recoveryIntervalMs: 0 } },
  })
}, 120_000)
afterEach(() => setAtomicPhaseHookForTests(undefined))
afterAll(async () => {
  await bank?.db.destroy()
  await shards?.drop()
})

/** A payment from the lowest of the three shards (the coordinator: first in the declared lock set) to the two others. */
function payment(): Payment {
  const [a, b, c] = NAMES.map((n) => bank.accountsByShard.get(n)![0]!)
  return { id: `sf-${++serial}`, from: a!, to: [b!, c!], amount: 5 }
}

function pay(p: Payment): Promise<unknown> {
  return bank.db
    .transaction((tx) => applyPayment(tx, p), { lock: { accounts: [p.from, ...p.to] }, maxAttempts: 1 })
    .then(
      () => 'committed',
      (err: unknown) => err,
    )
}

/** db.recover() until nothing is left to a live owner (the server notices closed connections asynchronously); bounded: 20 s. */
async function recoverUntilSettled() {
  const total = { committed: 0, rolledBack: 0, inDoubt: 0 }
  const deadline = Date.now() + 20_000
  for (;;) {
    const { atomic } = await bank.db.recover()
    total.committed += atomic.committed
    total.rolledBack += atomic.rolledBack
    total.inDoubt = atomic.inDoubt
    if ((atomic.inProgress === 0 && atomic.inDoubt === 0 && atomic.serversUnreachable === 0) || Date.now() > deadline) return total
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function waitUntilUp(shard: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (bank.db.health()[shard]!.state !== 'up' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
}

async function expectAllOrNothing(p: Payment, applied: boolean): Promise<void> {
  expect(await preparedXaBranches(shards)).toEqual([])
  const check = await checkPayments(bank)
  expect(check.partial).toEqual([])
  expect(check.total).toBe(check.expectedTotal)
  expect(check.accountsOutOfBalance).toEqual([])
  expect(check.applied.includes(p.id)).toBe(applied)
}

describe('atomic when a server fails', () => {
  it('a participant server SIGKILLed while holding a prepared branch, then restarted: the branch survives prepared, recovery commits it', async () => {
    const p = payment()
    const participant = NAMES[1]!
    setAtomicPhaseHookForTests(async (phase, detail) => {
      if (phase === 'after-prepare' && detail.index === 0) await shards.servers[participant]!.kill()
    })
    // The other branch prepares, the coordinator decides commit; the dead branch cannot commit now.
    expect(await pay(p)).toBe('committed')
    setAtomicPhaseHookForTests(undefined)
    expect(bank.db.atomicStats().branchesLeftInDoubt).toBeGreaterThanOrEqual(1)
    await shards.servers[participant]!.restart()
    // InnoDB crash recovery brought the prepared branch back.
    expect((await preparedXaBranches(shards)).filter((b) => b.startsWith(`${participant}:`))).toHaveLength(1)
    await waitUntilUp(participant)
    expect(await recoverUntilSettled()).toMatchObject({ committed: 1, rolledBack: 0, inDoubt: 0 })
    await expectAllOrNothing(p, true)
  })

  it("the coordinator shard's server dies after every prepare: outcome unknown, branches stay prepared while it is down, rolled back once it is back", async () => {
    const p = payment()
    const coordinator = NAMES[0]!
    setAtomicPhaseHookForTests(async (phase) => {
      if (phase === 'before-decision') await shards.servers[coordinator]!.kill()
    })
    const err = await pay(p)
    setAtomicPhaseHookForTests(undefined)
    expect(err).toBeInstanceOf(AtomicOutcomeUnknownError)
    expect(err).toMatchObject({ code: 'SHARDTX_ATOMIC_OUTCOME_UNKNOWN', coordinatorShard: coordinator, preparedShards: NAMES.slice(1), retryable: false })
    expect((err as AtomicOutcomeUnknownError).transactionId).toMatch(/^tx-/)
    // Coordinator down: the decision is unknown, so recovery presumes nothing.
    const down = await bank.db.recover()
    expect(down.atomic).toMatchObject({ committed: 0, rolledBack: 0, inDoubt: 2, serversUnreachable: 1 })
    expect(bank.db.atomicStats()).toMatchObject({ inDoubt: 2, inDoubtByShard: { [NAMES[1]!]: 1, [NAMES[2]!]: 1 } })
    expect(bank.db.health()[NAMES[1]!]!.atomicInDoubt).toBe(1)
    expect((await preparedXaBranches({ ...shards, names: NAMES.slice(1) })).length).toBe(2)
    // Back: its uncommitted record died with it, so the decision is abort.
    await shards.servers[coordinator]!.restart()
    await waitUntilUp(coordinator)
    expect(await recoverUntilSettled()).toMatchObject({ committed: 0, rolledBack: 2, inDoubt: 0 })
    await expectAllOrNothing(p, false)
  })

  it("a prepared branch's connection is killed: the transaction commits, the branch is committed from another connection or by recovery", async () => {
    const p = payment()
    setAtomicPhaseHookForTests(async (phase, detail) => {
      if (phase === 'after-prepare' && detail.index === 0) await shards.query(detail.shard!, `KILL CONNECTION ${detail.branchConnections[0]}`)
    })
    expect(await pay(p)).toBe('committed')
    setAtomicPhaseHookForTests(undefined)
    await recoverUntilSettled()
    await expectAllOrNothing(p, true)
  })

  it('a branch killed before the decision: every branch rolls back, even one whose server is gone until recovery', async () => {
    const p = payment()
    const participant = NAMES[2]!
    setAtomicPhaseHookForTests(async (phase, detail) => {
      // Branch 0 is prepared; branch 1's server dies before its prepare: nothing may commit.
      if (phase === 'after-prepare' && detail.index === 0) await shards.servers[participant]!.kill()
    })
    const err = await pay(p)
    setAtomicPhaseHookForTests(undefined)
    expect(err).toBeInstanceOf(Error)
    expect(err).not.toBeInstanceOf(AtomicOutcomeUnknownError)
    await shards.servers[participant]!.restart()
    await waitUntilUp(participant)
    await recoverUntilSettled()
    await expectAllOrNothing(p, false)
  })
})
