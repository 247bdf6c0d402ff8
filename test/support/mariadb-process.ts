/**
 * Separate `mariadbd` processes for fault tests: each one is a real server with its own temp
 * datadir and port, which a test can SIGKILL, SIGSTOP and restart without touching the shared
 * test server or other tests.
 *
 * Speed: `mariadb-install-db` runs once per test process into a template datadir; every server
 * starts from a copy of it (measured on a 2-core VM: install-db ~0.6 s once, then a start from
 * the template ~0.15-0.3 s).
 *
 * No leftovers, however a test ends:
 * - Everything lives under one per-process temp directory (`$TMPDIR/shardtx-mariadb-<pid>-*`).
 * - On normal process exit (`process.on('exit')`, synchronous) every server still running is
 *   SIGKILLed and that directory removed.
 * - A process that dies by a signal (vitest killing a worker, ^C, OOM) runs no exit handler, so a
 *   small detached `sh` watchdog holds the read end of a pipe from this process; when the pipe
 *   closes (this process is gone, however it died) it SIGKILLs the servers and removes the
 *   directory.
 * - The next process removes `shardtx-mariadb-<pid>-*` directories whose pid is dead.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import mysql from 'mysql2/promise'
import { freePort } from './free-port.js'

/** A running (or killed, or paused) `mariadbd` started by {@link startMariadb}. */
export interface MariadbProcess {
  /** TCP port on 127.0.0.1; stays the same across restart(). */
  readonly port: number
  /** `mysql://root@127.0.0.1:<port>` (root, empty password). */
  readonly url: string
  /** Pid of the current `mariadbd` process (changes on restart()). */
  readonly pid: number
  readonly datadir: string
  /** Send `signal` (SIGKILL by default: a crash) and resolve once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** SIGSTOP: the server hangs (connections stay open, nothing answers). */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
  /**
   * Start again on the same datadir and port (InnoDB crash recovery runs if it was killed);
   * resolves when it answers. A server that is still running is SIGKILLed first.
   */
  restart(): Promise<void>
  /** Clean shutdown (SIGTERM, SIGKILL after 30 s) and remove the datadir. Safe to call twice. */
  stop(): Promise<void>
}

export interface StartMariadbOptions {
  /** Used in the datadir name and error messages, e.g. `shard-80`. */
  name?: string
  /** More `mariadbd` options, appended last so they override the defaults, e.g. `['--innodb-lock-wait-timeout=5']`. */
  extraArgs?: string[]
}

const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 30_000
const INSTALL_HINT =
  'Install MariaDB server binaries (Debian/Ubuntu: `apt-get install mariadb-server`), or point ' + 'SHARDTX_MARIADBD / SHARDTX_MARIADB_INSTALL_DB at them.'

/** Small and fast: fault tests need many short-lived servers, not durability or throughput. */
const SERVER_ARGS = [
  '--bind-address=127.0.0.1',
  '--skip-name-resolve',
  '--skip-log-bin',
  '--innodb-buffer-pool-size=32M',
  '--innodb-log-file-size=8M',
  // Commits reach the OS at once, so a SIGKILL (process crash) loses nothing; only an OS crash would.
  '--innodb-flush-log-at-trx-commit=2',
  '--innodb-buffer-pool-load-at-startup=0',
  '--innodb-buffer-pool-dump-at-shutdown=0',
  // --no-defaults would otherwise leave latin1; match the Debian server the other tests use.
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
  '--max-connections=1000',
]

interface Runtime {
  root: string
  mariadbd: string
  installDb: string
  watchdog: ChildProcess | undefined
  live: Set<ServerProcess>
}

let runtime: Runtime | undefined
let template: Promise<{ dir: string; ms: number }> | undefined
let serial = 0

/**
 * Starts a fresh MariaDB server on a free port of 127.0.0.1 with an empty datadir (root, empty
 * password over TCP) and resolves once it answers queries.
 *
 * @example
 * ```ts
 * const shard = await startMariadb({ name: 'shard-80' })
 * const db = createShardedDb({ shards: { '-80': `${shard.url}/app`, ... }, ... })
 * await shard.kill()        // SIGKILL: connections get ECONNRESET / ECONNREFUSED
 * await shard.restart()     // same port and data, after InnoDB recovery
 * await shard.stop()        // in afterAll
 * ```
 */
