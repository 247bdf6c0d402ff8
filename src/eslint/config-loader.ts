import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { resolveKeySpaces } from '../config/key-spaces.js'
import type { TableConfig } from '../config/options.js'

/** Table name -> placement, the same shape as `createShardedDb({ tables })`. */
export type LintTables = Readonly<Record<string, TableConfig>>

/** Options of `shardtx/no-cross-shard-write`: inline `tables`, or a `config` file path (relative to ESLint's cwd). */
export interface LintRuleOptions {
  /** Inline table configuration, e.g. `{ accounts: { shardKey: 'id' } }`. Wins over `config`. */
  tables?: Record<string, unknown>
  /** Path to `shardtx.config.json` or a JS/MJS/CJS module exporting `{ tables }`. */
  config?: string
}

/** Names looked for, in this order, when neither `tables` nor `config` is given. */
export const DEFAULT_CONFIG_NAMES: readonly string[] = ['shardtx.config.json', 'shardtx.config.js', 'shardtx.config.mjs', 'shardtx.config.cjs']

/**
 * The table configuration is missing or malformed. The message names the file (or "inline
 * options") and says what to change; the CLI turns it into exit code 2.
 */
export class ShardtxLintConfigError extends Error {
  readonly code = 'SHARDTX_LINT_CONFIG'
  constructor(message: string) {
    super(message)
    this.name = 'ShardtxLintConfigError'
  }
}

const EXAMPLE = `{ "tables": { "accounts": { "shardKey": "id" }, "countries": { "shard": "-80" } } }`

/**
 * Checks a `tables` object: every entry needs exactly one of `shardKey` (a column) or `shard`
 * (the shard a pinned table lives on). Returns a frozen copy.
 *
 * @param source Where the object came from, used in error messages (a path or "inline options").
 * @example
 * ```ts
 * validateTables({ accounts: { shardKey: 'id' } }, 'inline options') // ok
 * validateTables({ accounts: {} }, 'shardtx.config.json') // throws: table "accounts" needs ...
 * ```
 */
export function validateTables(raw: unknown, source: string): LintTables {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ShardtxLintConfigError(
      `${source}: "tables" must be an object mapping table names to { shardKey } or { shard }, got ${describe(raw)}. Example: ${EXAMPLE}`,
    )
  }
  const out: Record<string, TableConfig> = {}
  for (const [table, entry] of Object.entries(raw)) {
    out[table] = validateEntry(table, entry, source)
  }
  // The same reading of colocatedWith as createShardedDb's (config/key-spaces.ts).
  resolveKeySpaces(out, (table, message) => {
    throw new ShardtxLintConfigError(`${source}: table "${table}": ${message}.`)
  })
  return Object.freeze(out)
}

const HINT =
  `Use { "shardKey": "<column>" } for a sharded table (optionally with "colocatedWith": "<sharded table>"), ` +
  `{ "shard": "<shard name>" } for a table that lives on one shard, or { "reference": true } for a table copied to every shard.`

function validateEntry(table: string, entry: unknown, source: string): TableConfig {
  const fields = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined
  const shardKey = fields?.['shardKey']
  const shard = fields?.['shard']
  const reference = fields?.['reference']
  const colocatedWith = fields?.['colocatedWith']
  if (shardKey !== undefined && shard !== undefined) {
    throw new ShardtxLintConfigError(`${source}: table "${table}" has both "shardKey" and "shard"; pick one. ${HINT}`)
  }
  if (reference !== undefined) {
    if (shardKey !== undefined || shard !== undefined || reference !== true) {
      throw new ShardtxLintConfigError(
        `${source}: table "${table}" has "reference" ${reference === true ? 'next to "shardKey"/"shard"' : 'set to something other than true'}. ${HINT}`,
      )
    }
    return { reference: true }
  }
  if (typeof shardKey === 'string' && shardKey !== '') {
    if (colocatedWith === undefined) return { shardKey }
    if (typeof colocatedWith !== 'string' || colocatedWith === '') {
      throw new ShardtxLintConfigError(`${source}: table "${table}" has an empty or non-string "colocatedWith". ${HINT}`)
    }
    return { shardKey, colocatedWith }
  }
  if (typeof shard === 'string' && shard !== '') return { shard }
  if (shardKey !== undefined || shard !== undefined) {
    throw new ShardtxLintConfigError(`${source}: table "${table}" has an empty or non-string "shardKey"/"shard". ${HINT}`)
  }
  throw new ShardtxLintConfigError(`${source}: table "${table}" has neither "shardKey" nor "shard" nor "reference" (got ${describe(entry)}). ${HINT}`)
}

/**
 * The key space of a sharded table: the table its `colocatedWith` chain ends at (validated
 * without loops by {@link validateTables}).
 *
 * @example
 * ```ts
 * keySpaceOf({ customers: { shardKey: 'id' }, orders: { shardKey: 'customer_id', colocatedWith: 'customers' } }, 'orders') // 'customers'
 * ```
 */
