// Every fenced code block a user reads (README.md, docs/*.md, and the other markdown the package
// ships) is checked the way that fits it, so the docs say what works:
// - ts: type-checked against the package (`shardtx` -> src/index.ts), one program for all blocks;
//   fragments see the names declared in PRELUDE below, the things the surrounding text talks about;
// - js: parsed; an ESLint config is evaluated and run through ESLint on files with cross-shard
//   writes in every JS/TS file type, and must report them (test/support/lint-fixture.ts);
// - json: parsed (one document, or JSON Lines); yaml: parsed;
// - sh and console: `bash -n` on the commands; every `shardtx <command> --option` must exist in the
//   CLI and every `npm run <script>` in package.json;
// - sql: split's and atomic's schemas must equal the statements shardtx exports; other SQL must parse
//   (node-sql-parser, MariaDB dialect);
// - anything else must be marked `<!-- not-checked: reason -->` on the line before its fence, and
//   the test lists it with its reason.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tsParser from '@typescript-eslint/parser'
import type { Command } from 'commander'
import { ESLint, type Linter } from 'eslint'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import sqlParser from 'node-sql-parser'
import { parse as parseYaml } from 'yaml'
import { registerLintCommand } from '../../src/cli/lint-command.js'
import { registerMigrateCommand } from '../../src/cli/migrate-command.js'
import { createProgram } from '../../src/cli/program.js'
import { registerReportCommand } from '../../src/cli/report-command.js'
import plugin from '../../src/eslint/index.js'
import { CREATE_APPLIED_TABLE, CREATE_ATOMIC_DECISIONS_TABLE, CREATE_PLANS_TABLE } from '../../src/index.js'
import { docBlocks, docFiles, docLinks, root, type DocBlock } from '../support/doc-blocks.js'
import { EXPECTED_FINDINGS, LINT_FIXTURE_FILES, LINT_TABLES } from '../support/lint-fixture.js'

const { Parser: SqlParser } = sqlParser
const blocks = docFiles().flatMap(docBlocks)
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] }

/**
 * Names a TypeScript fragment may use without declaring them: the database, the transaction
 * and the values the prose around the fragments talks about. A block that declares its own
 * (`const db = createShardedDb(...)`) shadows these.
 */
const PRELUDE = `import type * as S from 'shardtx'
declare global {
  const createShardedDb: typeof S.createShardedDb
  const DistributedDeadlockError: typeof S.DistributedDeadlockError
  const ShardMigrationError: typeof S.ShardMigrationError
  const db: S.ShardedDb
  const tx: S.ShardedTransaction
  const config: S.ShardedDbOptions
  const shards: S.ShardedDbOptions['shards']
  const tables: S.ShardedDbOptions['tables']
  const fn: (tx: S.ShardedTransaction) => Promise<void>
  const transfer: (tx: S.ShardedTransaction) => Promise<void>
  const from: number, to: number, amount: number, id: number, version: number
  class ConflictError extends Error {}
}
export {}
`

// ---------------------------------------------------------------------------------------------
// TypeScript: one program over every ts block, so the package's types load once.

const tsBlocks = blocks.filter((b) => (b.lang === 'ts' || b.lang === 'typescript') && b.notChecked === undefined)
const virtualDir = path.join(root, '.doc-blocks')
const virtualName = (b: DocBlock) => path.join(virtualDir, `${b.file.replace(/[/.]/g, '_')}_${b.line}.mts`)
let tsDiagnostics: Map<string, string[]>

function typeCheck(): Map<string, string[]> {
  const files = new Map<string, string>([[path.join(virtualDir, 'prelude.mts'), PRELUDE]])
  // Each block is a module of its own (top-level await, its own scope).
  for (const b of tsBlocks) files.set(virtualName(b), `${b.code}\nexport {}\n`)
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2024.d.ts'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    noEmit: true,
    baseUrl: root,
    paths: { shardtx: ['src/index.ts'], 'shardtx/eslint-plugin': ['src/eslint/index.ts'] },
    resolveJsonModule: true,
    allowImportingTsExtensions: false,
  }
  const host = ts.createCompilerHost(options)
  const read = host.readFile.bind(host)
  const exists = host.fileExists.bind(host)
  host.readFile = (f) => files.get(path.resolve(f)) ?? read(f)
  host.fileExists = (f) => files.has(path.resolve(f)) || exists(f)
  const program = ts.createProgram([...files.keys()], options, host)
  const byFile = new Map<string, string[]>()
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file ? path.resolve(d.file.fileName) : '(global)'
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined
    const text = `${where ? `line ${where.line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    byFile.set(file, [...(byFile.get(file) ?? []), text])
  }
  return byFile
}

