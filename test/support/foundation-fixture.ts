/**
 * Two real shard databases (`-80`, `80-`) with the tables the README uses, for the foundation's
 * integration tests. With the Vitess hash vindex, ids 1, 2, 3, 5 live on `-80` and 4, 6 on `80-`.
 */
import { createShardedDb, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'
import { createTestShards, type TestShards } from './shard-databases.js'

export const LOW = [1, 2, 3, 5] as const // keys on -80
export const HIGH = [4, 6] as const // keys on 80-

export const FOUNDATION_SCHEMA = `
  CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance INT NOT NULL DEFAULT 0, name VARCHAR(100) NULL) ENGINE=InnoDB;
  CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT NOT NULL, total INT NOT NULL) ENGINE=InnoDB;
  CREATE TABLE countries (code CHAR(2) PRIMARY KEY, name VARCHAR(100) NOT NULL) ENGINE=InnoDB;
`

export const FOUNDATION_TABLES: ShardedDbOptions['tables'] = {
  accounts: { shardKey: 'id' },
  orders: { shardKey: 'customer_id' },
  countries: { shard: '-80' },
}

export interface Foundation {
  shards: TestShards
  /** Creates a ShardedDb on the fixture's shards; closed by `close()`. */
  open(options?: Partial<ShardedDbOptions>): ShardedDb
  /** Rows of a table on one shard, read directly from that shard's database. */
  rows(shard: string, table: string): Promise<Record<string, unknown>[]>
  /** Clears every table on both shards. */
  reset(): Promise<void>
  close(): Promise<void>
}

export async function createFoundation(): Promise<Foundation> {
  const shards = await createTestShards({ names: ['-80', '80-'] })
  await shards.execAll(FOUNDATION_SCHEMA)
  const opened: ShardedDb[] = []
  return {
    shards,
    open(options = {}) {
      const db = createShardedDb({ shards: shards.shards, tables: FOUNDATION_TABLES, ...options })
      opened.push(db)
      return db
    },
    rows: (shard, table) => shards.query(shard, `SELECT * FROM \`${table}\` ORDER BY 1`),
    reset: () => shards.execAll('DELETE FROM accounts; DELETE FROM orders; DELETE FROM countries;'),
    async close() {
      await Promise.all(opened.map((db) => db.destroy()))
      await shards.drop()
    },
  }
}

/** A logger that keeps what it is given, for asserting on structured events. */
export function capturingLogger() {
  const entries: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = []
  const at = (level: string) => (obj: object, msg?: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg })
  }
  // isLevelEnabled: every level, debug included (a logger without it gets no debug events).
  return { entries, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), isLevelEnabled: () => true } }
}
