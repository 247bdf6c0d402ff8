import { Option, type Command } from 'commander'
import { formatReportJson, formatReportText, REPORT_FORMATS, type ReportFormat } from './report-format.js'
import { ReportInputError, summarizeFootprints } from './report-summary.js'

/** Exit codes of `shardtx report`: cross-shard paths are information, not failure. */
export const REPORT_EXIT = { ok: 0, badInput: 2 } as const

interface ReportOptions {
  format: ReportFormat
  skipMalformed?: boolean
  helper?: string[]
}

/**
 * Registers `shardtx report FILE...` on the program: summarises footprint files (JSON lines
 * written with the `footprint` option or `SHARDTX_FOOTPRINT_FILE`) by origin.
 *
 * @example
 * ```ts
 * const program = createProgram()
 * registerReportCommand(program)
 * // shardtx report footprints.jsonl --format json
 * ```
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('summarise recorded multi-shard transactions by origin (exit 2 on an unreadable file or a malformed line)')
    .argument('<files...>', 'footprint files (JSON lines)')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('text'))
    .option('--skip-malformed', 'skip lines that are not footprint records, with a warning, instead of exiting 2')
    .option('--helper <files...>', 'files of helpers that wrap db.transaction: their transactions count for the line that called the helper')
    .action(async (files: string[], opts: ReportOptions) => {
      process.exitCode = await reportCommand(files, opts)
    })
}

/** Reads, summarises, prints; returns the exit code. */
async function reportCommand(files: string[], opts: ReportOptions): Promise<number> {
  try {
    const summary = await summarizeFootprints(files, { skipMalformed: opts.skipMalformed === true, helpers: opts.helper ?? [] })
    for (const bad of summary.malformed) process.stderr.write(`shardtx report: skipped ${bad.file}:${bad.line}: ${bad.problem}\n`)
    if (summary.malformed.length > 0) process.stderr.write(`shardtx report: warning: ${summary.malformed.length} malformed line(s) skipped\n`)
    process.stdout.write(opts.format === 'json' ? formatReportJson(summary) : formatReportText(summary))
    return REPORT_EXIT.ok
  } catch (err) {
    if (err instanceof ReportInputError) {
      process.stderr.write(`shardtx report: ${err.message}\n`)
      return REPORT_EXIT.badInput
    }
    throw err
  }
}
