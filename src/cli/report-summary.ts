import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { FootprintFormatError, parseFootprintLine, type FootprintTransactionRecord } from '../shared/footprint-record.js'

/** Everything recorded for one `db.transaction()` call site. */
export interface OriginSummary {
  origin: string
  count: number
  /** Every shard seen in any of its transactions, sorted. */
  shards: string[]
  tables: string[]
  /** policy -> transactions */
  policies: Record<string, number>
  /** outcome -> transactions */
  outcomes: Record<string, number>
  /** Distinct reasons given, sorted; transactions without one are counted in `withoutReason`. */
  reasons: string[]
  withoutReason: number
}

export interface FootprintSummary {
  files: string[]
  /** Multi-shard transactions recorded. */
  total: number
  /** By count, most frequent first; ties by origin. */
  origins: OriginSummary[]
  /** Lines the recording processes reported dropping (the file is incomplete when > 0). */
  dropped: number
  /** Malformed lines skipped (only with `skipMalformed`). */
  malformed: MalformedLine[]
}

export interface MalformedLine {
  file: string
  line: number
  problem: string
}

/** A file that cannot be read, or (without `skipMalformed`) a line that is not a footprint record. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ReportInputError'
  }
}

interface Accumulator {
  count: number
  shards: Set<string>
  tables: Set<string>
  policies: Map<string, number>
  outcomes: Map<string, number>
  reasons: Set<string>
  withoutReason: number
}

/**
 * Reads footprint files line by line (memory grows with the number of call sites, not lines) and
 * groups the transactions by origin. Blank lines are ignored. A malformed line is an error naming
 * `file:line`, unless `skipMalformed` is set: then it is skipped and listed in `malformed`. A torn
 * last line (a process killed mid-write) is the usual cause; see docs/strict-mode.md.
 *
 * @throws ReportInputError for an unreadable file or, without `skipMalformed`, a malformed line.
 * @example
 * ```ts
 * const summary = await summarizeFootprints(['footprints.jsonl'])
 * summary.origins[0] // { origin: 'src/bank.ts:31:12', count: 12, shards: ['-80', '80-'], ... }
 * ```
 */
export async function summarizeFootprints(files: readonly string[], options: { skipMalformed?: boolean } = {}): Promise<FootprintSummary> {
  const byOrigin = new Map<string, Accumulator>()
  const summary: FootprintSummary = { files: [...files], total: 0, origins: [], dropped: 0, malformed: [] }
  for (const file of files) {
    let lineNumber = 0
    try {
      const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
      for await (const text of lines) {
        lineNumber++
        if (text.trim() === '') continue
        let record
        try {
          record = parseFootprintLine(text)
        } catch (err) {
          if (!(err instanceof FootprintFormatError)) throw err
          if (!options.skipMalformed) throw new ReportInputError(`${file}:${lineNumber}: malformed footprint line: ${err.message} (pass --skip-malformed to skip such lines)`)
          summary.malformed.push({ file, line: lineNumber, problem: err.message })
          continue
        }
        if (record.kind === 'dropped') summary.dropped += record.count
        else add(byOrigin, record)
      }
    } catch (err) {
      if (err instanceof ReportInputError) throw err
      const e = err as NodeJS.ErrnoException
      // "ENOENT: no such file or directory, open 'x'" -> "ENOENT: no such file or directory": the path is already said.
      throw new ReportInputError(`cannot read ${file}: ${(e.message ?? String(err)).replace(/, \w+(?: '.*')?$/, '')}`)
    }
  }
  for (const [origin, acc] of byOrigin) {
    summary.total += acc.count
    summary.origins.push({
      origin,
      count: acc.count,
      shards: [...acc.shards].sort(),
      tables: [...acc.tables].sort(),
      policies: sortedCounts(acc.policies),
      outcomes: sortedCounts(acc.outcomes),
      reasons: [...acc.reasons].sort(),
      withoutReason: acc.withoutReason,
    })
  }
  summary.origins.sort((a, b) => b.count - a.count || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0))
  return summary
}

function add(byOrigin: Map<string, Accumulator>, record: FootprintTransactionRecord): void {
  let acc = byOrigin.get(record.origin)
  if (acc === undefined) {
    acc = { count: 0, shards: new Set(), tables: new Set(), policies: new Map(), outcomes: new Map(), reasons: new Set(), withoutReason: 0 }
    byOrigin.set(record.origin, acc)
  }
  acc.count++
  for (const shard of record.shards) acc.shards.add(shard)
  for (const table of record.tables) acc.tables.add(table)
  acc.policies.set(record.policy, (acc.policies.get(record.policy) ?? 0) + 1)
  acc.outcomes.set(record.outcome, (acc.outcomes.get(record.outcome) ?? 0) + 1)
  if (record.reason === undefined) acc.withoutReason++
  else acc.reasons.add(record.reason)
}

/** Most frequent first, so `{ committed: 9, 'rolled back': 1 }` reads in order of importance. */
function sortedCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)))
}
