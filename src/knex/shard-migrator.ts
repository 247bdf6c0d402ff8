import type { Knex } from 'knex'
import { expectPlainObject } from '../shared/validators.js'
import { ShardtxError } from '../shared/errors.js'

/** The three commands of `db.migrate` and `shardtx migrate`. */
export type MigrationCommand = 'latest' | 'rollback' | 'status'

/** What happened on one shard. */
export interface ShardMigrationResult {
  shard: string
  /** `done`; `failed` (this shard threw: `error`); `skipped` (not attempted: an earlier shard failed). */
  status: 'done' | 'failed' | 'skipped'
  /** `latest` / `rollback`: knex's batch number (0 when there was nothing to do). */
  batch?: number
  /** `latest`: migrations run; `rollback`: migrations undone; in the order knex ran them. */
  migrations?: string[]
  /** `status`: migrations already run on this shard. */
  completed?: string[]
  /** `status`: migrations not yet run on this shard. */
  pending?: string[]
  /** The shard's error, when `status` is `failed`. */
  error?: unknown
  /** The same error in one line (its code and message), when `status` is `failed`. */
  message?: string
}

/** One result per shard, in canonical order. */
export interface MigrationReport {
  command: MigrationCommand
  shards: ShardMigrationResult[]
}

/**
 * knex's migrator, run on every shard. Each shard keeps its own `knex_migrations` table, so a
 * shard that failed or was added later catches up on the next run.
 *
 * @example
 * ```ts
 * const report = await db.migrate.latest({ directory: './migrations' })
 * for (const s of report.shards) console.log(s.shard, s.batch, s.migrations)
 * ```
 */
export interface ShardedMigrator {
  /**
   * Runs every migration not yet run, shard by shard in canonical order (`db.shardNames`),
   * stopping at the first shard that fails.
   *
   * @throws ShardMigrationError with the per-shard results (done, failed, skipped).
   * @example
   * ```ts
   * await db.migrate.latest({ directory: './migrations' })
   * ```
   */
  latest(config?: Knex.MigratorConfig): Promise<MigrationReport>
  /**
   * Undoes the last batch on each shard (every batch with `all`), in canonical order, stopping at
   * the first shard that fails.
   *
   * @throws ShardMigrationError with the per-shard results.
   * @example
   * ```ts
   * await db.migrate.rollback({ directory: './migrations' })
   * ```
   */
  rollback(config?: Knex.MigratorConfig, all?: boolean): Promise<MigrationReport>
  /**
   * Completed and pending migrations of each shard, in canonical order.
   *
   * @throws ShardMigrationError when a shard cannot be read (the shards after it are skipped).
   * @example
   * ```ts
   * const { shards } = await db.migrate.status({ directory: './migrations' })
   * const behind = shards.filter((s) => s.pending!.length > 0).map((s) => s.shard)
   * ```
   */
  status(config?: Knex.MigratorConfig): Promise<MigrationReport>
}

/**
 * A migration failed on one shard. Shards before it are migrated (`done`), the failed one was
 * rolled back by knex as far as the database allows (MySQL commits DDL implicitly), and the
 * shards after it were not attempted (`skipped`). Fix the migration and run the command again:
 * knex skips what each shard already ran.
 *
 * @example
 * ```ts
 * try { await db.migrate.latest(config) }
 * catch (err) {
 *   if (err instanceof ShardMigrationError) console.table(err.shards.map(({ shard, status }) => ({ shard, status })))
 * }
 * ```
 */
export class ShardMigrationError extends ShardtxError {
  override readonly name = 'ShardMigrationError'
  readonly command: MigrationCommand
  /** Every shard's result, in canonical order. */
  readonly shards: readonly ShardMigrationResult[]
  /** The shard that failed. */
  readonly failedShard: string

