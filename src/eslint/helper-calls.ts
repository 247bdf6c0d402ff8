import type { Scope, SourceCode } from 'eslint'
import type * as ESTree from 'estree'
import { isFunction, parentOf, resolveVariable, unwrap, walk, type FunctionNode } from './ast-utils.js'
import type { KeyExpr } from './key-expression.js'

/** A call in a transaction body that hands the transaction to a function defined in the same file. */
export interface HelperCall {
  /** The call, e.g. `debit(tx, from.id, amount)`: findings are reported here. */
  call: ESTree.CallExpression
  /** The helper's name as called. */
  name: string
  /** The helper's definition. */
  fn: FunctionNode
  /** The helper's parameter that receives the transaction. */
  txVariable: Scope.Variable
  /** Helper parameters whose values the caller passed, mapped to the caller's argument. */
  params: Map<Scope.Variable, ESTree.Node>
}

/**
 * Finds calls `helper(..., tx, ...)` under `root` where `helper` is a function declared in this
 * file (`function helper(...)`, `const helper = async (...) => ...`). Only one level is followed:
 * the rule doesn't look for helpers inside helpers.
 *
 * @example
 * ```ts
 * for (const h of findHelperCalls(callback.body, sourceCode, isTx)) { ... h.fn.body ... }
 * ```
 */
export function findHelperCalls(root: ESTree.Node, sourceCode: SourceCode, isTx: (id: ESTree.Identifier) => boolean): HelperCall[] {
  const found: HelperCall[] = []
  walk(root, sourceCode.visitorKeys, (node) => {
    if (node.type !== 'CallExpression') return
    const callee = unwrap(node.callee)
    if (callee.type !== 'Identifier') return
    const txIndex = node.arguments.findIndex((a) => {
      const arg = a.type === 'SpreadElement' ? a : unwrap(a)
      return arg.type === 'Identifier' && isTx(arg)
    })
    if (txIndex < 0) return
    const fn = functionOf(resolveVariable(sourceCode, callee))
    // A helper that contains the call itself (recursion) would be analysed as part of `root` anyway.
    if (!fn || (fn.range && node.range && fn.range[0] <= node.range[0] && node.range[1] <= fn.range[1])) return
    const txParam = fn.params[txIndex]
    if (txParam?.type !== 'Identifier') return
    const declared = sourceCode.getDeclaredVariables(fn)
    const txVariable = declared.find((v) => v.name === txParam.name)
    if (!txVariable) return
    const params = new Map<Scope.Variable, ESTree.Node>()
    fn.params.forEach((p, i) => {
      const arg = node.arguments[i]
      if (i === txIndex || p.type !== 'Identifier' || !arg || arg.type === 'SpreadElement') return
      const variable = declared.find((v) => v.name === p.name)
      if (variable) params.set(variable, arg)
    })
    found.push({ call: node, name: callee.name, fn, txVariable, params })
  })
  return found
}

function functionOf(variable: Scope.Variable | null): FunctionNode | undefined {
  const def = variable?.defs[0]
  if (!def) return undefined
  if (def.type === 'FunctionName' && isFunction(def.node as ESTree.Node)) return def.node as FunctionNode
  if (def.type === 'Variable') {
    const declarator = def.node as ESTree.VariableDeclarator
    const init = declarator.init ? unwrap(declarator.init) : undefined
    // `const helper = ...` only: a `let` could be reassigned to another function.
    const declaration = parentOf(declarator)
    if (init && isFunction(init) && declaration?.type === 'VariableDeclaration' && declaration.kind === 'const') return init
  }
  return undefined
}

/** Re-exported for the rule: a parameter's argument, normalised in the caller's scope. */
export type ParamKeys = Map<Scope.Variable, KeyExpr>
