// RuleTester cases for the table kinds beyond sharded and pinned: co-located tables
// (colocatedWith) and reference tables, read from the same `tables` as createShardedDb.
import { describe, expect, it } from 'vitest'
import { ShardtxLintConfigError, validateTables } from '../../src/eslint/config-loader.js'
import { OPTIONS, RuleTester, rule, TABLES, tx, txError, type Options } from './support.js'

const ruleTester = new RuleTester()
const COLOCATED: Options = [
  {
    tables: {
      ...TABLES,
      customers: { shardKey: 'id', sequence: { table: 'customer_seq' } },
      orders: { shardKey: 'customer_id', colocatedWith: 'customers' },
      countries: { reference: true },
    },
  },
]
const customerAndOrder = `    await tx('customers').where({ id: from.id }).update({ vip: true })
    await tx('orders').insert({ customer_id: from.id, total: 5 })`
const joinedWrite = `    await tx('customers').where({ id: from.id }).update({ vip: true })
    await tx('orders').join('customers', 'customers.id', 'orders.customer_id').where('customers.id', from.id).update({ 'orders.total': 0 })`
const notColocatedJoin = `    await tx('accounts').where({ id: from.id }).update({ vip: true })
    await tx('ledger').join('accounts', 'accounts.id', 'ledger.account_id').where('accounts.id', from.id).update({ amount: 0 })`
const referenceWrite = `    await tx('countries').insert({ code: 'DE', name: 'Germany' })`

ruleTester.run('no-cross-shard-write (co-location and reference tables)', rule, {
  valid: [
    { name: 'a co-located write pair on the same key', options: COLOCATED, code: tx(customerAndOrder) },
    { name: 'a write joined to a co-located table on the key columns, pinned through the joined key', options: COLOCATED, code: tx(joinedWrite) },
    {
      name: 'reads and joins of a reference table next to a write',
      options: COLOCATED,
      code: tx(`    const c = await tx('countries').where({ code: 'FR' }).first()
    await tx('customers').join('countries', 'countries.code', 'customers.country').where({ id: from.id }).update({ vat: c.vat })`),
    },
  ],
  invalid: [
    {
      name: 'a write joined to a table that is not co-located: its key is not known',
      options: OPTIONS,
      code: tx(notColocatedJoin),
      errors: [txError(notColocatedJoin, 'unknownKey', { line: 4 })],
    },
    {
      name: 'a reference-table write is reported even alone, without suggestions',
      options: COLOCATED,
      code: tx(referenceWrite),
      errors: [{ messageId: 'referenceWrite', data: { write: '`countries` (a reference table)', table: 'countries' }, suggestions: [] }],
    },
    {
      name: "a reference-table write is reported under crossShard: 'split' too",
      options: COLOCATED,
      code: tx(`${referenceWrite}\n    await tx('customers').where({ id: to.id }).update({ a: 1 })`, ", { crossShard: 'split' }"),
      errors: [{ messageId: 'referenceWrite', suggestions: [] }],
    },
  ],
})

describe('validateTables reads co-location and reference declarations', () => {
  it('accepts them and refuses what createShardedDb refuses, naming the file', () => {
    expect(validateTables({ c: { shardKey: 'id' }, o: { shardKey: 'cid', colocatedWith: 'c' }, r: { reference: true } }, 'x.json').o).toEqual({
      shardKey: 'cid',
      colocatedWith: 'c',
    })
    expect(() => validateTables({ o: { shardKey: 'cid', colocatedWith: 'nope' } }, 'x.json')).toThrow(ShardtxLintConfigError)
    expect(() => validateTables({ o: { shardKey: 'cid', colocatedWith: 'r' }, r: { reference: true } }, 'x.json')).toThrow(
      /x\.json: table "o": .*'r' is a reference table/,
    )
    expect(() => validateTables({ r: { reference: 'yes' } }, 'x.json')).toThrow(/"reference" set to something other than true/)
  })
})
