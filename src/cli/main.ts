#!/usr/bin/env node
// The `shardtx` bin. One line per command: each command lives in its own file and exports a
// function that registers it on the program.
import { registerLintCommand } from './lint-command.js'
import { registerMigrateCommand } from './migrate-command.js'
import { createProgram, runProgram } from './program.js'
import { registerReportCommand } from './report-command.js'

const program = createProgram()
registerLintCommand(program)
registerReportCommand(program)
registerMigrateCommand(program)

// Errors outside commander (a bug, not a usage problem) print their stack and exit 1.
runProgram(program, process.argv).catch((err: unknown) => {
  process.stderr.write(`shardtx: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
