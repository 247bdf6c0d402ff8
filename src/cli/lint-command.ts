import { Option, type Command } from 'commander'
import { formatJson, formatText, LINT_FORMATS, type LintFormat } from './lint-format.js'
import { LintUsageError, runLint } from './lint-runner.js'

/** Exit codes of `shardtx lint`. */
export const LINT_EXIT = { clean: 0, findings: 1, usage: 2 } as const

/**
 * Registers `shardtx lint [paths...]` on the program.
 *
 * @example
 * ```ts
 * const program = createProgram()
 * registerLintCommand(program)
 * ```
 */
export function registerLintCommand(program: Command): void {
  program
    .command('lint')
    .description('report transactions that write to more than one shard (exit 1 on findings, 2 on bad configuration)')
    .argument('[paths...]', 'files, directories or globs to lint (node_modules and dist are skipped)', ['.'])
    .option('--config <path>', 'shardtx config file (default: shardtx.config.json/.js/.mjs/.cjs in the current directory)')
    .addOption(new Option('--format <format>', 'output format').choices(LINT_FORMATS).default('text'))
    .action(async (paths: string[], opts: { config?: string; format: LintFormat }) => {
      process.exitCode = await lintCommand(paths, opts)
    })
}

/** Runs the lint, prints the result, returns the exit code. */
async function lintCommand(paths: string[], opts: { config?: string; format: LintFormat }): Promise<number> {
  try {
    const result = await runLint({ cwd: process.cwd(), paths, config: opts.config })
    process.stdout.write(opts.format === 'json' ? formatJson(result) : formatText(result))
    return result.findings.length > 0 ? LINT_EXIT.findings : LINT_EXIT.clean
  } catch (err) {
    if (err instanceof LintUsageError) {
      process.stderr.write(`shardtx lint: ${err.message}\n`)
      return LINT_EXIT.usage
    }
    throw err
  }
}
