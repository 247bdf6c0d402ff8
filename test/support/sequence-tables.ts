import type { ShardedDbOptions } from '../../src/index.js'

/** Ids reserved per round trip in the sequence tests: small, so 64 inserts need several blocks. */
export const SEQUENCE_BLOCK = 10

/** `customers` takes its ids from `customer_seq` on `-80` (shared by the test and its child processes). */
export const SEQUENCE_TABLES: ShardedDbOptions['tables'] = {
  customers: { shardKey: 'id', sequence: { table: 'customer_seq', blockSize: SEQUENCE_BLOCK } },
}

export const SEQUENCE_SCHEMA = `
  CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL) ENGINE=InnoDB;
  CREATE TABLE customer_seq (id INT PRIMARY KEY, next_id BIGINT NOT NULL, cache BIGINT NOT NULL) ENGINE=InnoDB COMMENT 'vitess_sequence';
`
