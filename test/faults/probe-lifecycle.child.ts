/**
 * Child process of probe-lifecycle.test.ts: a ShardedDb whose only shard refuses connections,
 * one failed transaction (the shard is then down and probed in the background), and no
 * db.destroy(). The process must still exit by itself: probe timers are unref'd.
 */
import { createShardedDb } from '../../src/index.js'

const db = createShardedDb({
  shards: { '0': 'mysql://app:pw@127.0.0.1:1/app' },
  tables: { t: { shardKey: 'id' } },
  health: { probeIntervalMs: 50 },
})
const err = await db.transaction((tx) => tx('t').where({ id: 1 }).first()).catch((e: Error & { code?: string }) => e)
await new Promise((r) => setTimeout(r, 200)) // a few recovery probes run
console.log(JSON.stringify({ code: (err as { code?: string }).code, state: db.health()['0']!.state }))
