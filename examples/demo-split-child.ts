/**
 * The "service" the split demo kills: runs split transfers between accounts 1 and 4 until it is
 * SIGKILLed, printing a dot per committed transfer. Started by examples/demo-section-5-split.ts.
 */
import { createShardedDb } from '../src/index.js'

const shards = JSON.parse(process.env.SHARDTX_DEMO_SHARDS!)
const db = createShardedDb({
  shards,
  tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } },
  split: { recoverOnStart: false },
})
let n = 0
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) {
      const id = `crash-${process.pid}-${n++}`
      await db.transaction(
        async (tx) => {
          await tx('accounts').where({ id: 1 }).decrement('balance', 1)
          await tx('accounts').where({ id: 4 }).increment('balance', 1)
          await tx('ledger').insert([
            { transfer_id: id, account_id: 1, amount: -1 },
            { transfer_id: id, account_id: 4, amount: 1 },
          ])
        },
        { crossShard: 'split', idempotencyKey: id },
      )
      process.stdout.write('.')
    }
  }),
)
