import type { Rule } from 'eslint'
import { unwrap } from './ast-utils.js'
import { crossShardProperty, type TransactionScope } from './transaction-scope.js'

/**
 * Editor suggestions (never autofixes: declaring a policy changes how the transaction commits, so
 * a human has to choose) that declare `crossShard: 'atomic'`, `'ordered'` or `'split'` on the transaction.
 * Handles `db.transaction(fn)`, `db.transaction(fn, {})`, `db.transaction(fn, { reason })` and
 * `db.transaction(fn, { crossShard: 'reject' })`; an options variable gets no suggestion.
 *
 * @example
 * ```ts
 * context.report({ node, messageId, data, suggest: crossShardSuggestions(scope) })
 * ```
 */
export function crossShardSuggestions(scope: TransactionScope): Rule.SuggestionReportDescriptor[] {
  return (['atomic', 'ordered', 'split'] as const).flatMap((policy) => {
    const fix = fixFor(scope, policy)
    if (!fix) return []
    return [
      {
        messageId: SUGGESTION_IDS[policy],
        data: { tx: scope.calleeText },
        fix,
      },
    ]
  })
}

const SUGGESTION_IDS = { atomic: 'suggestAtomic', ordered: 'suggestOrdered', split: 'suggestSplit' } as const

function fixFor(scope: TransactionScope, policy: keyof typeof SUGGESTION_IDS): Rule.ReportFixer | undefined {
  const value = `'${policy}'`
  const callback = scope.callback
  if (!scope.options) return (fixer) => fixer.insertTextAfter(callback, `, { crossShard: ${value} }`)
  const options = unwrap(scope.options)
  if (options.type !== 'ObjectExpression') return undefined
  const existing = crossShardProperty(options)
  if (existing) return (fixer) => fixer.replaceText(existing.value, value)
  const first = options.properties[0]
  if (!first) return (fixer) => fixer.replaceText(options, `{ crossShard: ${value} }`)
  return (fixer) => fixer.insertTextBefore(first, `crossShard: ${value}, `)
}
