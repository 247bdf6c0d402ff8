import type { Scope } from 'eslint'
import type * as ESTree from 'estree'
import { propertyName, unwrap } from './ast-utils.js'

/**
 * A shard key value as written in code, normalised so that "provably the same value" is a
 * string comparison: `from.id`, `from['id']`, `from!.id` and `from?.id` share one canonical form.
 */
export interface KeyExpr {
  /** Equal canonical strings (and neither opaque) mean the same value. */
  canonical: string
  /** Short readable form for messages, e.g. `from.id`. */
  display: string
  /**
   * Evaluated afresh at each occurrence (contains a call, `await`, `new`, an assignment...), so
   * never provably equal to anything and never loop-invariant.
   */
  opaque: boolean
  /** Variables the value is read from; a loop that declares or assigns one makes the key vary. */
  dependencies: Scope.Variable[]
}

/** How an identifier inside a key resolves. */
export type Binding =
  /**
   * A variable. `instance` distinguishes evaluations that share the variable but not its value:
   * a helper's local variables differ from one call of the helper to the next.
   */
  | { kind: 'variable'; variable: Scope.Variable; instance?: string }
  /** A helper's parameter replaced by the caller's argument (see helper-calls.ts). */
  | { kind: 'substituted'; key: KeyExpr }
  | { kind: 'global' }

/** What {@link keyExpression} needs from the rule: identifier resolution and source text. */
export interface KeyContext {
  /** Scope lookup plus, inside helpers, parameter -> argument mapping. */
  resolve: (id: ESTree.Identifier) => Binding
  /** Source text of a node, shown in messages for expressions that can't be normalised. */
  text: (node: ESTree.Node) => string
}

const MAX_DISPLAY = 60

/**
 * Normalises an expression into a {@link KeyExpr}.
 *
 * @example
 * ```ts
 * // node is the AST of `from!.id` (or `from['id']`, `from?.id`)
 * keyExpression(node, ctx).display // 'from.id'
 * ```
 */
export function keyExpression(node: ESTree.Node, ctx: KeyContext): KeyExpr {
  const dependencies: Scope.Variable[] = []
  const state = { opaque: false }
  const render = (n: ESTree.Node): { canonical: string; display: string } => {
    const e = unwrap(n)
    switch (e.type) {
      case 'Identifier': {
        const binding = ctx.resolve(e)
        if (binding.kind === 'substituted') {
          dependencies.push(...binding.key.dependencies)
          if (binding.key.opaque) state.opaque = true
          return { canonical: binding.key.canonical, display: binding.key.display }
        }
        if (binding.kind === 'variable') {
          dependencies.push(binding.variable)
          // Two different variables that happen to share a name (shadowing) are different values.
          const at = binding.variable.identifiers[0]?.range?.[0] ?? -1
          return { canonical: `${e.name}@${at}${binding.instance ?? ''}`, display: e.name }
        }
        return { canonical: e.name, display: e.name }
      }
      case 'Literal': {
        if ('regex' in e && e.regex) return opaque(e)
        if ('bigint' in e && e.bigint) return same(`${e.bigint}n`)
        return same(typeof e.value === 'string' ? JSON.stringify(e.value) : String(e.value))
      }
      case 'TemplateLiteral': {
        let canonical = '`'
        let display = '`'
        e.quasis.forEach((q, i) => {
          canonical += q.value.raw
          display += q.value.raw
          const expr = e.expressions[i]
          if (expr) {
            const r = render(expr)
            canonical += `\${${r.canonical}}`
            display += `\${${r.display}}`
          }
        })
        return { canonical: `${canonical}\``, display: `${display}\`` }
      }
      case 'MemberExpression': {
        const object = render(e.object)
        const name = propertyName(e)
        if (name !== undefined && /^[A-Za-z_$][\w$]*$/.test(name)) {
          return { canonical: `${object.canonical}.${name}`, display: `${object.display}.${name}` }
        }
        if (name !== undefined) {
          const quoted = JSON.stringify(name)
          return { canonical: `${object.canonical}[${quoted}]`, display: `${object.display}[${quoted}]` }
        }
        if (e.property.type === 'PrivateIdentifier') return opaque(e)
        const prop = render(e.property)
        return { canonical: `${object.canonical}[${prop.canonical}]`, display: `${object.display}[${prop.display}]` }
      }
      case 'BinaryExpression':
      case 'LogicalExpression': {
        if (e.left.type === 'PrivateIdentifier') return opaque(e)
        const l = render(e.left)
        const r = render(e.right)
        return { canonical: `(${l.canonical}${e.operator}${r.canonical})`, display: `${l.display} ${e.operator} ${r.display}` }
      }
      case 'UnaryExpression': {
        if (e.operator === 'delete') return opaque(e)
        const a = render(e.argument)
        const sep = /^[a-z]/.test(e.operator) ? ' ' : ''
        return { canonical: `(${e.operator}${sep}${a.canonical})`, display: `${e.operator}${sep}${a.display}` }
      }
      case 'ConditionalExpression': {
        const t = render(e.test)
        const c = render(e.consequent)
        const a = render(e.alternate)
        return {
          canonical: `(${t.canonical}?${c.canonical}:${a.canonical})`,
          display: `${t.display} ? ${c.display} : ${a.display}`,
        }
      }
      default:
        // Calls, await, new, assignments, object literals...: a fresh value at each evaluation.
        return opaque(e)
    }
  }
  const opaque = (e: ESTree.Node): { canonical: string; display: string } => {
    state.opaque = true
    return same(ctx.text(e).replace(/\s+/g, ' '))
  }
  const rendered = render(node)
  const display = rendered.display.length > MAX_DISPLAY ? `${rendered.display.slice(0, MAX_DISPLAY - 3)}...` : rendered.display
  return { canonical: rendered.canonical, display, opaque: state.opaque, dependencies }
}

function same(text: string): { canonical: string; display: string } {
  return { canonical: text, display: text }
}

/**
 * A property read `base.column` built from an existing key, for `insert(entry)`: the shard key of
 * the inserted row is `entry.account_id`, which can match `.where({ account_id: entry.account_id })`.
 */
export function memberKey(base: KeyExpr, column: string): KeyExpr {
  return { ...base, canonical: `${base.canonical}.${column}`, display: `${base.display}.${column}` }
}

/** Provably the same value: equal canonical forms and nothing evaluated per occurrence. */
export function sameKey(a: KeyExpr, b: KeyExpr): boolean {
  return !a.opaque && !b.opaque && a.canonical === b.canonical
}
