import type { FootprintSummary, OriginSummary } from './report-summary.js'

/** Output formats of `shardtx report`. */
export const REPORT_FORMATS = ['text', 'json'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

const COLUMNS: { title: string; cell: (o: OriginSummary) => string }[] = [
  { title: 'ORIGIN', cell: (o) => (o.via.length > 0 ? `${o.origin} (via ${o.via.join(', ')})` : o.origin) },
  { title: 'COUNT', cell: (o) => String(o.count) },
  { title: 'SHARDS', cell: (o) => o.shards.join(', ') },
  { title: 'TABLES', cell: (o) => o.tables.join(', ') },
  { title: 'POLICIES', cell: (o) => counts(o.policies) },
  { title: 'OUTCOMES', cell: (o) => counts(o.outcomes) },
  { title: 'REASONS', cell: (o) => [...o.reasons, ...(o.withoutReason > 0 ? [`no reason (${o.withoutReason})`] : [])].join(', ') },
]

/**
 * A table with one row per origin, most frequent first, then a total line. Plain text padded with
 * spaces, so it reads in a terminal and in a CI log, and `grep ORIGIN_FILE` finds a path's row.
 *
 * @example
 * ```text
 * ORIGIN             COUNT  SHARDS    TABLES            POLICIES  OUTCOMES                        REASONS
 * src/bank.ts:31:12      3  -80, 80-  accounts, ledger  warn (3)  committed (2), rolled back (1)  https://tracker.example/PAY-7
 *
 * 3 cross-shard transactions from 1 origin (1 file)
 * ```
 */
export function formatReportText(summary: FootprintSummary): string {
  const files = `${summary.files.length} ${plural(summary.files.length, 'file')}`
  let out = ''
  if (summary.origins.length === 0) {
    out += `No cross-shard transactions recorded (${files}).\n`
  } else {
    const rows = [COLUMNS.map((c) => c.title), ...summary.origins.map((o) => COLUMNS.map((c) => c.cell(o)))]
    const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
    for (const row of rows) {
      // COUNT is right-aligned, the rest left-aligned; the last column is not padded.
      // trimEnd: an empty REASONS cell (every transaction ordered or split) leaves no trailing spaces.
      out += `${row
        .map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd()}\n`
    }
    out +=
      `\n${summary.total} cross-shard ${plural(summary.total, 'transaction')} from ` +
      `${summary.origins.length} ${plural(summary.origins.length, 'origin')} (${files})\n`
  }
  if (summary.dropped > 0) {
    out += `Warning: the recording processes dropped ${summary.dropped} ${plural(summary.dropped, 'line')} under backpressure; counts are incomplete.\n`
  }
  return out
}

/** The summary as one JSON document (origins sorted as in the text table). */
export function formatReportJson(summary: FootprintSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`
}

function counts(map: Record<string, number>): string {
  return Object.entries(map)
    .map(([name, n]) => `${name} (${n})`)
    .join(', ')
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`
}