  constructor(command: MigrationCommand, shards: readonly ShardMigrationResult[]) {
    const failed = shards.find((s) => s.status === 'failed')
    const names = (status: ShardMigrationResult['status']) => shards.filter((s) => s.status === status).map((s) => s.shard)
    const cause = failed?.error
    super(
      'SHARDTX_MIGRATION_FAILED',
      `db.migrate.${command}() failed on shard ${failed?.shard ?? '?'}: ${describeMigrationError(cause)}. ` +
        `Done: [${names('done').join(', ')}]; not attempted: [${names('skipped').join(', ')}]. ` +
        `Fix the cause and run it again: each shard keeps its own migrations table, so shards that are done skip what they already ran.`,
      { cause },
    )
    this.command = command
    this.shards = shards
    this.failedShard = failed?.shard ?? ''
  }
}

/**
 * A shard's migration error in one line: the driver's code (when the message lacks it) and message.
 *
 * @example
 * ```ts
 * describeMigrationError(err) // 'ER_TABLE_EXISTS_ERROR: create table `ledger` ... - Table 'ledger' already exists'
 * ```
 */
export function describeMigrationError(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause)
  const code = (cause as { code?: unknown }).code
  return typeof code === 'string' && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message
}

/**
 * `db.migrate` for a set of shards: knex's own migrator on each shard's plain knex instance, in
 * the order given.
 *
 * @param shardNames shards in canonical order, read at each call
 * @param shardKnex the plain knex instance of a shard (`db.shard(name)`)
 * @example
 * ```ts
 * const migrate = createShardedMigrator(() => db.shardNames, (name) => db.shard(name))
 * await migrate.latest({ directory: './migrations' })
 * ```
 */
export function createShardedMigrator(shardNames: () => readonly string[], shardKnex: (name: string) => Knex): ShardedMigrator {
  const run = async (
    command: MigrationCommand,
    config: unknown,
    step: (migrator: Knex.Migrator, config: Knex.MigratorConfig | undefined) => Promise<Omit<ShardMigrationResult, 'shard' | 'status'>>,
  ) => {
    const checked = config === undefined ? undefined : (expectPlainObject(`db.migrate.${command}() config`, config) as Knex.MigratorConfig)
    const results: ShardMigrationResult[] = []
    let failed = false
    for (const shard of shardNames()) {
      if (failed) {
        results.push({ shard, status: 'skipped' })
        continue
      }
      try {
        results.push({ shard, status: 'done', ...(await step(shardKnex(shard).migrate, checked)) })
      } catch (error) {
        failed = true
        results.push({ shard, status: 'failed', error, message: describeMigrationError(error) })
      }
    }
    if (failed) throw new ShardMigrationError(command, results)
    return { command, shards: results }
  }

  return {
    latest: (config) =>
      run('latest', config, async (migrator, c) => {
        const [batch, log] = (await migrator.latest(c)) as [number, string[]]
        return { batch, migrations: log }
      }),
    rollback: (config, all) => {
      if (all !== undefined && typeof all !== 'boolean') {
        return Promise.reject(new TypeError(`Expected \`all\` of db.migrate.rollback(config, all) to be a boolean, got ${typeof all}`))
      }
      return run('rollback', config, async (migrator, c) => {
        const [batch, log] = (await migrator.rollback(c, all === true)) as [number, string[]]
        return { batch, migrations: log }
      })
    },
    status: (config) =>
      run('status', config, async (migrator, c) => {
        const [completed, pending] = (await migrator.list(c)) as [unknown[], unknown[]]
        return { completed: completed.map((m) => migrationName(m, c)), pending: pending.map((m) => migrationName(m, c)) }
      }),
  }
}

/**
 * knex lists completed migrations as `{ name }` and pending ones as whatever the migration
 * source returns (`{ file, directory }` for the default file system source).
 */
function migrationName(migration: unknown, config: Knex.MigratorConfig | undefined): string {
  if (typeof migration === 'string') return migration
  const m = migration as { name?: unknown; file?: unknown }
  if (typeof m.name === 'string') return m.name
  if (config?.migrationSource) return config.migrationSource.getMigrationName(migration)
  return typeof m.file === 'string' ? m.file : String(migration)
}
