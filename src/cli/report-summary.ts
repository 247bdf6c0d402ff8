import { createReadStream } from 'node:fs'
import path from 'node:path'
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
  /** Distinct reasons given, sorted. */
  reasons: string[]
  /**
   * Transactions of a policy that takes a reason (`warn`) that gave none. `ordered` and `split`
   * need none, so they are never counted here.
   */
  withoutReason: number
  /** With `helpers`: the helper lines (wrapping `db.transaction`) this origin's transactions went through, sorted. */
  via: string[]
}

/** Policies that are safe across shards by construction and take no `reason`. */
const POLICIES_WITHOUT_REASON: ReadonlySet<string> = new Set(['ordered', 'split', 'atomic'])

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
  via: Set<string>
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
export async function summarizeFootprints(
  files: readonly string[],
  options: { skipMalformed?: boolean; helpers?: readonly string[] } = {},
): Promise<FootprintSummary> {
  const isHelper = helperMatcher(options.helpers ?? [])
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
          if (!options.skipMalformed)
            throw new ReportInputError(`${file}:${lineNumber}: malformed footprint line: ${err.message} (pass --skip-malformed to skip such lines)`)
          summary.malformed.push({ file, line: lineNumber, problem: err.message })
          continue
        }
        if (record.kind === 'dropped') summary.dropped += record.count
        else add(byOrigin, record, isHelper)
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
      via: [...acc.via].sort(),
    })
  }
  summary.origins.sort((a, b) => b.count - a.count || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0))
  return summary
}

function add(byOrigin: Map<string, Accumulator>, record: FootprintTransactionRecord, isHelper: (location: string) => boolean): void {
  // A transaction opened inside a helper counts for the first recorded caller outside the helpers.
  const caller = isHelper(record.origin) ? record.callers?.find((c) => !isHelper(c)) : undefined
  const origin = caller ?? record.origin
  let acc = byOrigin.get(origin)
  if (acc === undefined) {
    acc = { count: 0, shards: new Set(), tables: new Set(), policies: new Map(), outcomes: new Map(), reasons: new Set(), withoutReason: 0, via: new Set() }
    byOrigin.set(origin, acc)
  }
  acc.count++
  if (caller !== undefined) acc.via.add(record.origin)
  for (const shard of record.shards) acc.shards.add(shard)
  for (const table of record.tables) acc.tables.add(table)
  acc.policies.set(record.policy, (acc.policies.get(record.policy) ?? 0) + 1)
  acc.outcomes.set(record.outcome, (acc.outcomes.get(record.outcome) ?? 0) + 1)
  if (record.reason !== undefined) acc.reasons.add(record.reason)
  else if (!POLICIES_WITHOUT_REASON.has(record.policy)) acc.withoutReason++
}

/**
 * `file:line:column` -> whether the file is one of `helpers` (paths as given on the command line,
 * compared with the recorded paths, which are relative to the recording process's directory).
 */
function helperMatcher(helpers: readonly string[]): (location: string) => boolean {
  const wanted = helpers.map((h) => h.split(path.sep).join('/').replace(/^\.\//, ''))
  return (location) => {
    const file = location.replace(/:\d+:\d+$/, '')
    return wanted.some((h) => file === h || file.endsWith(`/${h}`) || h.endsWith(`/${file}`))
  }
}

/** Most frequent first, so `{ committed: 9, 'rolled back': 1 }` reads in order of importance. */
function sortedCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)))
}
