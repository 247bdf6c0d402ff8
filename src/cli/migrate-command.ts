import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Argument, Option, type Command } from 'commander'
import type { Knex } from 'knex'
import type { ShardedDbOptions } from '../config/options.js'
import { DEFAULT_CONFIG_NAMES, findDefaultConfig } from '../eslint/config-loader.js'
// The public entry, as an application uses it: the CLI reaches no other part of the runtime.
import type { MigrationCommand, MigrationReport, ShardMigrationError, ShardMigrationResult } from '../index.js'

/** Exit codes of `shardtx migrate`. */
export const MIGRATE_EXIT = { ok: 0, failed: 1, usage: 2 } as const

const FORMATS = ['text', 'json'] as const
const COMMANDS = ['latest', 'rollback', 'status'] as const satisfies readonly MigrationCommand[]

interface MigrateOptions {
  config?: string
  directory?: string
  all?: boolean
  format: (typeof FORMATS)[number]
}

/** A configuration problem: printed, exit code 2. */
class MigrateUsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MigrateUsageError'
  }
}

/**
 * Registers `shardtx migrate latest|rollback|status` on the program: knex's migrator on every
 * shard (`db.migrate`), with the shards and tables of a config module.
 *
 * @example
 * ```ts
 * const program = createProgram()
 * registerMigrateCommand(program)
 * // shardtx migrate latest --config shardtx.config.mjs
 * ```
 */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('run knex migrations on every shard in canonical order, stopping at the first failure (exit 1), 2 on bad configuration')
    .addArgument(
      new Argument('<command>', 'latest: run pending migrations; rollback: undo the last batch; status: list completed and pending').choices(COMMANDS),
    )
    .option(
      '--config <path>',
      `module whose default export is the createShardedDb options, plus an optional \`migrations\` (knex's migration config); default: the first of ${DEFAULT_CONFIG_NAMES.join(', ')} in the current directory`,
    )
    .option('--directory <dir>', 'migrations directory, relative to the current directory (overrides migrations.directory; knex defaults to ./migrations)')
    .option('--all', 'rollback: undo every batch, not only the last')
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('text'))
    .action(async (command: MigrationCommand, opts: MigrateOptions) => {
      process.exitCode = await migrateCommand(command, opts)
    })
}

async function migrateCommand(command: MigrationCommand, opts: MigrateOptions): Promise<number> {
  let loaded: LoadedConfig
  try {
    loaded = await loadMigrateConfig(process.cwd(), opts.config)
  } catch (err) {
    if (!(err instanceof MigrateUsageError)) throw err
    process.stderr.write(`shardtx migrate: ${err.message}\n`)
    return MIGRATE_EXIT.usage
  }
  const migrations: Knex.MigratorConfig = { ...loaded.migrations, ...(opts.directory === undefined ? {} : { directory: opts.directory }) }
  // Loaded here, not at the top: `shardtx lint` and `report` need neither knex nor mysql2.
  const { createShardedDb } = await import('../index.js')
  let db
  try {
    db = createShardedDb(withoutBackgroundRecovery(loaded.options))
  } catch (err) {
    // Option errors are TypeErrors that name the option and never quote credentials.
    if (!(err instanceof TypeError)) throw err
    process.stderr.write(`shardtx migrate: ${loaded.shown}: ${err.message}\n`)
    return MIGRATE_EXIT.usage
  }
  try {
    const report =
      command === 'latest'
        ? await db.migrate.latest(migrations)
        : command === 'rollback'
          ? await db.migrate.rollback(migrations, opts.all === true)
          : await db.migrate.status(migrations)
    process.stdout.write(opts.format === 'json' ? formatJson(report, loaded.shown) : formatText(report, loaded.shown))
    return MIGRATE_EXIT.ok
  } catch (err) {
    // By code, not instanceof: the class is the public entry's, loaded above.
    if ((err as { code?: unknown }).code !== 'SHARDTX_MIGRATION_FAILED') throw err
    const failure = err as ShardMigrationError
    const report: MigrationReport = { command, shards: [...failure.shards] }
    process.stdout.write(opts.format === 'json' ? formatJson(report, loaded.shown) : formatText(report, loaded.shown))
    process.stderr.write(`shardtx migrate: ${failure.message}\n`)
    return MIGRATE_EXIT.failed
  } finally {
    await db.destroy()
  }
}

