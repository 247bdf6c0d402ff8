/**
 * shardtx: sharded knex transactions for MySQL/MariaDB that detect and control cross-shard writes.
 * Explicit named exports only; everything else is internal. Grouped the way a reader looks for
 * things: the entry point, option types, errors, events and diagnostics channels, split's schema,
 * helpers.
 */

// Entry point, and the objects it hands out.
export { createShardedDb, type ShardedDb, type RecoveryReport } from './sharded-db.js'
export type { ShardedTransaction, ShardHandle } from './transaction/tx-handle.js'
export type { RecoverOptions, SplitRecoveryReport } from './policies/split/split-coordinator.js'
export type { AtomicRecoveryReport } from './policies/atomic/events.js'
export type { AtomicStats } from './policies/atomic/stats.js'
export type { ShardHealthInfo, ShardState } from './health/health-events.js'
export type { DeadlockStats } from './deadlock/detector-events.js'

// Options.
export type {
  ShardedDbOptions,
  TransactionOptions,
  ShardConnection,
  TableConfig,
  ShardedTableConfig,
  PinnedTableConfig,
  ReferenceTableConfig,
  SequenceConfig,
  SequenceTableConfig,
  SequenceGenerator,
  ShardKey,
  RouterFunction,
  RetryOptions,
  WarningOptions,
  PoolOptions,
  HealthOptions,
  DeadlockOptions,
  FootprintOptions,
  SplitOptions,
  AtomicOptions,
} from './config/options.js'
export { POLICY_NAMES, type CrossShardPolicyName } from './config/policy-names.js'
export type { SplitFailure, SplitPartDescription, SplitPartStatement, CompensationHook } from './config/split-failure.js'
export type { ShardtxLogger } from './shared/logger.js'

// Errors: every one extends ShardtxError and has a stable `code`.
export {
  ShardtxError,
  TransactionError,
  CrossShardTransactionError,
  PartialCommitError,
  UnroutableQueryError,
  DistributedDeadlockError,
  ShardUnavailableError,
  StatementTimeoutError,
  ReasonRequiredError,
  isRetryableError,
  type CodeLocation,
  type TransactionFacts,
} from './shared/errors.js'
export { LockSetUnstableError, type LockRestart } from './transaction/lock-order/errors.js'
export { SplitPlanFailedError, SplitPlanPendingError, SplitWriteResultError, SplitUnsupportedError } from './policies/split/errors.js'
export { AtomicOutcomeUnknownError } from './policies/atomic/errors.js'

// Events (structured log lines) and diagnostics channels.
export {
  CHANNELS,
  EVENT_NAMES,
  type ShardtxEventName,
  type TransactionOutcome,
  type CrossShardTransactionEvent,
  type TransactionRetryEvent,
  type PartialCommitEvent,
} from './shared/channels.js'
export type { LockRestartEvent } from './transaction/lock-order/report.js'
export type { DistributedDeadlockEvent, DeadlockMember, DeadlockWait } from './deadlock/detector-events.js'
export { SHARD_HEALTH_CHANNEL, type ShardHealthEvent, type ShardDownEvent, type ShardUpEvent } from './health/health-events.js'
export type { SplitPlanFailedEvent, SplitPlanPendingEvent, SplitRecoveryEvent, SplitRecoveryErrorEvent } from './policies/split/events.js'
export type {
  AtomicPrepareFailedEvent,
  AtomicOutcomeUnknownEvent,
  AtomicBranchInDoubtEvent,
  AtomicInDoubtFoundEvent,
  AtomicInDoubtResolvedEvent,
  AtomicRecoveryEvent,
} from './policies/atomic/events.js'
export type { RecoveryErrorEvent } from './transaction/recovery-scheduler.js'
export type { FootprintRecord, FootprintTransactionRecord, FootprintDroppedRecord } from './shared/footprint-record.js'

// split's intent-log schema and atomic's decision records (for migrations).
export { CREATE_PLANS_TABLE, CREATE_APPLIED_TABLE } from './policies/split/intent-log-schema.js'
export { CREATE_ATOMIC_DECISIONS_TABLE } from './policies/atomic/decision-log-schema.js'

// Helpers.
export { keyrangeNames } from './routing/keyrange-names.js'
export type { DeadlockVictimOutcomeEvent } from './logging/deadlock-outcome.js'
export { ShardMigrationError, type ShardedMigrator, type MigrationReport, type ShardMigrationResult, type MigrationCommand } from './knex/shard-migrator.js'