export async function startMariadb(opts: StartMariadbOptions = {}): Promise<MariadbProcess> {
  const rt = ensureRuntime()
  const tpl = await prepareMariadbTemplate()
  const name = `${(opts.name ?? 'mariadb').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-${++serial}`
  const datadir = path.join(rt.root, name)
  // Reflink where the filesystem can, plain copy otherwise: the template is ~26 MB.
  await fs.cp(tpl.dir, datadir, { recursive: true, mode: fs.constants.COPYFILE_FICLONE })

  // The port is free when picked but another process may grab it before mariadbd binds it:
  // retry with a new one when the bind fails.
  for (let attempt = 1; ; attempt++) {
    const server = new ServerProcess(rt, name, datadir, await freePort(), opts.extraArgs ?? [])
    try {
      await server.start()
      return server
    } catch (err) {
      if (attempt < 3 && server.bindFailed()) continue
      await server.stop().catch(() => {})
      throw err
    }
  }
}

/**
 * Runs `mariadb-install-db` once per process into a template datadir (later calls return the
 * same result); `startMariadb` calls it for you. Call it in a `beforeAll` to keep its cost out of
 * a timed test. `ms` is how long install-db took.
 *
 * @example
 * ```ts
 * const { ms } = await prepareMariadbTemplate()   // ~600 ms the first time, 0 afterwards
 * ```
 */
export function prepareMariadbTemplate(): Promise<{ dir: string; ms: number }> {
  template ??= (async () => {
    const rt = ensureRuntime()
    const dir = path.join(rt.root, 'template')
    const started = performance.now()
    try {
      await promisify(execFile)(
        rt.installDb,
        [
          '--no-defaults',
          `--datadir=${dir}`,
          '--auth-root-authentication-method=normal', // root@127.0.0.1 with an empty password
          '--skip-test-db',
          '--skip-name-resolve',
          ...userArgs(),
          // Passed through to the bootstrap server: an 8 MB redo log instead of 100 MB keeps each copy small.
          '--innodb-log-file-size=8M',
          '--innodb-buffer-pool-size=32M',
        ],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      )
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message?: string }
      throw new Error(`mariadb-install-db failed (${rt.installDb} --datadir=${dir}): ${e.message}\n` + tail(`${e.stdout ?? ''}\n${e.stderr ?? ''}`, 20), {
        cause: err,
      })
    }
    return { dir, ms: Math.round(performance.now() - started) }
  })()
  // A failed attempt should not poison later ones (e.g. after the missing package is installed).
  template.catch(() => {
    template = undefined
  })
  return template
}

class ServerProcess implements MariadbProcess {
  readonly url: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private exitStatus = ''
  private alive = false
  private paused = false
  /** Error log size when the current start began, so bindFailed() looks at this start only. */
  private logOffset = 0
  private stopped: Promise<void> | undefined

  constructor(
    private readonly rt: Runtime,
    private readonly name: string,
    readonly datadir: string,
    readonly port: number,
    private readonly extraArgs: string[],
  ) {
    this.url = `mysql://root@127.0.0.1:${port}`
  }

  get pid(): number {
    return this.child?.pid ?? -1
  }

  private get running(): boolean {
    return this.alive
  }

  get errorLog(): string {
    return path.join(this.datadir, 'error.log')
  }