export function keySpaceOf(tables: LintTables, table: string): string {
  let current = table
  for (;;) {
    const config = tables[current]
    if (config === undefined || !('shardKey' in config) || config.colocatedWith === undefined) return current
    current = config.colocatedWith
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  const json = JSON.stringify(value)
  return json.length > 60 ? `${json.slice(0, 57)}...` : json
}

/**
 * Returns the first default config file (`shardtx.config.json`, `.js`, `.mjs`, `.cjs`) in `cwd`,
 * or undefined.
 *
 * @example
 * ```ts
 * findDefaultConfig(process.cwd()) // '/repo/shardtx.config.json'
 * ```
 */
export function findDefaultConfig(cwd: string): string | undefined {
  for (const name of DEFAULT_CONFIG_NAMES) {
    const candidate = path.join(cwd, name)
    if (existsSync(candidate)) return candidate
  }
  return undefined
}

// ESLint calls a rule's create() once per file; re-reading the config 1,000 times would cost
// more than the analysis. The mtime in the key makes editor sessions pick up edits.
const fileCache = new Map<string, { mtimeMs: number; tables: LintTables }>()

/**
 * Loads and validates the `tables` of a config file. JSON files need a top-level `tables`; JS
 * modules may `export default { tables }` (or a whole `createShardedDb` options object),
 * `export const tables = {...}`, or `module.exports = { tables }`. ES modules are loaded with
 * `require()`, which Node >= 20.19 supports for modules without top-level await; that keeps
 * this usable from ESLint's synchronous rule setup.
 *
 * @param file Absolute path, or relative to `cwd`.
 * @example
 * ```ts
 * loadTablesFromFile('shardtx.config.json', process.cwd()).accounts // { shardKey: 'id' }
 * ```
 */
export function loadTablesFromFile(file: string, cwd: string): LintTables {
  const absolute = path.resolve(cwd, file)
  const shown = path.relative(cwd, absolute) || absolute
  let mtimeMs: number
  try {
    mtimeMs = statSync(absolute).mtimeMs
  } catch {
    throw new ShardtxLintConfigError(`shardtx config file not found: ${shown} (resolved from ${cwd}). Check the path, or create it with ${EXAMPLE}`)
  }
  const cached = fileCache.get(absolute)
  if (cached && cached.mtimeMs === mtimeMs) return cached.tables
  const tables = validateTables(readTables(absolute, shown), shown)
  fileCache.set(absolute, { mtimeMs, tables })
  return tables
}

function readTables(absolute: string, shown: string): unknown {
  const ext = path.extname(absolute)
  if (ext === '.json') {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(absolute, 'utf8'))
    } catch (err) {
      throw new ShardtxLintConfigError(`${shown} is not valid JSON: ${(err as Error).message}`)
    }
    const tables = (parsed as { tables?: unknown } | null)?.tables
    if (tables === undefined) {
      throw new ShardtxLintConfigError(`${shown} has no top-level "tables" object. Expected ${EXAMPLE}`)
    }
    return tables
  }
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs') {
    let mod: Record<string, unknown>
    try {
      mod = createRequire(absolute)(absolute) as Record<string, unknown>
    } catch (err) {
      throw new ShardtxLintConfigError(`${shown} could not be loaded: ${(err as Error).message}`)
    }
    const fromDefault = (mod['default'] as { tables?: unknown } | undefined)?.tables
    const tables = fromDefault ?? mod['tables']
    if (tables === undefined) {
      throw new ShardtxLintConfigError(
        `${shown} exports no tables. Use \`export default { tables: {...} }\`, \`export const tables = {...}\` or \`module.exports = { tables: {...} }\`.`,
      )
    }
    return tables
  }
  throw new ShardtxLintConfigError(`${shown}: unsupported config file type "${ext}". Use .json, .js, .mjs or .cjs.`)
}

// Inline tables are validated once per options object, not once per linted file.
const inlineCache = new WeakMap<object, LintTables>()

/**
 * Resolves the rule's options to a validated table map: inline `tables` first, then `config`,
 * then the first default config file in `cwd`.
 *
 * @example
 * ```ts
 * resolveRuleTables({ config: 'examples/shardtx.config.json' }, process.cwd())
 * ```
 */
export function resolveRuleTables(options: LintRuleOptions | undefined, cwd: string): LintTables {
  if (options?.tables !== undefined) {
    const key = options.tables as object
    const hit = typeof key === 'object' && key !== null ? inlineCache.get(key) : undefined
    if (hit) return hit
    const tables = validateTables(options.tables, 'shardtx/no-cross-shard-write inline options')
    if (typeof key === 'object' && key !== null) inlineCache.set(key, tables)
    return tables
  }
  if (options?.config !== undefined) return loadTablesFromFile(options.config, cwd)
  const found = findDefaultConfig(cwd)
  if (found) return loadTablesFromFile(found, cwd)
  throw new ShardtxLintConfigError(
    `shardtx/no-cross-shard-write has no table configuration: pass { tables } or { config: 'path/to/shardtx.config.json' } ` +
      `as rule options, or create ${DEFAULT_CONFIG_NAMES.join(' / ')} in ${cwd}.`,
  )
}
