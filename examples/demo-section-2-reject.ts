/**
 * Demo section: `reject`, the default. The statement that would make a transaction write to a
 * second shard is never sent, and the whole transaction rolls back. Loaded by examples/demo.ts.
 */
import { CrossShardTransactionError } from '../src/index.js'
import type { DemoContext } from './demo-support.js'

export default async function rejectSection({ db, shards, out }: DemoContext): Promise<string> {
  out.heading("'reject' (the default): a transaction that would write to a second shard")
  try {
    await db.transaction(async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 10) // shard -80
      // shardtx-allow-cross-shard: the demo shows what the reject policy does with this write
      await tx('accounts').where({ id: 4 }).increment('balance', 10) // shard 80-: refused, never sent
    })
  } catch (err) {
    // By code rather than instanceof: sections are loaded through dynamic imports.
    if ((err as CrossShardTransactionError).code !== 'SHARDTX_CROSS_SHARD') throw err
    const e = err as CrossShardTransactionError
    out.line(`${e.name} (${e.code}): the write to accounts on shard 80- at ${e.statementOrigin?.file}:${e.statementOrigin?.line} was not sent`)
    out.line('the message says how to fix it: one shard key per transaction, or crossShard ordered / split / warn with a reason')
  }
  const [a] = await shards.query('-80', 'SELECT balance FROM accounts WHERE id = 1')
  const [b] = await shards.query('80-', 'SELECT balance FROM accounts WHERE id = 4')
  out.line(`balances afterwards: id 1 = ${a.balance}, id 4 = ${b.balance}: nothing was committed anywhere`)
  return "'reject': the write to a second shard was refused before it was sent; nothing committed."
}
