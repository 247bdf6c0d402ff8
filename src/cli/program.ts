import { Command, CommanderError } from 'commander'
import pkg from '../../package.json' with { type: 'json' }

/** Exit code for usage errors (unknown option, bad choice), the same as a bad configuration. */
export const USAGE_EXIT_CODE = 2

/**
 * The bare `shardtx` program: name, version, and usage errors turned into exit code 2. Commands
 * register themselves on it (see main.ts). Settings made here are inherited by subcommands
 * added afterwards.
 *
 * @example
 * ```ts
 * const program = createProgram()
 * registerLintCommand(program)
 * await runProgram(program, process.argv)
 * ```
 */
export function createProgram(): Command {
  return new Command('shardtx')
    .description('shardtx: sharded knex transactions for MySQL/MariaDB')
    .version(pkg.version)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
}

/**
 * Parses argv and runs the chosen command. Commander has already printed its own error message
 * for usage errors; this only maps them to exit code 2 (help and --version stay 0).
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync([...argv])
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err
    process.exitCode = err.exitCode === 0 ? 0 : USAGE_EXIT_CODE
  }
}
