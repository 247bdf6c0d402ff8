import type { Rule, Scope, SourceCode } from 'eslint'
import type * as ESTree from 'estree'
import { AllowComments } from '../allow-comments.js'
import { contains, resolveVariable } from '../ast-utils.js'
import { resolveRuleTables, type LintRuleOptions, type LintTables } from '../config-loader.js'
import { findConflicts, referenceWrite, type Participation } from '../conflicts.js'
import { findHelperCalls, type HelperCall } from '../helper-calls.js'
import { keyExpression, type KeyContext, type KeyExpr } from '../key-expression.js'
import { fixAdvice, MESSAGES, REASON_NOTES } from '../messages.js'
import { crossShardSuggestions } from '../suggestions.js'
import { declaresCrossShard, enclosingLoops, transactionScopeOf, variesIn, type TransactionScope } from '../transaction-scope.js'
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
          tables: { type: 'object', description: 'Inline table configuration; wins over `config`.' },
          config: { type: 'string', description: "Path of shardtx.config.json (or .js/.mjs/.cjs), relative to ESLint's working directory." },
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
    const reportedTables = new Set<string>()
    const onUnknownTable = (table: string, node: ESTree.CallExpression) => {
      if (reportedTables.has(table)) return
      reportedTables.add(table)
      context.report({ node, messageId: 'unknownTable', data: { table: `\`${table}\``, known: knownTables(tables) } })
    }
    return {
      Program() {
        allows = new AllowComments(sourceCode)
        for (const comment of allows.missingReason) {
          context.report({ loc: comment.loc!, messageId: 'allowNeedsReason' })
        }
      },
      CallExpression(node) {
        const scope = transactionScopeOf(node, sourceCode)
        if (!scope) return
        // Analysed even when allowed or declared: a table missing from the configuration is reported anyway.
        const parts = participations(scope, sourceCode, tables, allows!, onUnknownTable)
        if (allows!.allowsStatementStart(node)) return
        const { fix, fixLower } = fixAdvice(scope.calleeText, reasonNote(scope))
        // A declared policy (ordered, split, or warn with a reason) makes multi-shard writes acceptable,
        // but not reference-table writes.
        const conflicts = declaresCrossShard(scope) ? parts.filter((p) => p.placement.kind === 'reference').map(referenceWrite) : findConflicts(parts)
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

/** Why the options' `reason` did not count, when there is one to explain. */
function reasonNote(scope: TransactionScope): string {
  if (scope.declaredReason === 'given') return REASON_NOTES.reasonWithoutWarn
  if (scope.declaredCrossShard === 'warn') return REASON_NOTES.warnWithoutReason
  return ''
}

/** The configured table names for a message, cut after ten. */
function knownTables(tables: LintTables): string {
  const names = Object.keys(tables)
  if (names.length === 0) return 'it lists no tables'
  return `tables: ${names.slice(0, 10).join(', ')}${names.length > 10 ? `, and ${names.length - 10} more` : ''}`
}

/** Every write of the transaction, direct or through a same-file helper, minus allowed ones. */
function participations(
  scope: TransactionScope,
  sourceCode: SourceCode,
  tables: LintTables,
  allows: AllowComments,
  onUnknownTable: (table: string, node: ESTree.CallExpression) => void,
): Participation[] {
  const { callback, txVariable } = scope
  const resolve: KeyContext['resolve'] = (id) => {
    const variable = resolveVariable(sourceCode, id)
    return variable ? { kind: 'variable', variable } : { kind: 'global' }
  }
  const callerCtx: KeyContext = { resolve, text: (n) => sourceCode.getText(n) }
  const isTx = refersTo(sourceCode, txVariable)
  const parts: Participation[] = []

  for (const write of findWrites(callback.body, sourceCode, isTx, tables, callerCtx, onUnknownTable)) {
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
    for (const write of findWrites(helper.fn.body, sourceCode, isHelperTx, tables, ctx, onUnknownTable)) {
      if (allows.allowsNode(write.node)) continue
      const innerLoops = enclosingLoops(write.node, helper.fn)
      for (const placement of write.placements) {
        // Across calls made in a loop, anything the helper computes itself may differ.
        const loopVariant = innerLoops.some((l) => varies(placement, l)) || callLoops.some((l) => varies(placement, l, (v) => definedIn(v, helper.fn)))
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
