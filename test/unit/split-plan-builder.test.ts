import { describe, expect, it } from 'vitest'
import { createCompileOnlyKnex } from '../../src/knex/client.js'
import type { KnexBuilderInternals } from '../../src/knex/builder-internals.js'
import { SplitPlanBuilder } from '../../src/policies/split/plan-builder.js'
import { SplitUnsupportedError } from '../../src/policies/split/errors.js'
import { newPlanId, parseParts, serializeParts } from '../../src/policies/split/plan.js'

const knex = createCompileOnlyKnex()
const b = (q: unknown) => q as KnexBuilderInternals
const order = (shards: Iterable<string>) => [...shards].sort()

describe('SplitPlanBuilder', () => {
  it('records each write as knex compiles it, grouped by shard in canonical order, keeping issue order within a shard', () => {
    const plan = new SplitPlanBuilder(1 << 20)
    plan.record('80-', b(knex('accounts').where({ id: 4 }).decrement('balance', 10)), 'w1')
    plan.record('-80', b(knex('accounts').where({ id: 1 }).increment('balance', 10)), 'w2')
    plan.record('80-', b(knex('ledger').insert({ transfer_id: 't', account_id: 4, amount: -10 })), 'w3')
    expect(plan.parts(order)).toEqual([
      { shard: '-80', statements: [{ sql: 'update `accounts` set `balance` = `balance` + ? where `id` = ?', bindings: [10, 1] }] },
      {
        shard: '80-',
        statements: [
          { sql: 'update `accounts` set `balance` = `balance` - ? where `id` = ?', bindings: [10, 4] },
          { sql: 'insert into `ledger` (`account_id`, `amount`, `transfer_id`) values (?, ?, ?)', bindings: [4, -10, 't'] },
        ],
      },
    ])
  })

  it('skips statements knex would not send (insert of no rows)', () => {
    const plan = new SplitPlanBuilder(1 << 20)
    plan.record('-80', b(knex('ledger').insert([])), 'empty insert')
    expect(plan.isEmpty).toBe(false) // the shard is known; its part is simply empty of statements
    expect(plan.parts(order)).toEqual([{ shard: '-80', statements: [] }])
  })

  it('refuses knex query options it cannot store', () => {
    const plan = new SplitPlanBuilder(1 << 20)
    expect(() => plan.record('-80', b(knex('accounts').where({ id: 1 }).update({ balance: 1 }).options({ nestTables: true })), 'an update')).toThrow(
      SplitUnsupportedError,
    )
  })

  it('bounds the plan by its encoded size', () => {
    const plan = new SplitPlanBuilder(2000)
    expect(() => {
      for (let i = 0; i < 100; i++) plan.record('-80', b(knex('ledger').insert({ transfer_id: `t${i}`, account_id: 1, amount: i })), `insert ${i}`)
    }).toThrow(/split\.maxPlanBytes \(2000 bytes\) with insert \d+/)
  })
})

describe('plan ids and stored form', () => {
  it('ids are 32 hex digits, ordered by creation time', () => {
    const a = newPlanId(1_700_000_000_000)
    const b2 = newPlanId(1_700_000_000_001)
    expect(a).toMatch(/^[0-9a-f]{32}$/)
    expect(a < b2).toBe(true)
  })

  it('refuses a stored plan of an unknown format version', () => {
    expect(parseParts(serializeParts([{ shard: '-80', statements: [] }]))).toEqual([{ shard: '-80', statements: [] }])
    expect(() => parseParts(JSON.stringify({ v: 2, parts: [] }))).toThrow(/format 2 is not supported/)
  })
})
