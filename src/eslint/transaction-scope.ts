import type { Scope, SourceCode } from 'eslint'
import type * as ESTree from 'estree'
import { contains, isFunction, parentOf, propertyName, staticString, unwrap, type FunctionNode } from './ast-utils.js'

/** One `X.transaction(callback, options?)` call whose callback the rule analyses. */
export interface TransactionScope {
  /** The `db.transaction(...)` call. */
  call: ESTree.CallExpression
  /** Source text of the callee (`db.transaction`, `this.knex.transaction`), used in messages. */
  calleeText: string
  /** The callback passed as first argument. */
  callback: FunctionNode
  /** The callback's first parameter: the transaction, whatever the user named it. */
  txVariable: Scope.Variable
  /** The options argument, if any (`{ crossShard: 'ordered' }`). */
  options: ESTree.Node | undefined
  /** `crossShard` declared in an options object literal, if it is a string literal. */
  declaredCrossShard: string | undefined
  /**
   * The options literal's `reason`: `given` (a non-empty string, or an expression the runtime will
   * check), `empty` (`''`), or undefined when there is none (or the options are not a literal).
   */
  declaredReason: 'given' | 'empty' | undefined
}

/** Policies that make a multi-shard transaction safe, so the rule stays quiet. */
export const SAFE_POLICIES: ReadonlySet<string> = new Set(['ordered', 'split', 'atomic'])

/**
 * Recognises `X.transaction(async (tx) => ...)` / `X.transaction(function (trx) {...})`. Returns
 * undefined for anything else, including `knex.transaction()` without a callback (a transaction
 * provider), which the rule can't follow.
 *
 * @example
 * ```ts
 * // in a rule: CallExpression(node) { const scope = transactionScopeOf(node, context.sourceCode) }
 * ```
 */
export function transactionScopeOf(call: ESTree.CallExpression, sourceCode: SourceCode): TransactionScope | undefined {
  const callee = unwrap(call.callee)
  if (callee.type !== 'MemberExpression' || propertyName(callee) !== 'transaction') return undefined
  const first = call.arguments[0]
  if (!first || !isFunction(first)) return undefined
  const param = first.params[0]
  if (!param || param.type !== 'Identifier') return undefined
  const txVariable = sourceCode.getDeclaredVariables(first).find((v) => v.name === param.name)
  if (!txVariable) return undefined
  const options = call.arguments[1]
  return {
    call,
    calleeText: sourceCode.getText(call.callee).replace(/\s+/g, ''),
    callback: first,
    txVariable,
    options,
    declaredCrossShard: options ? crossShardOf(options) : undefined,
    declaredReason: options ? reasonOf(options) : undefined,
  }
}

/** The `crossShard` property of an options object literal, if it is a plain string. */
export function crossShardProperty(options: ESTree.Node): ESTree.Property | undefined {
  return optionProperty(options, 'crossShard')
}

function optionProperty(options: ESTree.Node, name: string): ESTree.Property | undefined {
  const o = unwrap(options)
  if (o.type !== 'ObjectExpression') return undefined
  for (const p of o.properties) {
    if (p.type === 'Property' && propertyName(p) === name) return p
  }
  return undefined
}

function crossShardOf(options: ESTree.Node): string | undefined {
  const prop = crossShardProperty(options)
  return prop ? staticString(prop.value) : undefined
}

function reasonOf(options: ESTree.Node): TransactionScope['declaredReason'] {
  const prop = optionProperty(options, 'reason')
  if (!prop) return undefined
  const text = staticString(prop.value)
  // A variable or a template with expressions: the runtime refuses it if it is not a non-empty string.
  if (text === undefined) return 'given'
  return text.trim() === '' ? 'empty' : 'given'
}

/**
 * True when the transaction declares how it is allowed to span shards: `crossShard: 'ordered'`
 * or `'split'`, or `crossShard: 'warn'` with a `reason` (logged with every warning and recorded
 * in footprints, which is what the allow comment's reason is for too).
 */
export function declaresCrossShard(scope: TransactionScope): boolean {
  const policy = scope.declaredCrossShard
  if (policy !== undefined && SAFE_POLICIES.has(policy)) return true
  return policy === 'warn' && scope.declaredReason === 'given'
}

// Array methods whose callback runs once per element: a write inside runs once per element.
const ITERATING_METHODS = new Set([
  'forEach',
  'map',
  'flatMap',
  'filter',
  'reduce',
  'reduceRight',
  'some',
  'every',
  'find',
  'findIndex',
  'findLast',
  'findLastIndex',
])

/**
 * Loops between `node` and `boundary` (exclusive), innermost first: `for`, `for...in/of`,
 * `while`, `do...while`, and callbacks of `.forEach/.map/...`. Only the repeated part counts:
 * a write in a `for...of`'s iterable or a `for`'s initialiser runs once.
 */
export function enclosingLoops(node: ESTree.Node, boundary: ESTree.Node): ESTree.Node[] {
  const loops: ESTree.Node[] = []
  let child: ESTree.Node = node
  for (let p = parentOf(node); p && p !== boundary; child = p, p = parentOf(p)) {
    switch (p.type) {
      case 'ForStatement':
        if (child !== p.init) loops.push(p)
        break
      case 'ForInStatement':
      case 'ForOfStatement':
        if (child !== p.right) loops.push(p)
        break
      case 'WhileStatement':
      case 'DoWhileStatement':
        loops.push(p)
        break
      case 'ArrowFunctionExpression':
      case 'FunctionExpression':
        if (isIteratingCallback(p)) loops.push(p)
        break
      default:
        break
    }
  }
  return loops
}

function isIteratingCallback(fn: ESTree.Node): boolean {
  const call = parentOf(fn)
  if (call?.type !== 'CallExpression' || call.arguments[0] !== fn) return false
  const callee = unwrap(call.callee)
  if (callee.type !== 'MemberExpression') return false
  const name = propertyName(callee)
  return name !== undefined && ITERATING_METHODS.has(name)
}

/**
 * True when `variable` can hold a different value on each pass of `loop`: declared inside it
 * (the loop variable, a callback parameter, a `const` in the body) or assigned inside it.
 */
export function variesIn(variable: Scope.Variable, loop: ESTree.Node): boolean {
  if (variable.defs.some((d) => contains(loop, d.name))) return true
  return variable.references.some((r) => r.isWrite() && !r.init && contains(loop, r.identifier as ESTree.Node))
}
