/**
 * Demo section: `split`. A transfer across shards becomes one transaction per shard, recorded in
 * an intent log first; a process killed mid-flight leaves plans that db.recover() finishes,
 * exactly once. Loaded by examples/demo.ts. See docs/split.md.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DemoContext, DemoShards } from './demo-support.js'

async function totals(shards: DemoShards) {
  const [a] = await shards.query('-80', 'SELECT balance FROM accounts WHERE id = 1')
  const [b] = await shards.query('80-', 'SELECT balance FROM accounts WHERE id = 4')
  const [l1] = await shards.query('-80', "SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE 'crash-%'")
  const [l4] = await shards.query('80-', "SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE 'crash-%'")
  return { a: Number(a.balance), b: Number(b.balance), debits: Number(l1.n), credits: Number(l4.n) }
}

export default async function splitSection({ db, shards, out }: DemoContext): Promise<string> {
  out.heading("'split': one transaction per shard, with an intent log and recovery after a crash")
  const before = await totals(shards)
  await db.transaction(
    async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 5)
      await tx('accounts').where({ id: 4 }).increment('balance', 5)
    },
    { crossShard: 'split' },
  )
  const after = await totals(shards)
  out.line(`a split transfer of 5 from 1 to 4: balances ${before.a}/${before.b} -> ${after.a}/${after.b}, never two shards locked at once`)

  out.line('now a service doing split transfers (8 at a time) is killed with SIGKILL mid-flight ...')
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./demo-split-child.ts', import.meta.url))], {
    env: { ...process.env, SHARDTX_DEMO_SHARDS: JSON.stringify(shards.shards) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let committed = 0
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => reject(new Error(`the demo's split service exited early (code ${code})`)))
    child.stdout.on('data', (chunk: Buffer) => {
      committed += chunk.length
      if (committed >= 40) resolve()
    })
  })
  child.removeAllListeners('exit')
  child.kill('SIGKILL')
  await new Promise((resolve) => child.on('exit', resolve))
  const crashed = await totals(shards)
  out.line(`killed after ${committed} acknowledged transfers; debits ${crashed.debits} vs credits ${crashed.credits} on disk (plans in flight)`)

  const report = await db.recover()
  const recovered = await totals(shards)
  out.line(`db.recover(): ${report.recovered} plans recovered, ${report.failed} failed, ${report.stillPending} still pending`)
  out.line(
    `after recovery: debits ${recovered.debits} = credits ${recovered.credits}; ` +
      `balance moved ${after.a - recovered.a} = ${recovered.b - after.b}; total ${recovered.a + recovered.b} (unchanged: ${after.a + after.b})`,
  )
  return `'split': one transaction per shard; after a SIGKILL mid-flight, db.recover() finished ${report.recovered} plans exactly once (debits = credits).`
}
