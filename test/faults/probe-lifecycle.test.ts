/**
 * Background probing is bounded in time and never holds the process: probes of a down shard run
 * every probeIntervalMs until db.destroy(), which stops them; and a process that forgets
 * destroy() still exits (the timers are unref'd).
 */
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createShardedDb, ShardUnavailableError } from '../../src/index.js'

/** A "shard" that accepts TCP connections and never says a word: a hung server. Counts connections. */
let hung: net.Server
let connections = 0
const sockets = new Set<net.Socket>()

beforeAll(async () => {
  hung = net.createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((resolve) => hung.close(resolve))
})

test('a hung shard is probed every probeIntervalMs while down, and db.destroy() stops the probing', async () => {
  const port = (hung.address() as net.AddressInfo).port
  const db = createShardedDb({
    shards: { '0': `mysql://app:pw@127.0.0.1:${port}/app` },
    tables: { t: { shardKey: 'id' } },
    connectTimeoutMs: 200,
    health: { probeIntervalMs: 50 },
  })
  const err = await db.transaction((tx) => tx('t').where({ id: 1 }).first()).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(ShardUnavailableError)
  expect(db.health()['0']!.state).not.toBe('up')

  const before = connections
  await new Promise((r) => setTimeout(r, 700))
  const whileDown = connections - before
  // Each probe (a fresh connection, given connectTimeoutMs / 2 to answer) starts probeIntervalMs after the last failed.
  expect(whileDown).toBeGreaterThanOrEqual(3)
  expect(whileDown).toBeLessThanOrEqual(Math.ceil(700 / 50))

  await db.destroy()
  await new Promise((r) => setTimeout(r, 150)) // a probe in flight at destroy() ends
  const afterDestroy = connections
  await new Promise((r) => setTimeout(r, 500))
  expect(connections).toBe(afterDestroy)
})

test("a process that never calls db.destroy() still exits: probe timers are unref'd", { timeout: 30_000 }, async () => {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'probe-lifecycle.child.ts')
  const started = performance.now()
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('exit', (c) => {
      clearTimeout(killer)
      resolve({ code: c, stdout: out })
    })
  })
  expect(code).toBe(0) // not killed by the 20 s guard
  expect(JSON.parse(stdout.trim())).toEqual({ code: 'SHARDTX_SHARD_UNAVAILABLE', state: expect.stringMatching(/down|probing/) })
  expect(performance.now() - started).toBeLessThan(20_000)
})
