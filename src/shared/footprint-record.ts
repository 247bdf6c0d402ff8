import type { CrossShardTransactionEvent } from './channels.js'

/**
 * One line of a footprint file (JSON Lines, UTF-8, `\n`-terminated). Version 1 has two kinds:
 * a multi-shard transaction, and a note that a writer dropped lines under backpressure.
 */
export type FootprintRecord = FootprintTransactionRecord | FootprintDroppedRecord

/**
 * What one multi-shard transaction touched. Only names and the reason the code gave: never shard
 * key values, SQL, bindings or connection settings, so the file is safe to publish as a CI artifact.
 *
 * @example
 * ```json
 * {"v":1,"kind":"transaction","at":"2025-01-01T12:00:00.000Z","pid":4242,"transactionId":"tx-1a2b3c-00000007",
 *  "origin":"src/bank.ts:31:12","policy":"warn","outcome":"committed","shards":["-80","80-"],
 *  "tables":["accounts","ledger"],"reason":"https://tracker.example/PAY-7","durationMs":4.2}
 * ```
 */
export interface FootprintTransactionRecord {
  v: 1
  kind: 'transaction'
  /** ISO time the transaction ended (when it was published). */
  at: string
  /** Process that ran it: several test workers append to one file. */
  pid: number
  transactionId: string
  /** `file:line:column` of the `db.transaction()` call, relative to the process's working directory. */
  origin: string
  /** Lines that called the function holding that call, nearest first (see `shardtx report --helper`). */
  callers?: string[]
  policy: string
  outcome: string
  shards: string[]
  tables: string[]
  reason?: string
  durationMs?: number
  /** Present when a field was cut to keep the line under {@link MAX_LINE_BYTES}. */
  truncated?: true
}

/** `count` lines this process could not write (the writer was backed up, or a write failed). */
export interface FootprintDroppedRecord {
  v: 1
  kind: 'dropped'
  at: string
  pid: number
  count: number
}

export const FOOTPRINT_VERSION = 1

/**
 * Upper bound of one encoded line, newline included: Linux's PIPE_BUF. Appends to a regular file
 * opened with O_APPEND do not interleave whatever their size, but a footprint "file" may be a FIFO
 * or `/dev/stdout` piped somewhere, where only writes up to PIPE_BUF are atomic. Small lines also
 * make short (partial) writes, the one way two processes' lines could still mix, vanishingly rare.
 */
export const MAX_LINE_BYTES = 4096

/** Successively tighter limits, tried until the line fits; the last one always does. */
const LIMITS = [
  { chars: 512, items: 64 },
  { chars: 128, items: 16 },
  { chars: 32, items: 4 },
  { chars: 16, items: 1 },
] as const

/**
 * The record of one event from the `shardtx:cross-shard-transaction` channel. Fields are copied by
 * name (a whitelist), so `event.keys` (key values, present with `warnings.logKeyValues`) and anything
 * a future policy adds never reach the file. Defensive about types: any policy may publish.
 */
export function transactionRecordOf(event: CrossShardTransactionEvent, at: Date = new Date(), pid = process.pid): FootprintTransactionRecord {
  const record: FootprintTransactionRecord = {
    v: FOOTPRINT_VERSION,
    kind: 'transaction',
    at: at.toISOString(),
    pid,
    transactionId: String(event.transactionId),
    origin: String(event.origin),
    policy: String(event.policy),
    outcome: String(event.outcome),
    shards: stringArray(event.shards),
    tables: stringArray(event.tables),
  }
  if (Array.isArray(event.callers) && event.callers.length > 0) record.callers = stringArray(event.callers)
  if (typeof event.reason === 'string') record.reason = event.reason
  if (typeof event.durationMs === 'number' && Number.isFinite(event.durationMs)) record.durationMs = event.durationMs
  return record
}

/** The note a writer appends after dropping `count` lines. */
export function droppedRecord(count: number, at: Date = new Date(), pid = process.pid): FootprintDroppedRecord {
  return { v: FOOTPRINT_VERSION, kind: 'dropped', at: at.toISOString(), pid, count }
}

