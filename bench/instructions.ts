/**
 * bench/instructions: Node-side instructions per transaction of each side of bench/overhead,
 * counted by valgrind's callgrind. Instruction counts do not move with the neighbours' load the
 * way seconds do, so this is the figure to compare code versions with on a shared machine.
 *
 *   npm run build && npx tsx bench/instructions.ts [--workloads '1 statement,5 statements'] [--sides shardtx,knex,raw]
 *     [--warmup 300] [--transactions 1000]
 *
 * For each side and workload it runs one child process under callgrind twice, with one client:
 * `warmup` transactions, then `warmup + transactions`. The difference, divided by
 * `transactions`, is what a transaction costs once the code is warm: start-up, schema setup and
 * most of the JIT's work cancel out. MariaDB runs in its own process and is not counted.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { WORKLOADS } from './support/overhead-workloads.js'
import { SIDE_NAMES, openOneShardSide } from './support/one-shard-sides.js'

const { values } = parseArgs({
  options: {
    workloads: { type: 'string', default: '1 statement,5 statements' },
    sides: { type: 'string', default: SIDE_NAMES.join(',') },
    warmup: { type: 'string', default: '300' },
    transactions: { type: 'string', default: '1000' },
    // Child mode: run this many transactions of one side and workload, then exit.
    child: { type: 'string' },
    side: { type: 'string' },
    workload: { type: 'string' },
  },
})

async function child(count: number): Promise<void> {
  const side = await openOneShardSide(values.side!, values.workload!, 1)
  await side.run(count)
  await side.close()
}

const run = promisify(execFile)

/** Instructions callgrind counted for one child run (every thread of the process). */
async function countInstructions(side: string, workload: string, count: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shardtx-callgrind-'))
  const out = path.join(dir, 'callgrind.out')
  try {
    const script = fileURLToPath(import.meta.url)
    await run(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${out}`,
        process.execPath,
        '--import',
        'tsx',
        script,
        '--child',
        String(count),
        '--side',
        side,
        '--workload',
        workload,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    )
    const summary = /^summary: (\d+)/m.exec(readFileSync(out, 'utf8'))
    if (summary === null) throw new Error(`callgrind wrote no summary line to ${out}`)
    return Number(summary[1])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const warmup = Number(values.warmup)
  const transactions = Number(values.transactions)
  const workloads = values.workloads.split(',').map((w) => w.trim())
  const sides = values.sides.split(',').map((s) => s.trim())
  for (const w of workloads)
    if (!(w in WORKLOADS)) throw new TypeError(`Expected --workloads from ${JSON.stringify(Object.keys(WORKLOADS))}, got ${JSON.stringify(w)}`)
  for (const s of sides)
    if (!(SIDE_NAMES as readonly string[]).includes(s)) throw new TypeError(`Expected --sides from ${JSON.stringify(SIDE_NAMES)}, got ${JSON.stringify(s)}`)
  console.log(`bench/instructions: callgrind, 1 client, (${warmup + transactions} - ${warmup}) transactions per side and workload, node ${process.version}`)
  console.log('\n| workload | side | instructions per transaction | vs raw | vs knex |')
  console.log('|---|---|---|---|---|')
  for (const workload of workloads) {
    const perTx: Record<string, number> = {}
    for (const side of sides) {
      const short = await countInstructions(side, workload, warmup)
      const long = await countInstructions(side, workload, warmup + transactions)
      perTx[side] = (long - short) / transactions
    }
    for (const side of sides) {
      const ratio = (base: string) => (perTx[base] === undefined ? '' : (perTx[side]! / perTx[base]).toFixed(3))
      console.log(`| ${workload} | ${side} | ${(perTx[side]! / 1000).toFixed(0)} k | ${ratio('raw')} | ${ratio('knex')} |`)
    }
  }
}

;(values.child === undefined ? main() : child(Number(values.child))).catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
