import diagnosticsChannel from 'node:diagnostics_channel'
import { CHANNELS, type CrossShardTransactionEvent } from '../shared/channels.js'
import { encodeFootprintLine, transactionRecordOf } from '../shared/footprint-record.js'
import { FootprintWriter } from './footprint-writer.js'
import type { ShardtxLogger } from '../shared/logger.js'

/** One ShardedDb's use of a footprint file. */
export interface FootprintRecording {
  /** Absolute path of the file. */
  readonly file: string
  /** Lines the shared writer dropped so far (backpressure or failed writes). */
  readonly droppedLines: number
  /** Flushes; the last user of a file also stops recording and closes it. Idempotent. */
  release(): Promise<void>
}

interface Entry {
  writer: FootprintWriter
  users: number
  listener: (message: unknown) => void
}

/**
 * Recorders by absolute file, on globalThis rather than in this module: a process can hold two
 * copies of shardtx (the ESM and CJS builds, or vitest re-evaluating modules for each test file while
 * an earlier file's ShardedDb is still open), and two subscriptions on one file would write every
 * transaction twice. The diagnostics channel itself is process-wide, so the registry must be too.
 */
const REGISTRY_KEY = Symbol.for('shardtx.footprint-recorders.v1')

function registry(): Map<string, Entry> {
  const holder = globalThis as { [REGISTRY_KEY]?: Map<string, Entry> }
  return (holder[REGISTRY_KEY] ??= new Map())
}

/** What an `open()` error code means for a file the user named, in words. */
const OPEN_PROBLEMS: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a part of its path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
}

/**
 * Starts (or joins) recording every multi-shard transaction of this process to `file`.
 *
 * The source is the `shardtx:cross-shard-transaction` diagnostics channel, not a hook in one
 * ShardedDb's runtime: the channel receives every multi-shard transaction before the log line is
 * rate limited, whatever policy published it (`warn`, `ordered`, `split`, or one added later), so
 * the file is complete by construction. The price is scope: a subscription sees the whole process,
 * so every ShardedDb in it is recorded once one of them asks. For a test run, which wants every
 * cross-shard path the tests exercised, that is the point.
 *
 * @param option how errors name where `file` came from (the option or the environment variable)
 * @throws TypeError naming `option`, the path and why (ENOENT, EACCES, EISDIR, ...) when the file
 *   cannot be opened for appending; the `fs` error is its `cause`.
 * @example
 * ```ts
 * const recording = startFootprintRecording('/tmp/footprints.jsonl', logger)
 * // ... transactions ...
 * await recording.release() // in db.destroy()
 * ```
 */
export function startFootprintRecording(file: string, logger: ShardtxLogger, option = '`footprint.file`'): FootprintRecording {
  const recorders = registry()
  let entry = recorders.get(file)
  if (entry === undefined) {
    let writer: FootprintWriter
    try {
      writer = new FootprintWriter(file, {
        onError: (err) =>
          logger.warn(
            { event: 'shardtx.footprint_write_failed', file, error: err.message },
            `shardtx: cannot append to footprint file ${file}: ${err.message}`,
          ),
      })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      throw new TypeError(
        `Expected ${option} to be a file shardtx can create or append to, got '${file}': ${code} (${OPEN_PROBLEMS[code] ?? (err as Error).message})`,
        { cause: err },
      )
    }
    const listener = (message: unknown) => record(writer, message)
    diagnosticsChannel.subscribe(CHANNELS.crossShardTransaction.name, listener)
    entry = { writer, users: 0, listener }
    recorders.set(file, entry)
  }
  entry.users++
  const shared = entry
  let released: Promise<void> | undefined
  return {
    file,
    get droppedLines() {
      return shared.writer.droppedLines
    },
    release() {
      released ??= releaseEntry(file, shared)
      return released
    },
  }
}

async function releaseEntry(file: string, entry: Entry): Promise<void> {
  entry.users--
  if (entry.users > 0) return entry.writer.flush()
  diagnosticsChannel.unsubscribe(CHANNELS.crossShardTransaction.name, entry.listener)
  if (registry().get(file) === entry) registry().delete(file)
  await entry.writer.close()
}

/** Runs inside `publish()`, in the transaction's own call: it must never throw. */
function record(writer: FootprintWriter, message: unknown): void {
  let line: string
  try {
    line = encodeFootprintLine(transactionRecordOf(message as CrossShardTransactionEvent))
  } catch {
    writer.noteDropped()
    return
  }
  writer.append(line)
}
