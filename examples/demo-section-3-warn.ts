/**
 * Demo section: `warn`. A transaction allowed to span shards, with a reason: it commits shard by
 * shard in canonical order, and logs one warning. Loaded by examples/demo.ts.
 */
import type { DemoContext } from './demo-support.js'

export default async function warnSection({ db, out }: DemoContext): Promise<string> {
  out.heading("'warn': allowed with a reason, committed shard by shard, and logged")
  await db.transaction(
    async (tx) => {
      await tx('accounts').where({ id: 4 }).decrement('balance', 10)
      // shardtx-allow-cross-shard: the demo shows the warning a warn transaction logs
      await tx('accounts').where({ id: 1 }).increment('balance', 10)
    },
    { crossShard: 'warn', reason: 'https://tracker.example/DEMO-1' },
  )
  const rows = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).select('id', 'balance'))
  out.line(`balances afterwards: ${rows.map((r: { id: number; balance: number }) => `id ${r.id} = ${r.balance}`).join(', ')}`)
  return "'warn': the cross-shard transfer committed (-80 first, then 80-) and logged one warning with its reason."
}
