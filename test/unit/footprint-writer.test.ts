// The footprint writer on its own: order, bounded memory under a stalled disk, dropped counts
// written into the file, write errors, several processes appending to one file, and exit.
import { execFile } from 'node:child_process'
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseFootprintLine } from '../../src/shared/footprint-record.js'
import { FootprintWriter, MAX_QUEUED_LINES, type FootprintWriterIo } from '../../src/logging/footprint-writer.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')
const WRITER_MODULE = path.join(ROOT, 'src/logging/footprint-writer.ts')

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shardtx-footprint-'))
  file = path.join(dir, 'footprints.jsonl')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const lines = () =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')

/** Real file system, except that writes wait until `release()` is called. */
function stalledIo() {
  const held: (() => void)[] = []
  const io: FootprintWriterIo = {
    openSync: (f, flags) => fs.openSync(f, flags),
    write: (fd, buffer, offset, length, position, cb) => held.push(() => fs.write(fd, buffer, offset, length, position, cb)),
    writeSync: (fd, buffer) => fs.writeSync(fd, buffer),
    close: (fd, cb) => fs.close(fd, cb),
  }
  return { io, held, release: () => held.splice(0).forEach((go) => go()) }
}

describe('FootprintWriter', () => {
  it('creates the file and appends lines in order; flush waits for the disk', async () => {
    fs.writeFileSync(file, '{"existing":true}\n')
    const writer = new FootprintWriter(file)
    for (let i = 0; i < 20; i++) expect(writer.append(`{"i":${i}}\n`)).toBe(true)
    await writer.flush()
    expect(lines()).toEqual(['{"existing":true}', ...Array.from({ length: 20 }, (_, i) => `{"i":${i}}`)])
    await writer.close()
    expect(writer.append('{"late":true}\n')).toBe(false)
  })

  it('keeps at most MAX_QUEUED_LINES when the disk stalls, counts the rest, and appends the count', async () => {
    const disk = stalledIo()
    const writer = new FootprintWriter(file, { io: disk.io })
    const attempts = 10_000
    let accepted = 0
    for (let i = 0; i < attempts; i++) if (writer.append(`{"i":${i}}\n`)) accepted++
    expect(writer.queuedLines).toBe(MAX_QUEUED_LINES)
    expect(accepted).toBe(MAX_QUEUED_LINES + 1) // one in flight, the queue full
    expect(writer.droppedLines).toBe(attempts - accepted)

    const closed = writer.close()
    // Release writes as they arrive until the writer has closed.
    const pump = setInterval(disk.release, 1)
    await closed
    clearInterval(pump)

    const written = lines().map((l) => JSON.parse(l) as { i?: number; kind?: string; count?: number })
    expect(written.filter((r) => r.i !== undefined)).toHaveLength(accepted)
    expect(written.filter((r) => r.kind === 'dropped')).toEqual([expect.objectContaining({ v: 1, count: attempts - accepted, pid: process.pid })])
  })

  it('reports the first failed write once and counts failed lines as dropped', async () => {
    const errors: Error[] = []
    const failing: FootprintWriterIo = {
      openSync: (f, flags) => fs.openSync(f, flags),
      write: (_fd, _b, _o, _l, _p, cb) => setImmediate(() => cb(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }), 0)),
      writeSync: () => 0,
      close: (fd, cb) => fs.close(fd, cb),
    }
    const writer = new FootprintWriter(file, { io: failing, onError: (e) => errors.push(e) })
    writer.append('{"a":1}\n')
    writer.append('{"a":2}\n')
    await writer.flush()
    expect(writer.droppedLines).toBe(2)
    // Closing tries to append the dropped note once; it fails too, and nothing spins.
    await writer.close()
    expect(writer.droppedLines).toBe(3)
    expect(errors.map((e) => e.message)).toEqual(['ENOSPC: no space left on device'])
  })

  it('lets several processes append to one file without mixing lines', { timeout: 60_000 }, async () => {
    const processes = 4
    const perProcess = 400
    // ~3.9 KB lines: the largest a footprint line can be, where interleaving would show first.
    const script = `
      const { FootprintWriter } = await import(${JSON.stringify(WRITER_MODULE)})
      const w = new FootprintWriter(process.argv[1])
      const pad = 'x'.repeat(3900)
      let sent = 0
      while (sent < ${perProcess}) {
        if (w.queuedLines < 32) w.append(JSON.stringify({ p: process.pid, n: sent++, pad }) + '\\n')
        else await w.flush()
      }
      await w.close()
      if (w.droppedLines !== 0) throw new Error('dropped ' + w.droppedLines)
    `
    await Promise.all(
      Array.from({ length: processes }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], { cwd: ROOT })),
    )
    const records = lines().map((l) => JSON.parse(l) as { p: number; n: number; pad: string })
    expect(records).toHaveLength(processes * perProcess)
    const byProcess = new Map<number, { n: number }[]>()
    for (const r of records) byProcess.set(r.p, [...(byProcess.get(r.p) ?? []), r])
    expect(byProcess.size).toBe(processes)
    expect(records.every((r) => r.pad.length === 3900)).toBe(true)
    for (const own of byProcess.values()) expect(own.map((r) => r.n)).toEqual(Array.from({ length: perProcess }, (_, i) => i))
  })

  it('writes what is still queued when the process exits without closing', { timeout: 30_000 }, async () => {
    const script = `
      const { FootprintWriter } = await import(${JSON.stringify(WRITER_MODULE)})
      const w = new FootprintWriter(process.argv[1])
      for (let i = 0; i < 50; i++) w.append(JSON.stringify({ i }) + '\\n')
      process.exit(0)
    `
    await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], { cwd: ROOT })
    const seen = lines().map((l) => (JSON.parse(l) as { i: number }).i)
    // The line in flight at exit may be lost (it belongs to the thread pool); the queued 49 are not.
    expect(seen.length).toBeGreaterThanOrEqual(49)
    expect(new Set(seen).size).toBe(seen.length)
  })

  it('fails at once, with the fs error, when the file cannot be opened', () => {
    expect(() => new FootprintWriter(path.join(dir, 'no-such-dir', 'f.jsonl'))).toThrow(/ENOENT/)
  })

  it('parses its dropped note as a footprint record', async () => {
    const disk = stalledIo()
    const writer = new FootprintWriter(file, { io: disk.io })
    for (let i = 0; i < MAX_QUEUED_LINES + 5; i++) writer.append(`{"i":${i}}\n`)
    const closed = writer.close()
    const pump = setInterval(disk.release, 1)
    await closed
    clearInterval(pump)
    const note = lines().at(-1)!
    expect(parseFootprintLine(note)).toMatchObject({ kind: 'dropped', count: 4 })
  })
})
