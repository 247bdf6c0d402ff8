import type { CrossShardPolicyName } from '../config/options.js'
import { orderedPolicy } from './ordered/ordered-policy.js'
import type { CrossShardPolicy } from '../transaction/policy.js'
import { rejectPolicy } from './reject.js'
import { splitPolicy } from './split/split-policy.js'
import { warnPolicy } from './warn.js'

const POLICIES: Partial<Record<CrossShardPolicyName, CrossShardPolicy>> = {
  reject: rejectPolicy,
  warn: warnPolicy,
  split: splitPolicy,
  ordered: orderedPolicy,
}

/** Policy names this build implements, for option validation. */
export function availablePolicies(): CrossShardPolicyName[] {
  return Object.keys(POLICIES) as CrossShardPolicyName[]
}

export function policyNamed(name: CrossShardPolicyName): CrossShardPolicy {
  const policy = POLICIES[name]
  if (policy === undefined) throw new TypeError(`Expected \`crossShard\` to be one of ${availablePolicies().map((p) => `'${p}'`).join(', ')}, got '${name}'`)
  return policy
}