/**
 * Split recovery reads its intent log tables, which a first `migrate latest` may be about to
 * create; a one-off command has no use for it either.
 */
function withoutBackgroundRecovery(options: Record<string, unknown>): ShardedDbOptions {
  const split = options.split
  if (split !== undefined && (split === null || typeof split !== 'object' || Array.isArray(split))) return options as unknown as ShardedDbOptions
  return { ...options, split: { ...(split as object | undefined), recoverOnStart: false, recoveryIntervalMs: 0 } } as unknown as ShardedDbOptions
}

interface LoadedConfig {
  /** The file, as shown in messages (relative to the current directory). */
  shown: string
  options: Record<string, unknown>
  migrations: Knex.MigratorConfig
}

/**
 * Reads the config: JSON, or a module whose default export (`module.exports`) is the
 * createShardedDb options. An optional `migrations` key holds knex's migration config; it is
 * taken out before the options reach createShardedDb, which refuses unknown keys.
 */
async function loadMigrateConfig(cwd: string, file: string | undefined): Promise<LoadedConfig> {
  const absolute = file === undefined ? findDefaultConfig(cwd) : path.resolve(cwd, file)
  if (absolute === undefined) {
    throw new MigrateUsageError(
      `no config found in ${cwd} (looked for ${DEFAULT_CONFIG_NAMES.join(', ')}). Pass --config <module> whose default export is ` +
        `the createShardedDb options ({ shards, tables }), optionally with \`migrations: { directory: './migrations' }\`.`,
    )
  }
  const shown = path.relative(cwd, absolute) || absolute
  let loaded: unknown
  try {
    if (path.extname(absolute) === '.json') loaded = JSON.parse(readFileSync(absolute, 'utf8'))
    else {
      const mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>
      loaded = mod.default ?? mod
    }
  } catch (err) {
    throw new MigrateUsageError(`cannot load ${shown}: ${(err as Error).message.split('\n')[0]}`)
  }
  if (loaded === null || typeof loaded !== 'object' || Array.isArray(loaded)) {
    throw new MigrateUsageError(
      `${shown} must export the createShardedDb options object as its default export, got ${loaded === null ? 'null' : typeof loaded}`,
    )
  }
  const { migrations, ...options } = loaded as Record<string, unknown>
  if (options.shards === undefined) {
    throw new MigrateUsageError(`${shown} has no \`shards\`: shardtx migrate needs the createShardedDb options ({ shards, tables }) to reach every shard.`)
  }
  if (migrations !== undefined && (migrations === null || typeof migrations !== 'object' || Array.isArray(migrations))) {
    throw new MigrateUsageError(
      `Expected \`migrations\` in ${shown} to be knex's migration config object ({ directory, tableName, ... }), got ${migrations === null ? 'null' : typeof migrations}`,
    )
  }
  return { shown, options, migrations: (migrations ?? {}) as Knex.MigratorConfig }
}

/** One line per shard, in canonical order; names padded so the columns line up. */
function formatText(report: MigrationReport, configFile: string): string {
  const width = Math.max(...report.shards.map((s) => s.shard.length))
  const lines = report.shards.map((s) => `  ${s.shard.padEnd(width)}  ${describeShard(report.command, s)}`)
  return `shardtx migrate ${report.command} (${configFile}, ${report.shards.length} shard${report.shards.length === 1 ? '' : 's'})\n${lines.join('\n')}\n`
}

function describeShard(command: MigrationCommand, s: ShardMigrationResult): string {
  if (s.status === 'skipped') return 'not attempted (an earlier shard failed)'
  if (s.status === 'failed') return `FAILED: ${s.message}`
  if (command === 'status') {
    const pending = s.pending ?? []
    return pending.length === 0
      ? `up to date (${s.completed?.length ?? 0} completed)`
      : `${pending.length} pending: ${pending.join(', ')} (${s.completed?.length ?? 0} completed)`
  }
  const migrations = s.migrations ?? []
  if (migrations.length === 0) return command === 'latest' ? 'already up to date' : 'nothing to roll back'
  return `${command === 'latest' ? 'ran' : 'rolled back'} batch ${s.batch}: ${migrations.join(', ')}`
}

function formatJson(report: MigrationReport, configFile: string): string {
  // `message` says what the error object would (it does not survive JSON.stringify).
  const shards = report.shards.map(({ error: _error, ...rest }) => rest)
  return `${JSON.stringify({ command: report.command, configFile, shards }, null, 2)}\n`
}
