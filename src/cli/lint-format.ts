import type { LintRunResult } from './lint-runner.js'

/** Output formats of `shardtx lint --format`. */
export const LINT_FORMATS = ['text', 'json'] as const
export type LintFormat = (typeof LINT_FORMATS)[number]

/**
 * `file:line:col message` per finding (editors and terminals link that form), then a summary.
 *
 * @example
 * ```ts
 * formatText(result)
 * // src/transfer.ts:14:11 Transaction writes to `accounts` (key `from.id`) and ...
 * // shardtx lint: 1 problem in 1 file (12 files checked, config shardtx.config.json)
 * ```
 */
export function formatText(result: LintRunResult): string {
  const lines = result.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message}`)
  const checked = `${plural(result.filesChecked, 'file')} checked, config ${result.configFile}`
  if (result.findings.length === 0) {
    lines.push(`shardtx lint: no cross-shard writes found (${checked})`)
  } else {
    const files = new Set(result.findings.map((f) => f.file)).size
    lines.push(`shardtx lint: ${plural(result.findings.length, 'problem')} in ${plural(files, 'file')} (${checked})`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * One JSON document: `{ configFile, filesChecked, problemCount, problems: [...] }`.
 *
 * @example
 * ```ts
 * JSON.parse(formatJson(result)).problems[0] // { file, line, column, messageId, message, ... }
 * ```
 */
export function formatJson(result: LintRunResult): string {
  return `${JSON.stringify(
    {
      configFile: result.configFile,
      filesChecked: result.filesChecked,
      problemCount: result.findings.length,
      problems: result.findings,
    },
    null,
    2,
  )}\n`
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