/**
 * One `\n`-terminated JSON line of at most {@link MAX_LINE_BYTES} bytes. Over-long strings (a
 * reason essay, a 300-character path) and lists (a transaction over 100 shards) are cut, and the
 * record says so with `truncated: true`; origins keep their end, where `file:line:column` is.
 *
 * @example
 * ```ts
 * writer.append(encodeFootprintLine(transactionRecordOf(event)))
 * ```
 */
export function encodeFootprintLine(record: FootprintRecord): string {
  let line = `${JSON.stringify(record)}\n`
  if (record.kind === 'dropped') return line
  for (const limit of LIMITS) {
    if (Buffer.byteLength(line) <= MAX_LINE_BYTES) break
    line = `${JSON.stringify(shrink(record, limit.chars, limit.items))}\n`
  }
  return line
}

function shrink(record: FootprintTransactionRecord, chars: number, items: number): FootprintTransactionRecord {
  const head = (s: string) => (s.length > chars ? `${s.slice(0, chars - 1)}…` : s)
  const tail = (s: string) => (s.length > chars ? `…${s.slice(s.length - chars + 1)}` : s)
  const shrunk: FootprintTransactionRecord = {
    ...record,
    transactionId: head(record.transactionId),
    origin: tail(record.origin),
    policy: head(record.policy),
    outcome: head(record.outcome),
    shards: record.shards.slice(0, items).map(head),
    tables: record.tables.slice(0, items).map(head),
    truncated: true,
  }
  if (record.reason !== undefined) shrunk.reason = head(record.reason)
  if (record.callers !== undefined) shrunk.callers = record.callers.slice(0, items).map(tail)
  return shrunk
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : []
}

/** A line that is not a version-1 footprint record; the message says what is wrong with it. */
export class FootprintFormatError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FootprintFormatError'
  }
}

/**
 * Parses and checks one line (without its newline).
 *
 * @throws FootprintFormatError saying what is wrong: not JSON, a newer format, a missing field.
 * @example
 * ```ts
 * parseFootprintLine('{"v":1,"kind":"dropped","at":"2025-01-01T00:00:00.000Z","pid":1,"count":3}').kind // 'dropped'
 * ```
 */
export function parseFootprintLine(text: string): FootprintRecord {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new FootprintFormatError(`not JSON (${text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}...` : JSON.stringify(text)})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FootprintFormatError('not a JSON object')
  const r = value as Record<string, unknown>
  if (typeof r.v === 'number' && r.v > FOOTPRINT_VERSION) {
    throw new FootprintFormatError(`written by a newer shardtx (format v${r.v}, this one reads v${FOOTPRINT_VERSION}); upgrade shardtx`)
  }
  if (r.v !== FOOTPRINT_VERSION) throw new FootprintFormatError(`not a shardtx footprint record (expected "v": ${FOOTPRINT_VERSION})`)
  expectField(r, 'at', 'string')
  expectField(r, 'pid', 'number')
  if (r.kind === 'dropped') {
    expectField(r, 'count', 'number')
    return r as unknown as FootprintDroppedRecord
  }
  if (r.kind !== 'transaction') throw new FootprintFormatError(`unknown "kind" ${JSON.stringify(r.kind)} (expected "transaction" or "dropped")`)
  for (const field of ['transactionId', 'origin', 'policy', 'outcome'] as const) expectField(r, field, 'string')
  for (const field of ['shards', 'tables'] as const) {
    const list = r[field]
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new FootprintFormatError(`"${field}" must be an array of strings`)
  }
  if (r.reason !== undefined) expectField(r, 'reason', 'string')
  if (r.callers !== undefined && !(Array.isArray(r.callers) && r.callers.every((s) => typeof s === 'string'))) {
    throw new FootprintFormatError('"callers" must be an array of strings')
  }
  return r as unknown as FootprintTransactionRecord
}

function expectField(r: Record<string, unknown>, field: string, type: 'string' | 'number'): void {
  if (typeof r[field] !== type) throw new FootprintFormatError(`"${field}" must be a ${type}, got ${r[field] === undefined ? 'nothing' : typeof r[field]}`)
}