  async start(): Promise<void> {
    const args = [
      '--no-defaults', // must come first: never read /etc/mysql (its port, datadir, socket)
      `--datadir=${this.datadir}`,
      `--port=${this.port}`,
      `--socket=${path.join(this.rt.root, `${this.name}.sock`)}`, // short: unix sockets are limited to 108 bytes
      `--pid-file=${path.join(this.datadir, 'mariadbd.pid')}`,
      `--log-error=${this.errorLog}`,
      ...userArgs(),
      ...SERVER_ARGS,
      ...this.extraArgs,
    ]
    this.logOffset = readLog(this.errorLog).length
    const child = spawn(this.rt.mariadbd, args, { stdio: 'ignore' })
    this.child = child
    this.alive = true
    this.paused = false
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = signal ? `killed by ${signal}` : `exit code ${code}`
        this.alive = false
        this.rt.live.delete(this)
        watchdogSend(this.rt, `-${child.pid}`)
        resolve()
      })
      // spawn errors (ENOENT, EACCES) come as 'error' with no 'exit'.
      child.once('error', (err) => {
        this.exitStatus = `could not start: ${err.message}`
        this.alive = false
        this.rt.live.delete(this)
        resolve()
      })
    })
    if (child.pid !== undefined) {
      this.rt.live.add(this)
      watchdogSend(this.rt, `+${child.pid}`)
    }
    await this.waitReady()
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    let lastError: unknown
    while (Date.now() < deadline) {
      if (!this.running) {
        await this.exited
        throw this.startError(`mariadbd exited during startup (${this.exitStatus})`)
      }
      try {
        const conn = await mysql.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 1_000 })
        try {
          await conn.query('SELECT 1')
          return
        } finally {
          await conn.end().catch(() => {})
        }
      } catch (err) {
        lastError = err
        await sleep(50)
      }
    }
    throw this.startError(`mariadbd did not answer within ${READY_TIMEOUT_MS / 1000} s (last error: ${(lastError as Error)?.message})`)
  }

  private startError(what: string): Error {
    return new Error(
      `${what}; server ${this.name}, port ${this.port}, datadir ${this.datadir}.\n` + `Last lines of ${this.errorLog}:\n${tail(readLog(this.errorLog), 25)}`,
    )
  }

  /** True when the last start failed because the port was taken. */
  bindFailed(): boolean {
    return /Address already in use|Can't start server: Bind on TCP\/IP port/.test(readLog(this.errorLog).slice(this.logOffset))
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return
    this.child!.kill(signal)
    // A stopped process acts on SIGTERM etc. only once continued (SIGKILL works regardless).
    if (this.paused && signal !== 'SIGKILL' && signal !== 'SIGSTOP') this.resume()
    await this.exited
  }

  pause(): void {
    if (!this.running) throw new Error(`pause(): server ${this.name} is not running (${this.exitStatus})`)
    this.child!.kill('SIGSTOP')
    this.paused = true
    // SIGSTOP takes effect when each thread next runs, which on a loaded machine can be a while
    // after kill() returns; wait so that a test's next statement really meets a hung server.
    waitUntilStopped(this.child!.pid!)
  }

  resume(): void {
    if (!this.running) throw new Error(`resume(): server ${this.name} is not running (${this.exitStatus})`)
    this.child!.kill('SIGCONT')
    this.paused = false
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`restart(): server ${this.name} was stopped and its datadir removed`)
    await this.kill('SIGKILL')
    await this.start()
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.running) {
        if (this.paused) this.resume()
        this.child!.kill('SIGTERM')
        // The timer is cancelled once the server exits, so it never holds the process open.
        const timer = new AbortController()
        const timedOut = await Promise.race([this.exited.then(() => false), sleep(STOP_TIMEOUT_MS, true, { signal: timer.signal }).catch(() => false)])
        timer.abort()
        if (timedOut) await this.kill('SIGKILL')
      }
      await fs.rm(this.datadir, { recursive: true, force: true, maxRetries: 3 })
    })()
    return this.stopped
  }
}

