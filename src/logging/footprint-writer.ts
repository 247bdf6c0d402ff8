import fs from 'node:fs'
import { droppedRecord, encodeFootprintLine } from '../shared/footprint-record.js'

/**
 * Lines waiting for the disk, at most. A constant, like the rate limiter's origin cap: memory must
 * not depend on how fast transactions arrive or how slow the disk is (lines are at most 4 KiB, so
 * the queue never exceeds 256 KiB, and is usually a few hundred bytes).
 */
export const MAX_QUEUED_LINES = 64

/** The file-system calls the writer makes; tests pass a slow one to exercise backpressure. */
export interface FootprintWriterIo {
  openSync(file: string, flags: 'a'): number
  write(
    fd: number,
    buffer: Buffer,
    offset: number,
    length: number,
    position: null,
    callback: (err: NodeJS.ErrnoException | null, written: number) => void,
  ): void
  writeSync(fd: number, buffer: Buffer): number
  close(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void
}

export interface FootprintWriterOptions {
  io?: FootprintWriterIo
  /** Called once, for the first failed write (later failures only count as dropped lines). */
  onError?: (err: Error) => void
}

/**
 * Appends lines to a file shared with other processes, without ever blocking the caller or
 * growing without bound.
 *
 * Why not `fs.createWriteStream`: its buffer is unbounded (`write()` returning false is only
 * advice), it may coalesce queued lines into one `writev`, and what it holds is lost at exit. Here:
 * - the file is opened with O_APPEND, and every line is exactly one `write(2)`, so lines from
 *   several processes (vitest workers) land whole, each at the end of the file as it is then;
 * - at most one write is in flight and {@link MAX_QUEUED_LINES} wait; beyond that a line is dropped
 *   and counted, and the count is appended as a `{"kind":"dropped"}` record once there is room, so
 *   `shardtx report` can say the file is incomplete instead of silently under-counting;
 * - `flush()` waits for the queue to drain; at process exit whatever is still queued is written
 *   synchronously (best effort: a process killed by a signal loses what was queued, so call
 *   `db.destroy()`).
 *
 * @example
 * ```ts
 * const writer = new FootprintWriter('/tmp/footprints.jsonl')
 * writer.append('{"v":1,...}\n')
 * await writer.close()
 * ```
 */
export class FootprintWriter {
  readonly file: string
  readonly #io: FootprintWriterIo
  readonly #onError: ((err: Error) => void) | undefined
  readonly #fd: number
  readonly #queue: Buffer[] = []
  readonly #idleWaiters: (() => void)[] = []
  readonly #onExit = () => this.#flushSync()
  #writing = false
  #closed = false
  #reportedError = false
  /** Dropped since the last `dropped` record was queued. */
  #pendingDropped = 0
  #droppedTotal = 0

  /** Opens (creating if needed) `file` for appending; throws the `fs` error if it cannot. */
  constructor(file: string, options: FootprintWriterOptions = {}) {
    this.file = file
    this.#io = options.io ?? fs
    this.#onError = options.onError
    this.#fd = this.#io.openSync(file, 'a')
    process.on('exit', this.#onExit)
  }

  /** Lines dropped so far (queue full, or a failed write). */
  get droppedLines(): number {
    return this.#droppedTotal
  }

  /** Lines waiting, the one being written excluded; never more than {@link MAX_QUEUED_LINES}. */
  get queuedLines(): number {
    return this.#queue.length
  }

  /** Queues one `\n`-terminated line. Returns false if it was dropped (queue full, or closed). */
  append(line: string): boolean {
    if (this.#closed || this.#queue.length >= MAX_QUEUED_LINES) {
      this.noteDropped()
      return false
    }
    this.#queue.push(Buffer.from(line))
    this.#pump()
    return true
  }

  /** Counts a line that never reached `append` (e.g. it could not be encoded). */
  noteDropped(count = 1): void {
    this.#pendingDropped += count
    this.#droppedTotal += count
  }

  /** Resolves when every line queued so far has been handed to the OS. */
  flush(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Flushes, appends the dropped count if any, and closes the file. Later appends are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#queueDroppedRecord(true)
    this.#pump()
    await this.flush()
    this.#closed = true
    process.off('exit', this.#onExit)
    await new Promise<void>((resolve) => this.#io.close(this.#fd, () => resolve()))
  }

  #pump(): void {
    if (this.#writing) return
    const next = this.#queue.shift()
    if (next === undefined) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve()
      return
    }
    this.#writing = true
    this.#writeAll(next, 0)
  }

  #writeAll(buffer: Buffer, offset: number): void {
    this.#io.write(this.#fd, buffer, offset, buffer.length - offset, null, (err, written) => {
      if (err) {
        this.noteDropped()
        this.#reportError(err)
      } else if (offset + written < buffer.length) {
        // A short write (disk full, signal): finish the line, even though another process may
        // have appended in between; the alternative, dropping the rest, corrupts it for sure.
        this.#writeAll(buffer, offset + written)
        return
      }
      this.#writing = false
      // Only after a write that worked: on a failing disk the note would fail too, be counted as
      // dropped, be queued again, and spin.
      if (!err) this.#queueDroppedRecord(false)
      this.#pump()
    })
  }

  /** Queues the `dropped` note when there is room (or unconditionally when closing); the caller pumps. */
  #queueDroppedRecord(force: boolean): void {
    if (this.#pendingDropped === 0 || this.#closed) return
    if (!force && this.#queue.length >= MAX_QUEUED_LINES) return
    this.#queue.push(Buffer.from(encodeFootprintLine(droppedRecord(this.#pendingDropped))))
    this.#pendingDropped = 0
  }

  #reportError(err: Error): void {
    if (this.#reportedError) return
    this.#reportedError = true
    this.#onError?.(err)
  }

  /** At exit: the event loop is gone, so what is queued is written synchronously, or lost. */
  #flushSync(): void {
    if (this.#closed) return
    this.#queueDroppedRecord(true)
    for (const buffer of this.#queue.splice(0)) {
      try {
        this.#io.writeSync(this.#fd, buffer)
      } catch {
        return // nowhere left to report it
      }
    }
  }
}
