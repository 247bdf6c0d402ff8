// Not an example: the minimal `db.transaction(fn, options)` surface the lint examples compile against.
import type { Knex } from 'knex'
import type { TransactionOptions } from '../../src/config/options.js'

/** The part of shardtx's sharded db the examples use. */
export interface ExampleDb {
  transaction<T>(fn: (tx: Knex.Transaction) => Promise<T>, options?: TransactionOptions): Promise<T>
}

/** Lint fixtures are type-checked, never run, so a declaration is enough. */
export declare const db: ExampleDb

export interface Account {
  id: number
  balance: number
}
