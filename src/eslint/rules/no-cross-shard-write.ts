import type { Rule, Scope, SourceCode } from 'eslint'
import type * as ESTree from 'estree'
import { AllowComments } from '../allow-comments.js'
import { contains, resolveVariable } from '../ast-utils.js'
import { resolveRuleTables, type LintRuleOptions, type LintTables } from '../config-loader.js'
import { findConflicts, referenceWrite, type Participation } from '../conflicts.js'
import { findHelperCalls, type HelperCall } from '../helper-calls.js'
import { keyExpression, type KeyContext, type KeyExpr } from '../key-expression.js'
import { fixAdvice, MESSAGES } from '../messages.js'
import { crossShardSuggestions } from '../suggestions.js'
import { enclosingLoops, SAFE_POLICIES, transactionScopeOf, variesIn, type TransactionScope } from '../transaction-scope.js'
import { findWrites, type Placement } from '../write-detector.js'

/**
 * `shardtx/no-cross-shard-write`: reports transactions whose writes can't be proved to stay on
 * one shard. See docs/lint.md for what is and isn't reported.
 *
 * @example
 * ```js
 * // eslint.config.js
 * import shardtx from 'shardtx/eslint-plugin'
 * export default [{
 *   plugins: { shardtx },
 *   rules: { 'shardtx/no-cross-shard-write': ['error', { config: 'shardtx.config.json' }] },
 * }]
 * ```
 */
export const noCrossShardWrite: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow transactions that write to more than one shard without declaring how to commit them',
      recommended: true,
    },
    hasSuggestions: true,
    schema: [
      {
        type: 'object',
        properties: {
          tables: { type: 'object' },
          config: { type: 'string' },
        },
        additionalProperties: false,
      },
    ],
    messages: MESSAGES,
  },
  create(context) {
    const tables = resolveRuleTables(context.options[0] as LintRuleOptions | undefined, context.cwd)
    const sourceCode = context.sourceCode
    let allows: AllowComments | undefined
    return {
      Program() {
        allows = new AllowComments(sourceCode)
        for (const comment of allows.missingReason) {
          context.report({ loc: comment.loc!, messageId: 'allowNeedsReason' })
        }
      },
      CallExpression(node) {
        const scope = transactionScopeOf(node, sourceCode)
        if (!scope || allows!.allowsStatementStart(node)) return
        const parts = participations(scope, sourceCode, tables, allows!)
        const { fix, fixLower } = fixAdvice(scope.calleeText)
        // A declared ordered/split policy makes multi-shard writes safe, but not reference-table writes.
        const safe = scope.declaredCrossShard !== undefined && SAFE_POLICIES.has(scope.declaredCrossShard)
        const conflicts = safe ? parts.filter((p) => p.placement.kind === 'reference').map(referenceWrite) : findConflicts(parts)
        for (const c of conflicts) {
          context.report({
            node: c.node,
            messageId: c.messageId,
            data: { ...c.data, fix, fixLower },
            // Declaring a policy does not make a reference-table write possible: no suggestion then.
            suggest: c.messageId === 'referenceWrite' ? [] : crossShardSuggestions(scope),
          })
        }
      },
    }
  },
}

/** Every write of the transaction, direct or through a same-file helper, minus allowed ones. */
function participations(scope: TransactionScope, sourceCode: SourceCode, tables: LintTables, allows: AllowComments): Participation[] {
  const { callback, txVariable } = scope
  const resolve: KeyContext['resolve'] = (id) => {
    const variable = resolveVariable(sourceCode, id)
    return variable ? { kind: 'variable', variable } : { kind: 'global' }
  }
  const callerCtx: KeyContext = { resolve, text: (n) => sourceCode.getText(n) }
  const isTx = refersTo(sourceCode, txVariable)
  const parts: Participation[] = []

  for (const write of findWrites(callback.body, sourceCode, isTx, tables, callerCtx)) {
    if (allows.allowsNode(write.node)) continue
    const loops = enclosingLoops(write.node, callback)
    for (const placement of write.placements) {
      parts.push({ table: write.table, placement, node: write.node, loopVariant: loops.some((l) => varies(placement, l)) })
    }
  }

  for (const helper of findHelperCalls(callback.body, sourceCode, isTx)) {
    if (allows.allowsNode(helper.call)) continue
    const ctx = helperContext(helper, sourceCode, callerCtx)
    const isHelperTx = refersTo(sourceCode, helper.txVariable)
    const callLoops = enclosingLoops(helper.call, callback)
    for (const write of findWrites(helper.fn.body, sourceCode, isHelperTx, tables, ctx)) {
      if (allows.allowsNode(write.node)) continue
      const innerLoops = enclosingLoops(write.node, helper.fn)
      for (const placement of write.placements) {
        // Across calls made in a loop, anything the helper computes itself may differ.
        const loopVariant =
          innerLoops.some((l) => varies(placement, l)) ||
          callLoops.some((l) => varies(placement, l, (v) => definedIn(v, helper.fn)))
        parts.push({ table: write.table, placement, node: helper.call, loopVariant, via: helper.name })
      }
    }
  }
  return parts.sort((a, b) => (a.node.range?.[0] ?? 0) - (b.node.range?.[0] ?? 0))
}

/**
 * Resolution inside a helper: parameters become the caller's arguments (so `debit(tx, from.id)`
 * writes key `from.id`), and the helper's own variables are tagged per call, so two calls of
 * one helper never look like the same key unless their arguments are.
 */
function helperContext(helper: HelperCall, sourceCode: SourceCode, callerCtx: KeyContext): KeyContext {
  const args = new Map<Scope.Variable, KeyExpr>()
  for (const [variable, arg] of helper.params) args.set(variable, keyExpression(arg, callerCtx))
  const instance = `#${helper.call.range?.[0] ?? 0}`
  return {
    text: callerCtx.text,
    resolve: (id) => {
      const variable = resolveVariable(sourceCode, id)
      if (!variable) return { kind: 'global' }
      const mapped = args.get(variable)
      if (mapped) return { kind: 'substituted', key: mapped }
      return definedIn(variable, helper.fn) ? { kind: 'variable', variable, instance } : { kind: 'variable', variable }
    },
  }
}

/** A predicate for "this identifier is that variable"; the name check skips most scope lookups. */
function refersTo(sourceCode: SourceCode, variable: Scope.Variable): (id: ESTree.Identifier) => boolean {
  return (id) => id.name === variable.name && resolveVariable(sourceCode, id) === variable
}

function definedIn(variable: Scope.Variable, node: ESTree.Node): boolean {
  return variable.defs.some((d) => contains(node, d.name))
}

/** Whether a placement's shard can change from one pass of `loop` to the next. */
function varies(placement: Placement, loop: ESTree.Node, alsoVaries?: (v: Scope.Variable) => boolean): boolean {
  if (placement.kind === 'pinned' || placement.kind === 'reference') return false
  if (placement.kind === 'unknown') return true
  const key = placement.key
  return key.opaque || key.dependencies.some((v) => variesIn(v, loop) || (alsoVaries?.(v) ?? false))
}
