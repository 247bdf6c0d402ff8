/**
 * Demo section: `ordered`. The same opposing transfers that deadlock under `warn` run side by
 * side and both commit at once, because every ordered transaction locks shard -80 before 80-.
 * Loaded by examples/demo.ts. See docs/ordered.md.
 */
import type { DemoContext } from './demo-support.js'

/** A transfer as application code writes it: debit first, credit second, and a ledger row each. */
async function transfer(tx: (table: string) => any, id: string, from: number, to: number, amount: number) {
  await tx('accounts').where({ id: from }).decrement('balance', amount)
  await tx('accounts').where({ id: to }).increment('balance', amount)
  await tx('ledger').insert({ transfer_id: id, account_id: from, amount: -amount })
  await tx('ledger').insert({ transfer_id: id, account_id: to, amount })
}

export default async function orderedSection({ db, shards, out }: DemoContext): Promise<string> {
  out.heading("'ordered': opposing cross-shard transfers that cannot deadlock")
  out.line('A moves 1 -> 4 and B moves 4 -> 1, concurrently. A declares its lock set; B lets shardtx learn it.')
  const started = performance.now()
  let attemptsOfB = 0
  const [a, b] = await Promise.allSettled([
    // shardtx-allow-cross-shard: ordered declared in the options object below
    db.transaction((tx) => transfer(tx, 'ordered-A', 1, 4, 3), { crossShard: 'ordered', lock: { accounts: [1, 4] } }),
    // shardtx-allow-cross-shard: ordered declared in the options object below
    db.transaction((tx) => (attemptsOfB++, transfer(tx, 'ordered-B', 4, 1, 2)), { crossShard: 'ordered' }),
  ])
  out.line(`A: ${a.status}, B: ${b.status}, both done after ${Math.round(performance.now() - started)} ms`)
  if (attemptsOfB === 1) {
    out.line("B's callback ran once: it starts on shard 80-, and row 1 on -80 (a lower shard) was free, so it took")
    out.line('it without waiting (a statement that cannot wait cannot close a cycle of waits).')
  } else {
    out.line(`B's callback ran ${attemptsOfB} times: it starts on shard 80-, and row 1 on -80 (a lower shard) could not be`)
    out.line('taken without waiting (A had it), so B rolled back and ran again with both rows locked in order, -80 first.')
  }
  const rows = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).select('id', 'balance'))
  const ledger =
    (await shards.query('-80', "SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE 'ordered-%'"))[0].n +
    (await shards.query('80-', "SELECT COUNT(*) AS n FROM ledger WHERE transfer_id LIKE 'ordered-%'"))[0].n
  out.line(
    `balances afterwards: ${rows.map((r: { id: number; balance: number }) => `id ${r.id} = ${r.balance}`).join(', ')}; ledger rows: ${ledger} (two per transfer)`,
  )
  return `'ordered': opposing cross-shard transfers both committed in ${Math.round(performance.now() - started)} ms, no deadlock possible (locks taken -80 first).`
}
