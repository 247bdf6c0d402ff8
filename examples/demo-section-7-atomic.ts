/**
 * Demo section: `atomic`. A transfer across shards commits with XA two-phase commit. A process
 * killed between prepare and commit leaves a prepared branch in XA RECOVER; db.recover() settles
 * it by the decision record: on both shards when the process died after the decision, on neither
 * when it died before. Loaded by examples/demo.ts. See docs/atomic.md.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DemoContext, DemoShards } from './demo-support.js'

/** Balances of accounts 1 and 4, and ledger rows of one transfer on each shard. */
async function state(shards: DemoShards, like: string) {
  const [a] = await shards.query('-80', 'SELECT balance FROM accounts WHERE id = 1')
  const [b] = await shards.query('80-', 'SELECT balance FROM accounts WHERE id = 4')
  const [l1] = await shards.query('-80', 'SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE ?', [like])
  const [l4] = await shards.query('80-', 'SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE ?', [like])
  return { a: Number(a.balance), b: Number(b.balance), rows: `${Number(l1.n)} on -80, ${Number(l4.n)} on 80-` }
}

/** Runs the child that dies at `killAt`; resolves to its transaction id once it is dead. */
async function killedTransfer(shards: DemoShards, killAt: 'before-decision' | 'after-decision'): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./demo-atomic-child.ts', import.meta.url))], {
    env: { ...process.env, SHARDTX_DEMO_SHARDS: JSON.stringify(shards.shards), SHARDTX_DEMO_KILL_AT: killAt },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (_code, sig) => resolve(sig))
  })
  if (signal !== 'SIGKILL') throw new Error(`the demo's atomic process was expected to die at ${killAt}, but it exited (${signal})`)
  return out.trim()
}

/** Branches of transaction `txId` listed by XA RECOVER (both shards share the demo's server). */
async function prepared(shards: DemoShards, txId: string): Promise<number> {
  const rows = await shards.query('80-', 'XA RECOVER')
  return rows.filter((r: { data: Buffer | string }) => String(r.data).includes(txId)).length
}

export default async function atomicSection({ db, shards, out }: DemoContext): Promise<string> {
  out.heading("'atomic': two-phase commit, all or nothing, even when the process dies mid-commit")
  const before = await state(shards, 'atomic-%')
  await db.transaction(
    async (tx) => {
      await tx('accounts').where({ id: 1 }).decrement('balance', 3)
      await tx('accounts').where({ id: 4 }).increment('balance', 3)
    },
    { crossShard: 'atomic', lock: { accounts: [1, 4] } },
  )
  const after = await state(shards, 'atomic-%')
  out.line(`an atomic transfer of 3 from 1 to 4: balances ${before.a}/${before.b} -> ${after.a}/${after.b} (prepare 80-, decide on -80, commit 80-)`)

  const outcomes: string[] = []
  for (const killAt of ['after-decision', 'before-decision'] as const) {
    const txId = await killedTransfer(shards, killAt)
    const pending = await prepared(shards, txId)
    const crashed = await state(shards, `atomic-${killAt}-%`)
    out.line(
      `a process moving 7 from 1 to 4 was SIGKILLed ${killAt.replace('-', ' the ')}: ${pending} branch prepared in XA RECOVER, ledger rows ${crashed.rows}`,
    )
    // The server notices the dead process's connections on its own schedule; until then the branch counts as in progress.
    let report = await db.recover()
    for (let i = 0; i < 100 && report.atomic.inProgress > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      report = await db.recover()
    }
    const settled = await state(shards, `atomic-${killAt}-%`)
    const verdict = report.atomic.committed > 0 ? 'committed on both shards' : 'rolled back on both shards'
    out.line(
      `db.recover(): ${report.atomic.committed} branch committed, ${report.atomic.rolledBack} rolled back -> ${verdict}; ` +
        `ledger rows ${settled.rows}, XA RECOVER now ${await prepared(shards, txId)}`,
    )
    outcomes.push(`killed ${killAt.replace('-', ' the ')}: ${verdict}`)
  }
  const end = await state(shards, 'atomic-%')
  out.line(`total of accounts 1 and 4: ${end.a + end.b} (before: ${before.a + before.b})`)
  return `'atomic': two-phase commit; a process SIGKILLed between prepare and commit was recovered all or nothing (${outcomes.join('; ')}).`
}
