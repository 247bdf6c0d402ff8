import type { Rule, Scope, SourceCode } from 'eslint'
import type * as ESTree from 'estree'

/** A function node that can receive a transaction. */
export type FunctionNode = ESTree.ArrowFunctionExpression | ESTree.FunctionExpression | ESTree.FunctionDeclaration

// TypeScript-only wrappers that don't change the value: `x!`, `x as T`, `x satisfies T`, `<T>x`.
// They are not in the ESTree typings, hence the string comparison on `type`.
const TS_WRAPPERS = new Set(['TSNonNullExpression', 'TSAsExpression', 'TSSatisfiesExpression', 'TSTypeAssertion'])

/**
 * Strips TypeScript value-preserving wrappers and optional-chain wrappers, so `from!.id`,
 * `(from as Account).id` and `from?.id` all look like `from.id`.
 */
export function unwrap(node: ESTree.Node): ESTree.Node {
  let current = node
  for (;;) {
    if (TS_WRAPPERS.has(current.type as string)) {
      current = (current as unknown as { expression: ESTree.Node }).expression
    } else if (current.type === 'ChainExpression') {
      current = current.expression
    } else {
      return current
    }
  }
}

/** The parent ESLint attached to a node (null at the Program). */
export function parentOf(node: ESTree.Node): ESTree.Node | null {
  return (node as Rule.Node).parent ?? null
}

/** A node's parent, skipping the wrappers {@link unwrap} removes. */
export function logicalParent(node: ESTree.Node): { parent: ESTree.Node | null; child: ESTree.Node } {
  let child = node
  let parent = parentOf(node)
  while (parent && (TS_WRAPPERS.has(parent.type as string) || parent.type === 'ChainExpression')) {
    child = parent
    parent = parentOf(parent)
  }
  return { parent, child }
}

/** `'accounts'` or a template literal without expressions -> its text; anything else -> undefined. */
export function staticString(node: ESTree.Node | undefined): string | undefined {
  if (!node) return undefined
  const n = unwrap(node)
  if (n.type === 'Literal' && typeof n.value === 'string') return n.value
  if (n.type === 'TemplateLiteral' && n.expressions.length === 0) return n.quasis[0]?.value.cooked ?? undefined
  return undefined
}

/** Name of a member access or object property key: `a.b`, `a['b']`, `{ b: 1 }`, `{ 'b': 1 }`. */
export function propertyName(node: ESTree.MemberExpression | ESTree.Property): string | undefined {
  const key = node.type === 'MemberExpression' ? node.property : node.key
  if (!node.computed && key.type === 'Identifier') return key.name
  if (key.type === 'PrivateIdentifier') return undefined
  return staticString(key)
}

/** True for function expressions, arrows and declarations. */
export function isFunction(node: ESTree.Node | null | undefined): node is FunctionNode {
  return node?.type === 'ArrowFunctionExpression' || node?.type === 'FunctionExpression' || node?.type === 'FunctionDeclaration'
}

/** True when `inner` lies inside `outer` (by source range). */
export function contains(outer: ESTree.Node, inner: ESTree.Node): boolean {
  const [os, oe] = outer.range ?? [0, 0]
  const [is, ie] = inner.range ?? [0, 0]
  return os <= is && ie <= oe
}

/**
 * Calls `visit` for every node under `root` (root included), in source order. `visit` returns
 * false to skip a node's children.
 */
export function walk(root: ESTree.Node, keys: SourceCode.VisitorKeys, visit: (node: ESTree.Node) => boolean | void): void {
  const stack: ESTree.Node[] = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (visit(node) === false) continue
    const childKeys = keys[node.type] ?? []
    // Push in reverse so children pop in source order.
    for (let k = childKeys.length - 1; k >= 0; k--) {
      const value = (node as unknown as Record<string, unknown>)[childKeys[k]!]
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) {
          const child = value[i] as ESTree.Node | null
          if (child && typeof child.type === 'string') stack.push(child)
        }
      } else if (value && typeof (value as ESTree.Node).type === 'string') {
        stack.push(value as ESTree.Node)
      }
    }
  }
}

/**
 * The variable an identifier refers to, following lexical scopes outwards from the identifier.
 * Returns null for globals and undeclared names.
 */
export function resolveVariable(sourceCode: SourceCode, id: ESTree.Identifier): Scope.Variable | null {
  for (let scope: Scope.Scope | null = sourceCode.getScope(id); scope; scope = scope.upper) {
    const found = scope.set.get(id.name)
    if (found) return found
  }
  return null
}

/** The innermost statement (or declaration) that contains `node`, for allow-comment lookups. */
export function enclosingStatement(node: ESTree.Node): ESTree.Node {
  let current: ESTree.Node = node
  for (let p = parentOf(current); p; p = parentOf(p)) {
    if (/Statement$|Declaration$/.test(current.type)) return current
    current = p
  }
  return current
}
