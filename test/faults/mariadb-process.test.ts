import { existsSync, readFileSync } from 'node:fs'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { prepareMariadbTemplate, startMariadb, type MariadbProcess } from '../support/mariadb-process.js'

function connect(server: MariadbProcess, connectTimeout = 3_000): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', connectTimeout })
}

async function scalar(server: MariadbProcess, sql: string): Promise<unknown> {
  const conn = await connect(server)
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(sql)
    return rows[0] ? Object.values(rows[0])[0] : undefined
  } finally {
    await conn.end()
  }
}

/** Linux process state letter: R/S running or sleeping, T stopped (SIGSTOP). */
function processState(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!
}

async function ms<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const result = await fn()
  return [result, Math.round(performance.now() - started)]
}

const timings: Record<string, number> = {}
afterAll(() => {
  // One line in the test output, so CI logs keep a record of how fast this machine is.
  console.log(`mariadb-process timings (ms): ${JSON.stringify(timings)}`)
})

describe('startMariadb: one server through pause, kill, restart and stop', () => {
  let server: MariadbProcess

  beforeAll(async () => {
    timings.installDbTemplate = (await prepareMariadbTemplate()).ms
    ;[server, timings.startFromTemplate] = await ms(() => startMariadb({ name: 'lifecycle' }))
  })
  afterAll(async () => {
    await server?.stop()
  })

  test('answers queries as root without a password, on its own port and datadir', async () => {
    expect(server.url).toBe(`mysql://root@127.0.0.1:${server.port}`)
    expect(server.port).not.toBe(3306)
    expect(await scalar(server, 'SELECT @@port')).toBe(server.port)
    expect(await scalar(server, 'SELECT @@datadir')).toBe(`${server.datadir}/`)
    expect(await scalar(server, 'SELECT @@character_set_server')).toBe('utf8mb4')
    expect(existsSync(server.datadir)).toBe(true)
  })

  test('pause(): the process exists but nothing answers; resume(): it answers again', async () => {
    const conn = await connect(server)
    server.pause()
    try {
      expect(processState(server.pid)).toBe('T')
      await expect(conn.query({ sql: 'SELECT 1', timeout: 1_000 })).rejects.toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' })
      // New connections hang too: the kernel accepts TCP, but the server never sends its greeting.
      await expect(connect(server, 1_000)).rejects.toMatchObject({ code: 'ETIMEDOUT' })
      expect(processState(server.pid)).toBe('T')
    } finally {
      server.resume()
      conn.destroy()
    }
    expect(processState(server.pid)).not.toBe('T')
    expect(await scalar(server, 'SELECT 42')).toBe(42)
  })

  test('kill(): connections are refused; restart(): committed data survives, uncommitted does not', async () => {
    const setup = await connect(server)
    await setup.query('CREATE DATABASE app')
    await setup.query('CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB')
    await setup.beginTransaction()
    await setup.query("INSERT INTO app.t VALUES (1, 'committed')")
    await setup.commit()
    // Left open at the moment of the crash: InnoDB recovery must roll it back.
    await setup.beginTransaction()
    await setup.query("INSERT INTO app.t VALUES (2, 'in flight')")

    const oldPid = server.pid
    await server.kill()
    expect(() => process.kill(oldPid, 0)).toThrow(/ESRCH/)
    await expect(setup.query('SELECT 1')).rejects.toThrow()
    setup.destroy()
    await expect(connect(server)).rejects.toMatchObject({ code: 'ECONNREFUSED' })

    ;[, timings.restartAfterSigkill] = await ms(() => server.restart())
    expect(server.pid).not.toBe(oldPid)
    const conn = await connect(server)
    try {
      const [rows] = await conn.query('SELECT id, v FROM app.t ORDER BY id')
      expect(rows).toEqual([{ id: 1, v: 'committed' }])
    } finally {
      await conn.end()
    }
  })

  test('restart() of a running server crashes and restarts it on the same port', async () => {
    const { port, pid } = server
    await server.restart()
    expect(server.port).toBe(port)
    expect(server.pid).not.toBe(pid)
    expect(await scalar(server, 'SELECT COUNT(*) FROM app.t')).toBe(1)
  })

  test('stop() shuts down cleanly, removes the datadir, and can be called twice', async () => {
    const { pid, datadir } = server
    ;[, timings.cleanStop] = await ms(() => server.stop())
    await server.stop()
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/)
    expect(existsSync(datadir)).toBe(false)
    await expect(server.restart()).rejects.toThrow(/stopped/)
  })
})

describe('startMariadb: two servers at once', () => {
  let a: MariadbProcess
  let b: MariadbProcess

  beforeAll(async () => {
    ;[[a, b], timings.startTwoConcurrently] = await ms(() => Promise.all([startMariadb({ name: 'shard-a' }), startMariadb({ name: 'shard-b' })]))
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })

  test('have their own ports, datadirs and data', async () => {
    expect(a.port).not.toBe(b.port)
    expect(a.datadir).not.toBe(b.datadir)
    expect(a.pid).not.toBe(b.pid)
    const conn = await connect(a)
    await conn.query('CREATE DATABASE only_on_a')
    await conn.end()
    expect(await scalar(a, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'only_on_a'")).toBe(1)
    expect(await scalar(b, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'only_on_a'")).toBe(0)
  })

  test('killing or pausing one leaves the other answering', async () => {
    a.pause()
    expect(await scalar(b, 'SELECT 1')).toBe(1)
    await a.kill() // SIGKILL works on a stopped process too
    expect(await scalar(b, 'SELECT 2')).toBe(2)
    await expect(connect(a)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await a.restart()
    expect(await scalar(a, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'only_on_a'")).toBe(1)
  })
})

describe('startMariadb without MariaDB installed', () => {
  test('says how to install it', async () => {
    // A fresh copy of the module, so the binaries are looked up again under the changed env.
    vi.resetModules()
    vi.stubEnv('SHARDTX_MARIADBD', '/nonexistent/mariadbd')
    try {
      const fresh = await import('../support/mariadb-process.js')
      await expect(fresh.startMariadb()).rejects.toThrow(/mariadbd not found.*apt-get install mariadb-server/)
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
