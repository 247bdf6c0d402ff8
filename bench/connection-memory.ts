/**
 * bench/connection-memory: heap held per open pooled connection, shardtx's shard pool against a
 * plain knex pool with mysql2's defaults, on the same shard database.
 *
 *   npm run bench:memory -- [--connections 64] [--rounds 3]
 *
 * Each side opens `--connections` connections at once and holds them; the heap after a full GC,
 * minus the heap before (also after a GC), divided by the count, is what one connection holds.
 * Every reading runs in a fresh child process (a closed pool's connections are freed only some
 * time after it closes, which would show up in the next reading), and rounds alternate which side
 * goes first. Needs `node --expose-gc` (the npm script passes it; children inherit it).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import knexFactory, { type Knex } from 'knex'
import { createShardedDb, keyrangeNames } from './support/built-package.js'
import { createTestShards, type TestShardConnection } from '../test/support/shard-databases.js'
import { median } from './support/stats.js'

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    // Internal: one reading of one side, on the shard database whose settings come on stdin.
    side: { type: 'string' },
  },
})
const CONNECTIONS = Number(values.connections)
const ROUNDS = Number(values.rounds)

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('bench/connection-memory needs a full GC between readings: run it with node --expose-gc (npm run bench:memory does)')

interface PoolClient {
  acquireConnection(): Promise<unknown>
  releaseConnection(connection: unknown): Promise<void>
}

/** Heap bytes per connection while `count` connections of `knex`'s pool are held open. */
async function heapPerConnection(knex: Knex, count: number): Promise<number> {
  const client = knex.client as PoolClient
  gc!()
  const before = process.memoryUsage().heapUsed
  const held = await Promise.all(Array.from({ length: count }, () => client.acquireConnection()))
  gc!()
  const after = process.memoryUsage().heapUsed
  await Promise.all(held.map((c) => client.releaseConnection(c)))
  return (after - before) / count
}

const SIDES = ['plain knex (mysql2 defaults)', 'shardtx shard pool'] as const
type Side = (typeof SIDES)[number]

/** One reading, in this process: `side`'s pool on the one shard in `shardConfig`. */
async function readSide(side: Side, shardConfig: Record<string, TestShardConnection>): Promise<number> {
  const [name] = Object.keys(shardConfig)
  const pool = { min: 0, max: CONNECTIONS }
  if (side === 'shardtx shard pool') {
    const db = createShardedDb({ shards: shardConfig, tables: { accounts: { shardKey: 'id' } }, pool })
    try {
      return await heapPerConnection(db.shard(name!), CONNECTIONS)
    } finally {
      await db.destroy()
    }
  }
  const knex = knexFactory({ client: 'mysql2', connection: shardConfig[name!]!, pool })
  try {
    return await heapPerConnection(knex, CONNECTIONS)
  } finally {
    await knex.destroy()
  }
}

/**
 * One reading in a fresh child process (same flags, so --expose-gc and tsx carry over). The
 * connection settings go on stdin, not the command line, where `ps` would show the password.
 */
function readInChild(side: Side, shardConfig: object): number {
  const args = [...process.execArgv, process.argv[1]!, '--side', side, '--connections', String(CONNECTIONS)]
  return Number(JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', input: JSON.stringify(shardConfig) })))
}

async function main() {
  if (values.side !== undefined) {
    process.stdout.write(JSON.stringify(await readSide(values.side as Side, JSON.parse(readFileSync(0, 'utf8')))))
    return
  }
  const shards = await createTestShards({ names: keyrangeNames(1) })
  const results = new Map<Side, number[]>(SIDES.map((side) => [side, []]))
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? SIDES : [...SIDES].reverse()) results.get(side)!.push(readInChild(side, shards.shards))
    }
  } finally {
    await shards.drop()
  }
  const baseline = median(results.get(SIDES[0])!)
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`
  console.log(`bench/connection-memory: ${CONNECTIONS} connections held per side, ${ROUNDS} rounds (median shown), node ${process.version}\n`)
  console.log('| side | heap per connection | each round | vs plain knex |')
  console.log('|---|---:|---|---:|')
  for (const [side, xs] of results) console.log(`| ${side} | ${kb(median(xs))} | ${xs.map(kb).join(' ')} | ${(median(xs) / baseline).toFixed(2)}x |`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
