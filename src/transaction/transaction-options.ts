import type { CrossShardPolicyName } from '../config/policy-names.js'
import { POLICY_NAMES } from '../config/policy-names.js'
import { assertWarnOverrideHasReason } from '../config/strict-mode.js'
import type { CallSite } from '../shared/call-site.js'
import { expectInteger, expectKnownKeys, expectOneOf, expectPlainObject } from '../shared/validators.js'
import type { AnyCrossShardPolicy } from './policy.js'

/** Keys every transaction accepts; each policy adds its own (`optionKeys`). */
const CORE_OPTION_KEYS = ['crossShard', 'reason', 'maxAttempts']

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
  const owners = new Map<string, CrossShardPolicyName>()
  for (const policy of policies.values()) for (const key of policy.optionKeys ?? []) owners.set(key, policy.name)
  expectKnownKeys('transaction options', opts, [...CORE_OPTION_KEYS, ...owners.keys()])
  const reason = opts.reason
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
    throw new TypeError(`Expected \`reason\` to be a non-empty string (a link explaining why this transaction may span shards), got ${typeof reason}`)
  }
  assertWarnOverrideHasReason(opts, defaults.strict, origin)
  const name = expectOneOf('crossShard', opts.crossShard, POLICY_NAMES, defaults.crossShard)
  for (const [key, owner] of owners) {
    if (opts[key] !== undefined && owner !== name) {
      throw new TypeError(
        `\`${key}\` is an option of crossShard: '${owner}', but this transaction uses '${name}': ` +
          `\`${key}\` applies only to { crossShard: '${owner}' } transactions. Pass { crossShard: '${owner}', ${key}: ... }, or remove it.`,
      )
    }
  }
  const policy = policies.get(name)
  if (policy === undefined) throw new Error(`shardtx internal error: no policy named '${name}' is wired`)
  return {
    policy,
    reason: reason as string | undefined,
    maxAttempts: expectInteger('maxAttempts', opts.maxAttempts, defaults.maxAttempts, { min: 1 }),
    policyOptions: policy.resolveOptions?.(opts),
  }
}