// ---------------------------------------------------------------------------------------------
// ESLint configs: evaluated with the plugin from src, then run on a small project.

let project: string

/**
 * Evaluates a flat config file's text: `import x from 'm'`, `import { a } from 'm'`,
 * `const x = require('m')`, `export default` and `module.exports =`. The plugin comes from src;
 * `require('shardtx/eslint-plugin')` gives the plugin itself, as the built package does (checked
 * for real in test/package/package.test.ts).
 */
function evaluateConfig(code: string): Linter.Config[] {
  const modules: Record<string, { default: unknown; cjs: unknown }> = {
    'shardtx/eslint-plugin': { default: plugin, cjs: plugin },
    '@typescript-eslint/parser': { default: tsParser, cjs: tsParser },
  }
  const load = (name: string) => {
    const mod = modules[name]
    if (!mod) throw new Error(`the config imports ${name}, which this test does not provide`)
    return mod
  }
  const body = code
    .replace(/^import (\w+) from '([^']+)'/gm, (_, name: string, from: string) => `const ${name} = __load('${from}').default`)
    .replace(/^import \{([^}]+)\} from '([^']+)'/gm, (_, names: string, from: string) => `const {${names}} = __load('${from}').default`)
    .replace(/\brequire\('([^']+)'\)/g, (_, from: string) => `__load('${from}').cjs`)
    .replace(/^export default /m, 'module.exports = ')
  const module = { exports: undefined as unknown }
  new Function('module', '__load', body)(module, load)
  expect(Array.isArray(module.exports), 'the config exports an array').toBe(true)
  return module.exports as Linter.Config[]
}

async function findingsPerFile(config: Linter.Config[]): Promise<Record<string, string[]>> {
  const eslint = new ESLint({ cwd: project, overrideConfigFile: true, overrideConfig: config })
  const results = await eslint.lintFiles(['src'])
  return Object.fromEntries(results.map((r) => [path.basename(r.filePath), r.messages.map((m) => (m.fatal ? `parse error: ${m.message}` : String(m.ruleId)))]))
}

// ---------------------------------------------------------------------------------------------
// Commands.

function cliProgram(): Command {
  const program = createProgram()
  registerLintCommand(program)
  registerReportCommand(program)
  registerMigrateCommand(program)
  return program
}

/** Problems with the `shardtx ...` and `npm run ...` commands in `text`. */
function commandProblems(text: string): string[] {
  const program = cliProgram()
  const problems: string[] = []
  for (const m of text.matchAll(/(?:\bnpx (?:--no-install )?shardtx|\bsrc\/cli\/main\.ts)\s+([a-z][\w-]*)([^\n|;&>)]*)/g)) {
    const [, name, rest] = m as unknown as [string, string, string]
    const command = program.commands.find((c) => c.name() === name)
    if (!command) {
      problems.push(`shardtx has no command "${name}" (it has ${program.commands.map((c) => c.name()).join(', ')})`)
      continue
    }
    for (const flag of rest.match(/--[\w-]+/g) ?? []) {
      if (flag === '--help' || command.options.some((o) => o.long === flag)) continue
      problems.push(`shardtx ${name} has no option ${flag}`)
    }
  }
  for (const m of text.matchAll(/\bnpm run ([\w:-]+)/g)) {
    if (!(m[1]! in packageJson.scripts)) problems.push(`package.json has no script "${m[1]}"`)
  }
  return problems
}

function bashSyntax(script: string): string {
  const result = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' })
  return result.status === 0 ? '' : result.stderr
}

// ---------------------------------------------------------------------------------------------

beforeAll(() => {
  tsDiagnostics = typeCheck()
  project = mkdtempSync(path.join(os.tmpdir(), 'stx-doc-blocks-'))
  writeFileSync(path.join(project, 'shardtx.config.json'), JSON.stringify({ tables: LINT_TABLES }))
  mkdirSync(path.join(project, 'config'))
  writeFileSync(path.join(project, 'config', 'shardtx.config.json'), JSON.stringify({ tables: LINT_TABLES }))
  mkdirSync(path.join(project, 'src'))
  for (const [name, source] of Object.entries(LINT_FIXTURE_FILES)) writeFileSync(path.join(project, 'src', name), source)
}, 60_000)
afterAll(() => rmSync(project, { recursive: true, force: true }))

