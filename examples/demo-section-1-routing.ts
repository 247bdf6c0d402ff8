/**
 * Demo section: routing. Each row goes to the shard its key hashes to (the Vitess hash vindex),
 * and a read of keys on two shards runs on both. Loaded by examples/demo.ts.
 */
import type { DemoContext } from './demo-support.js'

export default async function routingSection({ db, shards, out }: DemoContext): Promise<string> {
  out.heading('Routing: each row goes to the shard of its key (the Vitess hash vindex)')
  out.line(`db.shardOf('accounts', id): ${[1, 2, 3, 4, 5, 6].map((id) => `${id} -> ${db.shardOf('accounts', id)}`).join(', ')}`)
  await db.transaction((tx) => tx('accounts').insert([1, 2, 3, 5].map((id) => ({ id, owner: `user${id}`, balance: 100 }))))
  await db.transaction((tx) => tx('accounts').insert([4, 6].map((id) => ({ id, owner: `user${id}`, balance: 100 }))))
  for (const name of db.shardNames) {
    const ids = (await shards.query(name, 'SELECT id FROM accounts ORDER BY id')).map((r) => r.id)
    out.line(`the database of shard ${name} holds accounts ${ids.join(', ')}`)
  }
  const both = await db.transaction((tx) => tx('accounts').whereIn('id', [1, 4]).select('id', 'balance'))
  out.line(`a read of ids 1 and 4 ran on both shards: ${both.map((r: { id: number; balance: number }) => `id ${r.id} balance ${r.balance}`).join(', ')}`)
  return 'Routing: rows land on the shard of their key; a read across shards runs on each.'
}
