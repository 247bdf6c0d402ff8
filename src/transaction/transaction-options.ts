import type { CrossShardPolicyName } from '../config/policy-names.js'
import { POLICY_NAMES } from '../config/policy-names.js'
import { assertWarnOverrideHasReason } from '../config/strict-mode.js'
import type { CallSite } from '../shared/call-site.js'
import { expectBoolean, expectInteger, expectKnownKeys, expectOneOf, expectPlainObject } from '../shared/validators.js'
import type { AnyCrossShardPolicy } from './policy.js'

/** Keys every transaction accepts; each policy adds its own (`optionKeys`). */
const CORE_OPTION_KEYS = ['crossShard', 'reason', 'maxAttempts', 'isolationLevel', 'readOnly', 'doNotRejectOnRollback']

/** knex's isolation levels that MySQL and MariaDB have (knex's 'snapshot' is SQL Server's). */
const ISOLATION_LEVELS = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'] as const

/** The database-wide defaults a transaction's options fall back to. */
export interface TransactionDefaults {
  crossShard: CrossShardPolicyName
  maxAttempts: number
  /** Strict mode: a `warn` override must carry a `reason` (config/strict-mode.ts). */
  strict: boolean
}

/** One `db.transaction()` call's options, validated once; every attempt of the call reuses them. */
export interface ResolvedTransactionOptions {
  policy: AnyCrossShardPolicy
  reason: string | undefined
  maxAttempts: number
  /** What the policy's `resolveOptions` made of its own keys. */
  policyOptions: unknown
  /** `SET TRANSACTION ...` every session of the transaction runs first (isolationLevel, readOnly); empty by default. */
  sessionSetup: readonly string[]
  /** knex's option: `tx.rollback()` without an error resolves the transaction instead of rejecting it. Default true. */
  doNotRejectOnRollback: boolean
}

/**
 * Validates the options of one `db.transaction()` call. Unknown keys, and keys of a policy the
 * transaction does not use (`lock` under `warn`), are TypeErrors naming the key: an option that
 * silently did nothing would surprise.
 *
 * @example
 * ```ts
 * const resolved = resolveTransactionOptions({ crossShard: 'ordered', lock: { accounts: [1, 4] } }, defaults, policies, origin)
 * resolved.policy.name // 'ordered'
 * ```
 */
export function resolveTransactionOptions(
  options: unknown,
  defaults: TransactionDefaults,
  policies: ReadonlyMap<CrossShardPolicyName, AnyCrossShardPolicy>,
  origin: CallSite,
): ResolvedTransactionOptions {
  const opts = expectPlainObject('transaction options', options)
  // A key may belong to several policies (`lock`: ordered and atomic, which share the lock order).
  const owners = new Map<string, CrossShardPolicyName[]>()
  for (const policy of policies.values()) for (const key of policy.optionKeys ?? []) owners.set(key, [...(owners.get(key) ?? []), policy.name])
  expectKnownKeys('transaction options', opts, [...CORE_OPTION_KEYS, ...owners.keys()])
  const reason = opts.reason
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
    throw new TypeError(`Expected \`reason\` to be a non-empty string (a link explaining why this transaction may span shards), got ${typeof reason}`)
  }
  assertWarnOverrideHasReason(opts, defaults.strict, origin)
  const name = expectOneOf('crossShard', opts.crossShard, POLICY_NAMES, defaults.crossShard)
  for (const [key, names] of owners) {
    if (opts[key] !== undefined && !names.includes(name)) {
      const owner = names.map((n) => `'${n}'`).join(' or ')
      throw new TypeError(
        `\`${key}\` is an option of crossShard: ${owner}, but this transaction uses '${name}': ` +
          `\`${key}\` applies only to { crossShard: ${owner} } transactions. Pass { crossShard: '${names[0]}', ${key}: ... }, or remove it.`,
      )
    }
  }
  const policy = policies.get(name)
  if (policy === undefined) throw new Error(`shardtx internal error: no policy named '${name}' is wired`)
  const isolationLevel = opts.isolationLevel === undefined ? undefined : expectOneOf('isolationLevel', opts.isolationLevel, ISOLATION_LEVELS, 'repeatable read')
  const readOnly = expectBoolean('readOnly', opts.readOnly, false)
  const characteristics = [...(isolationLevel === undefined ? [] : [`ISOLATION LEVEL ${isolationLevel.toUpperCase()}`]), ...(readOnly ? ['READ ONLY'] : [])]
  return {
    policy,
    reason: reason as string | undefined,
    maxAttempts: expectInteger('maxAttempts', opts.maxAttempts, defaults.maxAttempts, { min: 1 }),
    policyOptions: policy.resolveOptions?.(opts),
    sessionSetup: characteristics.length === 0 ? [] : [`SET TRANSACTION ${characteristics.join(', ')}`],
    doNotRejectOnRollback: expectBoolean('doNotRejectOnRollback', opts.doNotRejectOnRollback, true),
  }
}
