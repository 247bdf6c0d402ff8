// Shared setup for the RuleTester suites: vitest hooks, the rule typed for
// @typescript-eslint/rule-tester, the test tables, and builders for transaction code and the
// suggestion outputs every invalid case has to list.
import { RuleTester } from '@typescript-eslint/rule-tester'
import type { RuleModule } from '@typescript-eslint/utils/ts-eslint'
import { afterAll, describe, it } from 'vitest'
import type { LintRuleOptions } from '../../src/eslint/config-loader.js'
import { fixAdvice, type MessageId } from '../../src/eslint/messages.js'
import { noCrossShardWrite } from '../../src/eslint/rules/no-cross-shard-write.js'

RuleTester.afterAll = afterAll
RuleTester.describe = describe
RuleTester.it = it

export { RuleTester }
export type Options = [LintRuleOptions?]

// The rule is written against ESLint's own types (no runtime dependency on typescript-eslint);
// the tester wants typescript-eslint's RuleModule. Same object, two typings.
export const rule = noCrossShardWrite as unknown as RuleModule<MessageId, Options>

export const TABLES = {
  accounts: { shardKey: 'id' },
  ledger: { shardKey: 'account_id' },
  orders: { shardKey: 'customer_id' },
  notifications: { shardKey: 'user_id' },
  countries: { shard: '-80' },
  currencies: { shard: '80-' },
  rates: { shard: '-80' },
}
export const OPTIONS: Options = [{ tables: TABLES }]

/** Fix advice as the rule fills it in for `db.transaction`. */
export const ADVICE = fixAdvice('db.transaction')

/**
 * Code with one `db.transaction(async (tx) => { BODY }OPTS)`; body lines start on line 3.
 * `opts` is inserted after the callback, e.g. ", { crossShard: 'ordered' }".
 */
export function tx(body: string, opts = ''): string {
  return `async function run(db, from, to, ids, entry, rows) {\n  await db.transaction(async (tx) => {\n${body}\n  }${opts})\n}\n`
}

/** The three suggestions of a finding in `tx(body)` code without options. */
export function suggestionsFor(build: (opts: string) => string, txCall = 'db.transaction') {
  return [
    { messageId: 'suggestAtomic' as const, data: { tx: txCall }, output: build(", { crossShard: 'atomic' }") },
    { messageId: 'suggestOrdered' as const, data: { tx: txCall }, output: build(", { crossShard: 'ordered' }") },
    { messageId: 'suggestSplit' as const, data: { tx: txCall }, output: build(", { crossShard: 'split' }") },
  ]
}

/** An error in `tx(body)` code: message id, optional data/line, and the standard suggestions. */
export function txError(body: string, messageId: MessageId, extra: { data?: Record<string, string>; line?: number; column?: number } = {}) {
  return {
    messageId,
    ...extra,
    ...(extra.data ? { data: { ...ADVICE, ...extra.data } } : {}),
    suggestions: suggestionsFor((opts) => tx(body, opts)),
  }
}
