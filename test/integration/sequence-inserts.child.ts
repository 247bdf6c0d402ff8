/**
 * Child process of sequences.test.ts: one process's worth of concurrent inserts into a table
 * whose key comes from a sequence. Reads the shards from SHARDTX_SEQ_SHARDS (JSON) and the count
 * from SHARDTX_SEQ_INSERTS; prints one JSON line with the ids the inserts resolved to.
 */
import { createShardedDb } from '../../src/index.js'
import { SEQUENCE_BLOCK, SEQUENCE_TABLES } from '../support/sequence-tables.js'

const shards = JSON.parse(process.env.SHARDTX_SEQ_SHARDS ?? '{}') as Record<string, { database: string }>
const inserts = Number(process.env.SHARDTX_SEQ_INSERTS)
const db = createShardedDb({ shards, tables: SEQUENCE_TABLES, pool: { max: 8 } })
try {
  const results = await Promise.all(Array.from({ length: inserts }, (_, i) => db.transaction((tx) => tx('customers').insert({ name: `p${process.pid}-${i}` }))))
  console.log(JSON.stringify({ ids: results.map((r) => Number((r as number[])[0])), block: SEQUENCE_BLOCK }))
} finally {
  await db.destroy()
}
