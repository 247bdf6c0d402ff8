import path from 'node:path'
import type { ESLint, Linter } from 'eslint'
import { findDefaultConfig, loadTablesFromFile, DEFAULT_CONFIG_NAMES, type LintTables } from '../eslint/config-loader.js'
import plugin from '../eslint/index.js'
import { LINTED_FILES } from '../eslint/recommended.js'
import { prefilterParser } from './prefilter-parser.js'

/** The one rule `shardtx lint` runs. */
export const RULE_ID = 'shardtx/no-cross-shard-write'

/** A usage or configuration problem: `shardtx lint` prints the message and exits 2. */
export class LintUsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LintUsageError'
  }
}

export interface LintRunOptions {
  /** Directory that paths, the config and printed file names are relative to. */
  cwd: string
  /** Files, directories or globs. @default ['.'] */
  paths?: readonly string[]
  /** Config file; @default the first of shardtx.config.json/.js/.mjs/.cjs in `cwd`. */
  config?: string | undefined
}

/** One finding (or a file that couldn't be parsed). */
export interface LintFinding {
  /** Relative to cwd, with `/` separators. */
  file: string
  line: number
  column: number
  endLine?: number | undefined
  endColumn?: number | undefined
  /** The rule's message id; undefined for parse errors. */
  messageId?: string | undefined
  message: string
  /** True for a parse error: the file could not be checked. */
  fatal: boolean
}

export interface LintRunResult {
  /** The config file used, relative to cwd. */
  configFile: string
  /** Number of files ESLint checked. */
  filesChecked: number
  /** Sorted by file, line, column. */
  findings: LintFinding[]
}

/**
 * Lints `paths` with `shardtx/no-cross-shard-write` and the project's table configuration: the
 * engine behind `shardtx lint`, also used in-process by bench/lint.ts.
 *
 * @throws {LintUsageError} for a missing/bad config, no matching files, or ESLint not installed.
 * @example
 * ```ts
 * const result = await runLint({ cwd: process.cwd(), paths: ['src'] })
 * for (const f of result.findings) console.log(`${f.file}:${f.line}:${f.column} ${f.message}`)
 * ```
 */
export async function runLint(options: LintRunOptions): Promise<LintRunResult> {
  const { configFile, tables } = loadConfig(options.cwd, options.config)
  const eslint = await createEslint(options.cwd, tables)
  const results = await lintPaths(eslint, options.paths ?? ['.'])
  return {
    configFile: toDisplayPath(options.cwd, configFile),
    filesChecked: results.length,
    findings: collectFindings(options.cwd, results),
  }
}

/** Finds and validates the configuration; every failure is a {@link LintUsageError}. */
export function loadConfig(cwd: string, config: string | undefined): { configFile: string; tables: LintTables } {
  const configFile = config === undefined ? findDefaultConfig(cwd) : path.resolve(cwd, config)
  if (configFile === undefined) {
    throw new LintUsageError(
      `no shardtx config found in ${cwd} (looked for ${DEFAULT_CONFIG_NAMES.join(', ')}). ` +
        `Create shardtx.config.json with { "tables": { "accounts": { "shardKey": "id" } } } or pass --config <path>.`,
    )
  }
  try {
    return { configFile, tables: loadTablesFromFile(configFile, cwd) }
  } catch (err) {
    throw new LintUsageError((err as Error).message)
  }
}

/**
 * The flat config `shardtx lint` runs: the TypeScript parser for JS and TS files, and only this
 * rule (with inline tables, so the config file is read once). Files that can't hold a finding
 * skip parsing (see prefilter-parser.ts). With `tables` undefined: every file fully parsed and
 * no rules, the benchmark's baseline.
 */
export function lintConfig(parser: Linter.Parser, tables: LintTables | undefined): Linter.Config[] {
  const common: Linter.Config = {
    // The same files as the plugin's recommended config; everything else under the paths is skipped.
    files: [...LINTED_FILES],
    languageOptions: { parser: tables === undefined ? parser : prefilterParser(parser), ecmaVersion: 'latest', sourceType: 'module' },
    // Projects carry eslint-disable comments for rules this run doesn't load; don't warn about them.
    linterOptions: { reportUnusedDisableDirectives: 'off', reportUnusedInlineConfigs: 'off' },
  }
  return [
    { ignores: ['**/node_modules/', '**/dist/'] },
    tables === undefined ? common : { ...common, plugins: { shardtx: plugin }, rules: { [RULE_ID]: ['error', { tables }] } },
    { files: ['**/*.jsx', '**/*.tsx'], languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } } },
  ]
}

/** ESLint configured by {@link lintConfig}, ignoring any eslint.config.js in the project. */
export async function createEslint(cwd: string, tables: LintTables | undefined): Promise<ESLint> {
  const { ESLint: ESLintClass, parser } = await loadEslint()
  return new ESLintClass({ cwd, overrideConfigFile: true, overrideConfig: lintConfig(parser, tables), cache: false })
}

async function lintPaths(eslint: ESLint, paths: readonly string[]): Promise<ESLint.LintResult[]> {
  try {
    return await eslint.lintFiles([...paths])
  } catch (err) {
    const message = (err as Error).message
    if (/No files matching|All files matched by/.test(message)) {
      throw new LintUsageError(`${message} Check the paths (relative to the current directory); node_modules and dist are skipped.`)
    }
    throw err
  }
}

function collectFindings(cwd: string, results: ESLint.LintResult[]): LintFinding[] {
  const findings: LintFinding[] = []
  for (const result of results) {
    const file = toDisplayPath(cwd, result.filePath)
    for (const m of result.messages) {
      // Only our rule and parse errors: inline comments may mention rules this run doesn't load.
      if (m.ruleId !== RULE_ID && !m.fatal) continue
      findings.push({
        file,
        line: m.line,
        column: m.column,
        endLine: m.endLine,
        endColumn: m.endColumn,
        messageId: m.messageId,
        message: m.message,
        fatal: m.fatal === true,
      })
    }
  }
  return findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column))
}

function toDisplayPath(cwd: string, file: string): string {
  return (path.relative(cwd, file) || file).split(path.sep).join('/')
}

interface EslintModules {
  ESLint: typeof ESLint
  parser: Linter.Parser
}

/**
 * ESLint and the TypeScript parser are the user's (dev) dependencies, loaded only when `lint`
 * runs. The specifier is a variable on purpose: bundlers leave such imports alone, so the CLI
 * uses the project's ESLint instead of carrying a copy, and other commands work without it.
 */
async function loadEslint(): Promise<EslintModules> {
  const load = async (name: string): Promise<Record<string, unknown>> => {
    const specifier = name
    try {
      return (await import(specifier)) as Record<string, unknown>
    } catch (err) {
      throw new LintUsageError(
        `shardtx lint needs ${name} (${(err as Error).message.split('\n')[0]}). Install it: npm install --save-dev eslint @typescript-eslint/parser`,
      )
    }
  }
  const eslint = await load('eslint')
  const parserModule = await load('@typescript-eslint/parser')
  const parser = (parserModule['default'] ?? parserModule) as Linter.Parser
  return { ESLint: eslint['ESLint'] as typeof ESLint, parser }
}
