/**
 * shardtx: sharded knex transactions for MySQL/MariaDB that detect and control cross-shard writes.
 * Explicit named exports only; everything else is internal.
 */
export { createShardedDb, type ShardedDb } from './sharded-db.js'
export type { ShardedTransaction, ShardHandle } from './transaction/tx-handle.js'
export type { SplitOptions } from './config/options.js'
export {
  SplitPlanFailedError,
  SplitPlanPendingError,
  SplitWriteResultError,
  SplitUnsupportedError,
  type SplitFailure,
  type SplitPartDescription,
  type SplitPartStatement,
} from './policies/split/errors.js'
export type { RecoveryReport, RecoverOptions } from './policies/split/split-coordinator.js'
export type { SplitPlanFailedEvent, SplitPlanPendingEvent, SplitRecoveryEvent, SplitRecoveryErrorEvent } from './policies/split/events.js'
export { CREATE_PLANS_TABLE, CREATE_APPLIED_TABLE } from './policies/split/intent-log-schema.js'
export type {
  ShardedDbOptions,
  TransactionOptions,
  ShardConnection,
  TableConfig,
  ShardKey,
  RouterFunction,
  CrossShardPolicyName,
  RetryOptions,
  WarningOptions,
  PoolOptions,
  FootprintOptions,
} from './config/options.js'
export {
  ShardtxError,
  CrossShardTransactionError,
  PartialCommitError,
  UnroutableQueryError,
  DistributedDeadlockError,
  ShardUnavailableError,
  ReasonRequiredError,
  isRetryableError,
  type CodeLocation,
  type TransactionFacts,
} from './shared/errors.js'
export type { ShardtxLogger } from './shared/logger.js'
export type { HealthOptions } from './config/options.js'
export type { DeadlockOptions } from './config/options.js'
export type { DeadlockStats, DistributedDeadlockEvent, DeadlockMember, DeadlockWait } from './deadlock/detector-events.js'
export { StatementTimeoutError } from './shared/errors.js'
export {
  SHARD_HEALTH_CHANNEL,
  type ShardHealthInfo,
  type ShardState,
  type ShardHealthEvent,
  type ShardDownEvent,
  type ShardUpEvent,
} from './health/health-events.js'
export { CHANNELS, type CrossShardTransactionEvent, type TransactionRetryEvent, type PartialCommitEvent } from './shared/channels.js'
export { keyrangeNames } from './routing/keyrange-names.js'
export { LockSetUnstableError } from './policies/ordered/errors.js'
export type { FootprintRecord, FootprintTransactionRecord, FootprintDroppedRecord } from './shared/footprint-record.js'
