/**
 * The process the atomic demo kills: runs one `atomic` transfer of 7 from account 1 (shard -80,
 * the coordinator) to account 4 (shard 80-, an XA branch) and SIGKILLs itself at the commit step
 * named by SHARDTX_DEMO_KILL_AT ('before-decision': the branch is prepared, the decision not yet
 * written; 'after-decision': the decision is durable, the branch not yet committed). It prints
 * the transaction id first. Started by examples/demo-section-7-atomic.ts. The phase hook is a
 * test hook of shardtx's source, not part of the package's API.
 */
import fs from 'node:fs'
import { createShardedDb } from '../src/index.js'
import { setAtomicPhaseHookForTests, type AtomicPhase } from '../src/policies/atomic/phase-hook.js'

const killAt = process.env.SHARDTX_DEMO_KILL_AT as AtomicPhase
setAtomicPhaseHookForTests((phase, detail) => {
  if (phase !== killAt) return
  fs.writeSync(1, `${detail.transactionId}\n`)
  process.kill(process.pid, 'SIGKILL')
})
const db = createShardedDb({
  shards: JSON.parse(process.env.SHARDTX_DEMO_SHARDS!),
  tables: { accounts: { shardKey: 'id' }, ledger: { shardKey: 'account_id' } },
  atomic: { recoverOnStart: false },
  split: { recoverOnStart: false },
})
const id = `atomic-${killAt}-${process.pid}`
await db.transaction(
  async (tx) => {
    await tx('accounts').where({ id: 1 }).decrement('balance', 7)
    await tx('accounts').where({ id: 4 }).increment('balance', 7)
    await tx('ledger').insert({ transfer_id: id, account_id: 1, amount: -7 })
    await tx('ledger').insert({ transfer_id: id, account_id: 4, amount: 7 })
  },
  { crossShard: 'atomic', lock: { accounts: [1, 4] } },
)
await db.destroy() // not reached: the hook kills the process first
