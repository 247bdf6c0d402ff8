/**
 * Demo section: `ordered`. The same opposing transfers that deadlock under `warn` run side by
 * side and both commit at once, because every ordered transaction locks shard -80 before 80-.
 * Loaded by examples/demo.ts. See docs/ordered.md.
 */
import type { ShardedDb } from '../src/index.js'
import type { DemoShards } from './demo-support.js'

type Ctx = { db: ShardedDb; shards: DemoShards; heading: (text: string) => void }

/** A transfer as application code writes it: debit first, credit second, and a ledger row each. */
async function transfer(tx: (table: string) => any, id: string, from: number, to: number, amount: number) {
  await tx('accounts').where({ id: from }).decrement('balance', amount)
  await tx('accounts').where({ id: to }).increment('balance', amount)
  await tx('ledger').insert({ transfer_id: id, account_id: from, amount: -amount })
  await tx('ledger').insert({ transfer_id: id, account_id: to, amount })
}

export default async function orderedSection({ db, shards, heading }: Ctx): Promise<void> {
  heading("'ordered': opposing cross-shard transfers that cannot deadlock")
  console.log('  A moves 1 -> 4 and B moves 4 -> 1, concurrently. A declares its lock set; B lets shardtx learn it.')
  const started = performance.now()
  let attemptsOfB = 0
  const [a, b] = await Promise.allSettled([
    // shardtx-allow-cross-shard: ordered declared in the options object below
    db.transaction((tx) => transfer(tx, 'ordered-A', 1, 4, 3), { crossShard: 'ordered', lock: { accounts: [1, 4] } }),
    // shardtx-allow-cross-shard: ordered declared in the options object below
    db.transaction((tx) => (attemptsOfB++, transfer(tx, 'ordered-B', 4, 1, 2)), { crossShard: 'ordered' }),
  ])
  console.log(`  A: ${a.status}, B: ${b.status}, both done after ${Math.round(performance.now() - started)} ms`)
  if (attemptsOfB === 1) {
    console.log("  B's callback ran once: it starts on shard 80-, and row 1 on -80 (a lower shard) was free, so it took")
    console.log('  it without waiting (a statement that cannot wait cannot close a cycle of waits).')
  } else {
    console.log(`  B's callback ran ${attemptsOfB} times: it starts on shard 80-, and row 1 on -80 (a lower shard) could not be`)
    console.log('  taken without waiting (A had it), so B rolled back and ran again with both rows locked in order, -80 first.')
  }
  const rows = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).select('id', 'balance'))
  const ledger = (await shards.query('-80', "SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE 'ordered-%'"))[0].n +
    (await shards.query('80-', "SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE 'ordered-%'"))[0].n
  console.log(`  balances afterwards: ${JSON.stringify(rows)}; ledger rows: ${ledger} (two per transfer)`)
}