/** Finds the binaries, creates the per-process temp root, installs the exit handler and watchdog. */
function ensureRuntime(): Runtime {
  if (runtime) return runtime
  const mariadbd = findExecutable('SHARDTX_MARIADBD', ['mariadbd', 'mysqld'], ['/usr/sbin', '/usr/libexec', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'])
  const installDb = findExecutable('SHARDTX_MARIADB_INSTALL_DB', ['mariadb-install-db', 'mysql_install_db'], ['/usr/bin', '/usr/local/bin', '/usr/sbin'])
  if (!mariadbd || !installDb) {
    throw new Error(
      `Cannot start a separate MariaDB server for fault tests: ${!mariadbd ? 'mariadbd' : 'mariadb-install-db'} ` +
        `not found (looked at $SHARDTX_MARIADBD / $SHARDTX_MARIADB_INSTALL_DB if set, else $PATH, /usr/sbin, ` +
        `/usr/bin, /usr/local). ${INSTALL_HINT}`,
    )
  }
  removeStaleRoots()
  const root = mkdtempSync(path.join(os.tmpdir(), `shardtx-mariadb-${process.pid}-`))
  const rt: Runtime = { root, mariadbd, installDb, watchdog: startWatchdog(root), live: new Set() }
  process.on('exit', () => {
    // Synchronous only: the event loop is gone. SIGKILL works on paused servers too.
    for (const server of rt.live) {
      try {
        process.kill(server.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  })
  runtime = rt
  return rt
}

/**
 * A detached `sh` that reads `+pid` / `-pid` lines and, at end of input (our process died, even by
 * SIGKILL), SIGKILLs the pids still listed and removes the temp root. Detached so a ^C sent to
 * the terminal's process group does not kill it before it has cleaned up.
 */
function startWatchdog(root: string): ChildProcess | undefined {
  const script = `
    pids=''
    while IFS= read -r line; do
      case "$line" in
        +*) pids="$pids \${line#+}" ;;
        -*) keep=''; for p in $pids; do [ "$p" = "\${line#-}" ] || keep="$keep $p"; done; pids="$keep" ;;
      esac
    done
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null
    sleep 0.2
    rm -rf "$1"
  `
  try {
    const child = spawn('/bin/sh', ['-c', script, 'shardtx-mariadb-watchdog', root], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    })
    child.on('error', () => {}) // no /bin/sh: the exit handler still covers normal exits
    child.stdin?.on('error', () => {})
    // Neither the watchdog nor its pipe may keep this process alive.
    child.unref()
    ;(child.stdin as unknown as { unref?: () => void } | null)?.unref?.()
    return child
  } catch {
    return undefined
  }
}

function watchdogSend(rt: Runtime, line: string): void {
  if (rt.watchdog?.stdin?.writable) rt.watchdog.stdin.write(`${line}\n`)
}

/** Removes temp roots (and kills their servers) left by test processes that no longer exist. */
function removeStaleRoots(): void {
  let entries: string[]
  try {
    entries = readdirSync(os.tmpdir())
  } catch {
    return
  }
  for (const entry of entries) {
    const m = /^shardtx-mariadb-(\d+)-/.exec(entry)
    if (!m || pidAlive(Number(m[1]))) continue
    const root = path.join(os.tmpdir(), entry)
    try {
      for (const sub of readdirSync(root)) {
        const pid = Number(readLog(path.join(root, sub, 'mariadbd.pid')).trim())
        // Only a mariadbd still serving that very datadir: the pid may have been reused since.
        if (pid > 0 && readLog(`/proc/${pid}/cmdline`).includes(path.join(root, sub))) process.kill(pid, 'SIGKILL')
      }
    } catch {
      // best effort
    }
    rmSync(root, { recursive: true, force: true, maxRetries: 3 })
  }
}

/**
 * Blocks (at most 2 s) until every thread of `pid` is in state T (stopped), per /proc. Where
 * /proc is unreadable it returns at once: the signal still arrives, just maybe a moment later.
 */
function waitUntilStopped(pid: number): void {
  const tick = new Int32Array(new SharedArrayBuffer(4))
  const deadline = Date.now() + 2_000
  while (Date.now() < deadline) {
    let states: string[]
    try {
      states = readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!)
    } catch {
      return
    }
    if (states.every((s) => s === 'T' || s === 't')) return
    Atomics.wait(tick, 0, 0, 1) // a synchronous 1 ms sleep: pause() is synchronous by contract
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function findExecutable(envVar: string, names: string[], dirs: string[]): string | undefined {
  const fromEnv = process.env[envVar]
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined
  const searchDirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...dirs]
  for (const name of names) {
    for (const dir of searchDirs) {
      const candidate = path.join(dir, name)
      if (existsSync(candidate)) return candidate
    }
  }
  return undefined
}

/** mariadbd refuses to run as root unless told to; as another user --user is not needed. */
function userArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : []
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}
