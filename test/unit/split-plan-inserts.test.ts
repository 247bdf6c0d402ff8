/**
 * PlanInserts' batching rules with a stand-in for the intent log's two INSERT methods (the real
 * INSERTs are exercised against MariaDB in test/integration/split-statements.test.ts).
 */
import { describe, expect, it } from 'vitest'
import type { IntentLog, NewPlanRow } from '../../src/policies/split/intent-log.js'
import { PlanInserts } from '../../src/policies/split/plan-inserts.js'
import type { SplitPlan } from '../../src/policies/split/plan.js'
import { heldCalls, tick } from '../support/held-calls.js'

const row = (planId: string, bytes = 10): NewPlanRow => ({
  plan: { planId, parts: [], parallel: false, idempotencyKeyHash: undefined, transactionId: undefined, origin: undefined } as SplitPlan,
  serialized: 'x'.repeat(bytes),
  digest: 'd',
})

/** A stand-in whose statements complete when the test says so, or fail with `failWith`. */
function fakeLog(failWith?: (ids: string[]) => unknown) {
  const statements: string[][] = []
  const calls = heldCalls()
  const run = (ids: string[]) => {
    statements.push(ids)
    return calls.hold(() => {
      const err = failWith?.(ids)
      if (err !== undefined) throw err
    })
  }
  const log = {
    insertMany: (rows: readonly NewPlanRow[]) => run(rows.map((r) => r.plan.planId)),
    insert: (r: NewPlanRow) => run([r.plan.planId]).then(() => 'inserted' as const),
  }
  return { log: log as unknown as IntentLog, statements, finish: calls.releaseAll }
}

describe('PlanInserts', () => {
  it('sends a lone plan at once, and the plans that arrive meanwhile in the next INSERT', async () => {
    const f = fakeLog()
    const inserts = new PlanInserts(f.log)
    const first = inserts.insert(row('a'))
    await tick()
    const later = [inserts.insert(row('b')), inserts.insert(row('c'))]
    expect(f.statements).toEqual([['a']])
    f.finish()
    await expect(first).resolves.toBe('inserted')
    await tick()
    expect(f.statements).toEqual([['a'], ['b', 'c']])
    f.finish()
    await expect(Promise.all(later)).resolves.toEqual(['inserted', 'inserted'])
  })

  it('bounds an INSERT to 64 plans and about 1 MiB of plan text; a larger plan goes alone', async () => {
    const f = fakeLog()
    const inserts = new PlanInserts(f.log)
    const all = [
      ...Array.from({ length: 70 }, (_, i) => inserts.insert(row(`p${i}`))),
      inserts.insert(row('big', 2 * 1024 * 1024)),
      inserts.insert(row('after')),
    ]
    for (let i = 0; i < 4; i++) {
      await tick()
      f.finish()
    }
    await Promise.all(all)
    expect(f.statements.map((s) => s.length)).toEqual([64, 6, 1, 1])
    expect(f.statements[2]).toEqual(['big'])
  })

  it('a refused INSERT (server error number): each plan is inserted again on its own and gets its own answer', async () => {
    const refused = Object.assign(new Error('Duplicate entry'), { errno: 1062 })
    const f = fakeLog((ids) => (ids.length > 1 || ids[0] === 'b' ? refused : undefined))
    const inserts = new PlanInserts(f.log)
    const results = [row('a'), row('b'), row('c')].map((r) => inserts.insert(r).then(String, (e: Error) => `error: ${e.message}`))
    await tick()
    f.finish()
    await tick()
    f.finish()
    expect(await Promise.all(results)).toEqual(['inserted', 'error: Duplicate entry', 'inserted'])
    expect(f.statements).toEqual([['a', 'b', 'c'], ['a'], ['b'], ['c']])
  })

  it('an INSERT without an answer (connection lost): every caller gets the error, each its own object', async () => {
    const lost = Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' })
    const f = fakeLog(() => lost)
    const inserts = new PlanInserts(f.log)
    const errors = [row('a'), row('b')].map((r) => inserts.insert(r).catch((e: unknown) => e))
    await tick()
    f.finish()
    const [ea, eb] = (await Promise.all(errors)) as Error[]
    expect(f.statements).toEqual([['a', 'b']]) // not retried: the rows may be stored, the callers look them up
    expect(ea).toBe(lost)
    expect(eb).not.toBe(lost)
    expect(eb).toBeInstanceOf(Error)
    expect(eb).toMatchObject({ message: 'Connection lost', code: 'PROTOCOL_CONNECTION_LOST' })
  })
})
