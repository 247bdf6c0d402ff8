/**
 * The other side of a cross-process deadlock (deadlock-two-process.test.ts): a second Node process
 * with its own ShardedDb and pools. Driven over the IPC channel:
 *   parent -> { type: 'run' }   child runs one warn transaction: decrements `first`, reports
 *                               'holding', waits for 'go', then increments `second`;
 *   parent -> { type: 'go' }
 *   child  -> { type: 'done', ok, error, calls, stats, events }
 *   parent -> { type: 'exit' }  child destroys its ShardedDb and exits.
 */
import { createShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { captureLogger } from './capture-logger.js'

interface ChildConfig {
  shards: ShardedDbOptions['shards']
  first: number
  second: number
  maxAttempts: number
}

const config = JSON.parse(process.argv[2]!) as ChildConfig
const logger = captureLogger()
const db = createShardedDb({
  shards: config.shards,
  tables: { accounts: { shardKey: 'id' } },
  crossShard: 'warn',
  logger,
  retry: { maxAttempts: config.maxAttempts, baseDelayMs: 1 },
})
const send = (message: object) => process.send!(message)

let go!: () => void
const goSignal = new Promise<void>((resolve) => (go = resolve))

async function run(): Promise<void> {
  let calls = 0
  try {
    await db.transaction(async (tx) => {
      calls++
      await tx('accounts').where({ id: config.first }).decrement('balance', 1)
      if (calls === 1) {
        send({ type: 'holding', transactionId: tx.id })
        await goSignal
      }
      await tx('accounts').where({ id: config.second }).increment('balance', 1)
    })
    send({ type: 'done', ok: true, calls, stats: db.deadlockStats(), events: logger.events('shardtx.distributed_deadlock').map((e) => e.obj) })
  } catch (err) {
    const e = err as { name?: string; code?: string; errno?: number; message?: string }
    send({
      type: 'done',
      ok: false,
      calls,
      stats: db.deadlockStats(),
      events: logger.events('shardtx.distributed_deadlock').map((l) => l.obj),
      error: { name: e.name, code: e.code, errno: e.errno, message: e.message },
    })
  }
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'run') void run()
  else if (message.type === 'go') go()
  else if (message.type === 'exit') void db.destroy().finally(() => process.exit(0))
})
send({ type: 'ready', pid: process.pid })