const name = (b: DocBlock) => `${b.file}:${b.line} ${b.lang || '(no language)'}${b.notChecked !== undefined ? ` is not checked: ${b.notChecked}` : ''}`

describe('code blocks in the docs', () => {
  it('were found in README.md and docs/', () => {
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThan(3)
    expect(blocks.filter((b) => b.file.startsWith('docs/')).length).toBeGreaterThan(10)
  })

  it.each(blocks.map((b) => [name(b), b] as const))('%s', async (_name, block) => {
    if (block.notChecked !== undefined) {
      // Marked on purpose (an example of output, a diagram): the reason must say why.
      expect(block.notChecked.length, 'a not-checked marker needs a reason').toBeGreaterThan(3)
      return
    }
    switch (block.lang) {
      case 'ts':
      case 'typescript':
        expect(tsDiagnostics.get(virtualName(block)) ?? []).toEqual([])
        break
      case 'js':
      case 'javascript': {
        const parsed = ts.createSourceFile('block.mjs', block.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS) as ts.SourceFile & {
          parseDiagnostics: ts.Diagnostic[]
        }
        expect(parsed.parseDiagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([])
        if (block.code.includes('shardtx/eslint-plugin')) {
          const findings = await findingsPerFile(evaluateConfig(block.code))
          const expected = Object.fromEntries(Object.keys(LINT_FIXTURE_FILES).map((f) => [f, Array(EXPECTED_FINDINGS).fill('shardtx/no-cross-shard-write')]))
          expect(findings).toEqual(expected)
        }
        break
      }
      case 'json': {
        const whole = (() => {
          try {
            JSON.parse(block.code)
            return true
          } catch {
            return false
          }
        })()
        // JSON Lines (a footprint file): every line a document.
        if (!whole) for (const line of block.code.split('\n').filter((l) => l.trim() !== '')) expect(() => JSON.parse(line), line).not.toThrow()
        break
      }
      case 'yaml':
      case 'yml':
        expect(() => parseYaml(block.code)).not.toThrow()
        expect(commandProblems(block.code)).toEqual([])
        break
      case 'sh':
      case 'bash':
      case 'shell':
        expect(bashSyntax(block.code)).toBe('')
        expect(commandProblems(block.code)).toEqual([])
        break
      case 'console': {
        const commands = block.code
          .split('\n')
          .filter((l) => l.startsWith('$ '))
          .map((l) => l.slice(2))
          .join('\n')
        expect(commands, 'a console block shows at least one `$ command`').not.toBe('')
        expect(bashSyntax(commands)).toBe('')
        expect(commandProblems(commands)).toEqual([])
        break
      }
      case 'sql': {
        // split's and atomic's schemas must be exactly what shardtx runs; any other SQL must at least parse.
        const normalise = (sql: string) =>
          sql
            .replace(/--[^\n]*/g, '')
            .replace(/\s+/g, ' ')
            .trim()
        if (block.code.includes('shardtx_split_')) expect(normalise(block.code)).toBe(normalise(`${CREATE_PLANS_TABLE};\n${CREATE_APPLIED_TABLE};`))
        else if (block.code.includes('CREATE TABLE IF NOT EXISTS shardtx_atomic_'))
          expect(normalise(block.code)).toBe(normalise(`${CREATE_ATOMIC_DECISIONS_TABLE};`))
        else expect(() => new SqlParser().astify(block.code, { database: 'MariaDB' })).not.toThrow()
        break
      }
      default:
        expect.fail(`${block.file}:${block.line}: a \`${block.lang || 'plain'}\` block has no checker; add one here or mark it <!-- not-checked: reason -->`)
    }
  })
})

describe('links in the docs', () => {
  // The package ships these files (package.json `files`), so a link that resolves here also
  // resolves in node_modules/shardtx; test/package/package.test.ts checks the packed tarball.
  it.each(docFiles())('%s links only to files the package ships', (file) => {
    const broken = docLinks(file).flatMap(({ line, target }) => {
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target.replace(/#.*$/, '')))
      const shipped = packageJson.files.some((entry) => resolved === entry || resolved.startsWith(`${entry}/`))
      return existsSync(path.join(root, resolved)) && shipped ? [] : [`${file}:${line} -> ${target} (${shipped ? 'missing' : 'not in the package'})`]
    })
    expect(broken).toEqual([])
  })
})
