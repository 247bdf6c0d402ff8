// The package as users get it: built, packed with `npm pack`, installed with npm into a scratch
// project next to its peer dependencies (from the npm cache, or the registry), then imported,
// required, linted with and run. Everything else in the suite runs src/; this is the one place
// that sees what the bundler and `files` made of it.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docBlocks, docFiles, docLinks, root } from '../support/doc-blocks.js'
import { EXPECTED_FINDINGS, LINT_FIXTURE_FILES, LINT_TABLES } from '../support/lint-fixture.js'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> }

let work: string
let tarball: string
let packed: string[]
let scratch: string
let installLog: string

/** Runs a command, resolving to its exit code and output whatever the code. */
async function sh(command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string }
    if (typeof e.code !== 'number') throw err
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

const installedVersion = (name: string) => (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'stx-package-'))
  // Build explicitly, then pack without scripts: `npm pack` would run prepack's build itself, and
  // mix tsup's output into the JSON it prints.
  const build = await sh('npm', ['run', 'build', '--silent'], root)
  expect(build.code, build.stderr).toBe(0)
  const pack = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root)
  expect(pack.code, pack.stderr).toBe(0)
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[]
  tarball = path.join(work, info!.filename)
  packed = info!.files.map((f) => f.path).sort()

  scratch = path.join(work, 'app')
  mkdirSync(path.join(scratch, 'src'), { recursive: true })
  mkdirSync(path.join(scratch, 'config'))
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }))
  // The peer dependencies at the versions this repository tests with; --prefer-offline takes them
  // (and shardtx's own dependencies) from npm's cache when it has them.
  const peers = ['knex', 'mysql2', 'eslint', '@typescript-eslint/parser'].map((name) => `${name}@${installedVersion(name)}`)
  const install = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tarball, ...peers], scratch)
  expect(install.code, install.stderr).toBe(0)
  installLog = install.stdout + install.stderr
  writeFileSync(path.join(scratch, 'shardtx.config.json'), JSON.stringify({ tables: LINT_TABLES }))
  writeFileSync(path.join(scratch, 'config', 'shardtx.config.json'), JSON.stringify({ tables: LINT_TABLES }))
  for (const [name, source] of Object.entries(LINT_FIXTURE_FILES)) writeFileSync(path.join(scratch, 'src', name), source)
}, 240_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the packed package', () => {
  it('holds the docs the README links to, a LICENSE, and no build nothing uses', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'docs/lint.md',
        'dist/index.js',
        'dist/index.cjs',
        'dist/eslint/index.js',
        'dist/eslint/index.cjs',
      ]),
    )
    // The bin is ESM only: no CommonJS copy of the CLI.
    expect(packed.filter((f) => f.startsWith('dist/cli/'))).toEqual(['dist/cli/main.js', 'dist/cli/main.js.map'])
    expect(Object.values(pkg.bin)).toEqual(['./dist/cli/main.js'])
    const broken = docFiles().flatMap((file) =>
      docLinks(file)
        .map(({ line, target }) => ({ line, resolved: path.posix.normalize(path.posix.join(path.posix.dirname(file), target.replace(/#.*$/, ''))) }))
        .filter(({ resolved }) => !packed.some((f) => f === resolved || f.startsWith(`${resolved}/`)))
        .map(({ line, resolved }) => `${file}:${line} -> ${resolved}`),
    )
    expect(broken).toEqual([])
  })

  it('installs without lifecycle scripts or warnings about itself', () => {
    const installed = JSON.parse(readFileSync(path.join(scratch, 'node_modules/shardtx/package.json'), 'utf8')) as {
      scripts?: Record<string, string>
      license: string
    }
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(installed.scripts?.[script], script).toBeUndefined()
    expect(installed.license).toBe('MIT')
    expect(installLog.split('\n').filter((l) => /warn/i.test(l) && /shardtx/.test(l))).toEqual([])
  })

  it('is clean for publint', async () => {
    const buffer = readFileSync(tarball)
    const { messages, pkg: manifest } = await publint({
      pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) },
      level: 'suggestion',
    })
    expect(messages.map((m) => `${m.type}: ${formatMessage(m, manifest) ?? m.code}`)).toEqual([])
  })

  it('is clean for @arethetypeswrong/cli, in every module resolution', async () => {
    const cli = path.join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js')
    const result = await sh(process.execPath, [cli, tarball, '--format', 'json'], work)
    const { problems } = JSON.parse(result.stdout) as { problems: Record<string, unknown[]> }
    expect(problems).toEqual({})
    expect(result.code).toBe(0)
  })

  it('imports and requires both entry points, and every error class shows its own name', async () => {
    const samples = pathToFileURL(path.join(root, 'test/support/error-samples.ts')).href
    const script = `import { createRequire } from 'node:module'
import * as esm from 'shardtx'
import esmPlugin from 'shardtx/eslint-plugin'
import { errorSamples, shownNames } from ${JSON.stringify(samples)}
const require = createRequire(import.meta.url)
const cjs = require('shardtx')
const cjsPlugin = require('shardtx/eslint-plugin')
const describe = (mod, plugin) => ({
  createShardedDb: typeof mod.createShardedDb,
  errors: errorSamples(mod).map(([name, err]) => [name, shownNames(err)]),
  plugin: Object.keys(plugin).sort(),
  rule: typeof plugin.rules['no-cross-shard-write']?.create,
  files: plugin.configs.recommended.files,
  parser: typeof plugin.configs.recommended.languageOptions.parser.parseForESLint,
})
console.log(JSON.stringify({ esm: describe(esm, esmPlugin), cjs: describe(cjs, cjsPlugin), samePlugin: cjsPlugin === cjsPlugin.configs.recommended.plugins.shardtx }))
`
    writeFileSync(path.join(scratch, 'check.mts'), script)
    const result = await sh(process.execPath, ['--import', import.meta.resolve('tsx'), 'check.mts'], scratch)
    expect(result.stderr).toBe('')
    const seen = JSON.parse(result.stdout) as Record<'esm' | 'cjs', { errors: [string, Record<string, string>][] } & Record<string, unknown>> & {
      samePlugin: boolean
    }
    for (const format of ['esm', 'cjs'] as const) {
      const { errors, ...rest } = seen[format]
      expect(rest, format).toEqual({
        createShardedDb: 'function',
        plugin: ['configs', 'meta', 'rules'],
        rule: 'function',
        files: ['**/*.js', '**/*.mjs', '**/*.cjs', '**/*.jsx', '**/*.ts', '**/*.mts', '**/*.cts', '**/*.tsx'],
        parser: 'function',
      })
      for (const [name, shown] of errors) expect(shown, `${format} ${name}`).toEqual({ name, string: name, stack: name, inspect: name })
    }
    expect(seen.samePlugin).toBe(true)
  })

  // The configs README.md and docs/lint.md show, as files, run by the installed ESLint CLI.
  const eslintBlocks = ['README.md', 'docs/lint.md'].flatMap(docBlocks).filter((b) => b.code.includes('shardtx/eslint-plugin'))
  it.each(eslintBlocks.map((b) => [`${b.file}:${b.line}`, b] as const))(
    'the ESLint config of %s reports the cross-shard writes in every file type',
    async (_name, block) => {
      const commonJs = /^\s*(?:const \w+ = require\(|module\.exports\b)/m.test(block.code)
      const configFile = path.join(scratch, commonJs ? 'eslint.config.cjs' : 'eslint.config.js')
      writeFileSync(configFile, block.code)
      try {
        const result = await sh(
          process.execPath,
          [path.join(scratch, 'node_modules/eslint/bin/eslint.js'), '--config', configFile, '--format', 'json', 'src'],
          scratch,
        )
        expect(result.stderr).toBe('')
        const findings = Object.fromEntries(
          (JSON.parse(result.stdout) as { filePath: string; messages: { ruleId: string | null; fatal?: boolean; message: string }[] }[]).map((r) => [
            path.basename(r.filePath),
            r.messages.map((m) => (m.fatal ? `parse error: ${m.message}` : String(m.ruleId))),
          ]),
        )
        expect(findings).toEqual(
          Object.fromEntries(Object.keys(LINT_FIXTURE_FILES).map((f) => [f, Array(EXPECTED_FINDINGS).fill('shardtx/no-cross-shard-write')])),
        )
        expect(result.code).toBe(1)
      } finally {
        rmSync(configFile)
      }
    },
  )

  it('runs the shardtx bin: --version, and lint with findings', async () => {
    const bin = path.join(scratch, 'node_modules/.bin/shardtx')
    expect(await sh(bin, ['--version'], scratch)).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' })
    const lint = await sh(bin, ['lint', 'src', '--format', 'json'], scratch)
    expect(lint.code).toBe(1)
    expect((JSON.parse(lint.stdout) as { problemCount: number }).problemCount).toBe(EXPECTED_FINDINGS * Object.keys(LINT_FIXTURE_FILES).length)
  })
})
