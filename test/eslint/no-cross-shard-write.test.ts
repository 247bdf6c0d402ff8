// RuleTester suite for shardtx/no-cross-shard-write: what is reported, what isn't, the messages
// (tables and key expressions), the suggestions, and the configuration sources.
import * as espree from 'espree'
import { fixAdvice, REASON_NOTES } from '../../src/eslint/messages.js'
import { ADVICE, OPTIONS, rule, RuleTester, suggestionsFor, tx, txError } from './support.js'

const ruleTester = new RuleTester()
const FIXTURE = 'test/eslint/fixtures/shardtx.config.json'
// Plain JavaScript through ESLint's default parser, to show the rule needs nothing from TypeScript.
const plainJs = { parser: espree, parserOptions: { ecmaVersion: 'latest' as const, sourceType: 'module' as const } }

const accountsFromLedgerTo = `    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('ledger').insert({ account_id: entry.account_id, amount: -5 })`

ruleTester.run('no-cross-shard-write', rule, {
  valid: [
    { name: 'a single write', options: OPTIONS, code: tx(`    await tx('accounts').where({ id: from.id }).update({ balance: 1 })`) },
    {
      name: 'two tables on the same identifier key',
      options: OPTIONS,
      code: tx(`    const id = from.id
    await tx('accounts').where({ id }).decrement('balance', 5)
    await tx('ledger').insert({ account_id: id, amount: -5 })`),
    },
    {
      name: 'where object, where(col, v) and where(col, "=", v) on the same member expression',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).forUpdate()
    await tx('accounts').where('id', from.id).decrement('balance', 5)
    await tx('ledger').where('account_id', '=', from.id).del()`),
    },
    {
      name: 'TypeScript wrappers, computed and optional access normalise to one key',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from!.id }).update({ a: 1 })
    await tx('accounts').where({ id: (from as Account).id }).update({ b: 1 })
    await tx('ledger').insert({ account_id: from?.['id'] })
    await tx('ledger').insert({ 'account_id': from.id satisfies number })`),
    },
    {
      name: 'insert(entry) co-locates with where on entry.account_id',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: entry.account_id }).increment('balance', entry.amount)
    await tx('ledger').insert(entry)`),
    },
    {
      name: "crossShard: 'ordered' declared",
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { crossShard: 'ordered' }"),
    },
    {
      name: "crossShard: 'split' declared next to a reason",
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { reason: 'https://tracker/T-1', crossShard: 'split' }"),
    },
    {
      name: 'allow comment with a reason at the end of the line',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('ledger').insert({ account_id: to.id }) // shardtx-allow-cross-shard: https://tracker/T-2`),
    },
    {
      name: 'allow comment with a reason on the line above',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    // shardtx-allow-cross-shard: audit rows may live elsewhere (T-3)
    await tx('ledger').insert({ account_id: to.id })`),
    },
    {
      name: 'block-comment allow inside a multi-line chain',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('accounts')
      /* shardtx-allow-cross-shard: T-4 */
      .where({ id: to.id })
      .increment('balance', 5)`),
    },
    {
      name: 'allow comment above the transaction covers the whole transaction',
      options: OPTIONS,
      code: `async function run(db, from, to) {
  // shardtx-allow-cross-shard: one-off migration, T-5
  await db.transaction(async (tx) => {
    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('accounts').where({ id: to.id }).update({ a: 1 })
  })
}`,
    },
    {
      name: 'an allowed write is not a comparison anchor for later writes',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('ledger').insert({ account_id: to.id }) // shardtx-allow-cross-shard: T-6
    await tx('ledger').insert({ account_id: from.id })`),
    },
    {
      name: 'loop with a loop-invariant key',
      options: OPTIONS,
      code: tx(`    for (const item of rows) {
      await tx('ledger').insert({ account_id: from.id, amount: item.amount })
    }
    await tx('accounts').where({ id: from.id }).update({ touched: true })`),
    },
    {
      name: '.forEach callback with a loop-invariant key',
      options: OPTIONS,
      code: tx(`    rows.forEach((row) => tx('ledger').insert({ account_id: entry.account_id, memo: row.memo }))`),
    },
    {
      name: 'plain reads across shards are not participation',
      options: OPTIONS,
      code: tx(`    const a = await tx('accounts').where({ id: from.id }).first()
    const b = await tx('accounts').where({ id: to.id }).first()
    await tx('ledger').insert({ account_id: from.id, note: b.id })`),
    },
    {
      name: 'pinned tables on the same shard',
      options: OPTIONS,
      code: tx(`    await tx('countries').where({ code: 'NL' }).update({ vat: 21 })
    await tx('rates').insert({ code: 'NL', rate: 1 })`),
    },
    {
      name: 'a dynamic table name is left to the runtime',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx(dynamicTable).where({ id: to.id }).update({ a: 1 })`),
    },
    {
      name: "crossShard: 'warn' with a reason (a link, or a constant the runtime checks)",
      options: OPTIONS,
      code:
        tx(accountsFromLedgerTo, ", { crossShard: 'warn', reason: 'https://tracker.example/PAY-7' }") +
        tx(accountsFromLedgerTo, ', { reason: REASON, crossShard: `warn` }'),
    },
    {
      name: 'writes outside a transaction callback',
      options: OPTIONS,
      code: `async function run(db, from, to) {
  await db('accounts').where({ id: from.id }).update({ a: 1 })
  await db('accounts').where({ id: to.id }).update({ a: 1 })
}`,
    },
    {
      name: 'knex.transaction(function (trx) {...}) with table()/from()/into() forms on one key',
      options: OPTIONS,
      code: `function run(knex, id) {
  return knex.transaction(function (trx) {
    return trx.table('accounts').where('id', id).forShare()
      .then(() => trx.from('accounts').where({ id }).update({ a: 1 }))
      .then(() => trx.insert({ account_id: id }).into('ledger'))
  })
}`,
    },
    {
      name: 'helper receiving the transaction writes on the same key (argument mapped to parameter)',
      options: OPTIONS,
      code: `async function debit(trx, accountId, amount) {
  await trx('accounts').where({ id: accountId }).decrement('balance', amount)
}
async function run(db, from) {
  await db.transaction(async (tx) => {
    await debit(tx, from.id, 5)
    await tx('ledger').insert({ account_id: from.id, amount: -5 })
  })
}`,
    },
    {
      name: 'same literal key twice',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: 1 }).update({ a: 1 })
    await tx('ledger').insert({ account_id: 1 })`),
    },
    {
      name: 'a single write with an unknown key is left to the runtime',
      options: OPTIONS,
      code: tx(`    await tx('ledger').insert(rows.map((r) => ({ ...r, at: Date.now() })))`),
    },
    {
      name: 'nested transaction with its own parameter is analysed on its own',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx.transaction(async (inner) => {
      await inner('ledger').insert({ account_id: to.id })
    })`),
    },
    {
      name: 'plain JavaScript parsed by espree',
      options: OPTIONS,
      languageOptions: plainJs,
      code: tx(`    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('ledger').insert({ account_id: from.id })`),
    },
  ],
  invalid: [
    {
      // The fixture lists accounts, ledger and countries: `orders`, sharded in OPTIONS, is unknown here.
      name: 'configuration from a JSON file (test/eslint/fixtures): a table it does not list is reported',
      options: [{ config: FIXTURE }],
      code: tx(`    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('orders').where({ customer_id: to.id }).update({ a: 1 })`),
      errors: [{ messageId: 'unknownTable', line: 4, data: { table: '`orders`', known: 'tables: accounts, ledger, countries' } }],
    },
    {
      name: 'configuration from an ES module default export: a table it does not list is reported',
      options: [{ config: 'test/eslint/fixtures/tables.mjs' }],
      code: tx(`    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('countries').where({ code: 'NL' }).update({ a: 1 })`),
      errors: [{ messageId: 'unknownTable', line: 4, data: { table: '`countries`', known: 'tables: accounts, ledger' } }],
    },
    {
      name: 'a table missing from the configuration is reported once per file, reads and writes alike, even in declared transactions',
      options: OPTIONS,
      code:
        tx(
          `    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('acounts').where({ id: to.id }).update({ a: 1 })
    await tx('acounts').where({ id: from.id }).first()
    await tx('audit_log').insert({ who: to.id })`,
          ", { crossShard: 'ordered' }",
        ) + tx(`    await tx('acounts').select()`),
      errors: [
        {
          messageId: 'unknownTable',
          line: 4,
          column: 11,
          data: { table: '`acounts`', known: 'tables: accounts, ledger, orders, notifications, countries, currencies, rates' },
        },
        {
          messageId: 'unknownTable',
          line: 6,
          column: 11,
          data: { table: '`audit_log`', known: 'tables: accounts, ledger, orders, notifications, countries, currencies, rates' },
        },
      ],
    },
    {
      name: "a reason without crossShard: 'warn' is reported, and the message says why it did not count",
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { reason: 'https://tracker.example/PAY-7' }"),
      errors: [
        {
          messageId: 'crossShard',
          data: {
            ...fixAdvice('db.transaction', REASON_NOTES.reasonWithoutWarn),
            first: '`accounts` (key `from.id`)',
            second: '`ledger` (key `entry.account_id`)',
          },
          suggestions: [
            {
              messageId: 'suggestAtomic',
              data: { tx: 'db.transaction' },
              output: tx(accountsFromLedgerTo, ", { crossShard: 'atomic', reason: 'https://tracker.example/PAY-7' }"),
            },
            {
              messageId: 'suggestOrdered',
              data: { tx: 'db.transaction' },
              output: tx(accountsFromLedgerTo, ", { crossShard: 'ordered', reason: 'https://tracker.example/PAY-7' }"),
            },
            {
              messageId: 'suggestSplit',
              data: { tx: 'db.transaction' },
              output: tx(accountsFromLedgerTo, ", { crossShard: 'split', reason: 'https://tracker.example/PAY-7' }"),
            },
          ],
        },
      ],
    },
    {
      name: "crossShard: 'warn' with an empty reason is reported, and the message says a reason is needed",
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { crossShard: 'warn', reason: ' ' }"),
      errors: [
        {
          messageId: 'crossShard',
          data: {
            ...fixAdvice('db.transaction', REASON_NOTES.warnWithoutReason),
            first: '`accounts` (key `from.id`)',
            second: '`ledger` (key `entry.account_id`)',
          },
          suggestions: [
            { messageId: 'suggestAtomic', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'atomic', reason: ' ' }") },
            { messageId: 'suggestOrdered', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'ordered', reason: ' ' }") },
            { messageId: 'suggestSplit', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'split', reason: ' ' }") },
          ],
        },
      ],
    },
    {
      name: 'two sharded tables on different keys (message names tables and keys; suggestions)',
      options: OPTIONS,
      code: tx(accountsFromLedgerTo),
      errors: [
        txError(accountsFromLedgerTo, 'crossShard', {
          line: 4,
          column: 11,
          data: { first: '`accounts` (key `from.id`)', second: '`ledger` (key `entry.account_id`)' },
        }),
      ],
    },
    {
      name: 'one table, two different keys',
      options: OPTIONS,
      code: tx(`    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('accounts').where('id', to.id).increment('balance', 5)`),
      errors: [
        txError(
          `    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('accounts').where('id', to.id).increment('balance', 5)`,
          'sameTableKeys',
          { line: 4, data: { first: '`accounts` (key `from.id`)', second: '`accounts` (key `to.id`)' } },
        ),
      ],
    },
    ...[
      ['different literals', `where({ id: 1 })`, `where({ id: 4 })`],
      ['a.id vs b.id', `where({ id: a.id })`, `where({ id: b.id })`],
      ['calls are never provably equal', `where({ id: getId() })`, `where({ id: getId() })`],
      ['number vs string literal', `where({ id: 1 })`, `where({ id: '1' })`],
    ].map(([name, w1, w2]) => {
      const body = `    await tx('accounts').${w1}.update({ a: 1 })\n    await tx('accounts').${w2}.update({ a: 2 })`
      return { name: `same table: ${name}`, options: OPTIONS, code: tx(body), errors: [txError(body, 'sameTableKeys', { line: 4 })] }
    }),
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    {
      const from = to
      await tx('accounts').where({ id: from.id }).update({ a: 2 })
    }`
      return {
        name: 'same table: a shadowing variable with the same name',
        options: OPTIONS,
        code: tx(body),
        errors: [txError(body, 'sameTableKeys', { line: 6 })],
      }
    })(),
    (() => {
      const body = `    await tx('countries').where({ code: 'NL' }).update({ vat: 21 })
    await tx('accounts').where({ id: from.id }).update({ country: 'NL' })`
      return {
        name: 'pinned table plus a sharded write',
        options: OPTIONS,
        code: tx(body),
        errors: [
          txError(body, 'pinnedAndSharded', {
            line: 4,
            data: { first: '`countries` (pinned to shard `-80`)', second: '`accounts` (key `from.id`)' },
          }),
        ],
      }
    })(),
    (() => {
      const body = `    await tx('countries').where({ code: 'NL' }).update({ vat: 21 })
    await tx('currencies').where({ code: 'EUR' }).update({ used: true })`
      return {
        name: 'two pinned tables on different shards',
        options: OPTIONS,
        code: tx(body),
        errors: [
          txError(body, 'pinnedConflict', {
            data: { first: '`countries` (pinned to shard `-80`)', second: '`currencies` (pinned to shard `80-`)' },
          }),
        ],
      }
    })(),
    (() => {
      const body = `    for (const id of ids) {
      await tx('accounts').where({ id }).update({ flagged: true })
    }`
      return {
        name: 'for...of over keys',
        options: OPTIONS,
        code: tx(body),
        errors: [txError(body, 'loopWrite', { line: 4, column: 13, data: { write: '`accounts` (key `id`)' } })],
      }
    })(),
    (() => {
      const body = `    for (let i = 0; i < ids.length; i++) {
      await tx('notifications').where('user_id', ids[i]).del()
    }`
      return { name: 'classic for loop indexing keys', options: OPTIONS, code: tx(body), errors: [txError(body, 'loopWrite', { line: 4 })] }
    })(),
    (() => {
      const body = `    let next = from.id
    while (next) {
      await tx('accounts').where({ id: next }).update({ visited: true })
      next = await lookupParent(next)
    }`
      return { name: 'while loop reassigning the key', options: OPTIONS, code: tx(body), errors: [txError(body, 'loopWrite', { line: 5 })] }
    })(),
    (() => {
      const body = `    ids.forEach((userId) => tx('notifications').insert({ user_id: userId, body: 'hi' }))`
      return { name: '.forEach over keys', options: OPTIONS, code: tx(body), errors: [txError(body, 'loopWrite', { line: 3 })] }
    })(),
    (() => {
      const body = `    await Promise.all(rows.map(async (row) => {
      await tx('orders').where({ customer_id: row.customer_id }).update({ status: 'paid' })
    }))`
      return {
        name: 'Promise.all(rows.map(...)) over keys',
        options: OPTIONS,
        code: tx(body),
        errors: [txError(body, 'loopWrite', { line: 4, data: { write: '`orders` (key `row.customer_id`)' } })],
      }
    })(),
    (() => {
      const body = `    for (const row of rows) {
      await tx('ledger').insert(rows.map((r) => r))
    }`
      return { name: 'loop write whose key is unknown', options: OPTIONS, code: tx(body), errors: [txError(body, 'loopWrite')] }
    })(),
    (() => {
      const code = (opts: string) => `async function debit(trx, accountId, amount) {
  await trx('accounts').where({ id: accountId }).decrement('balance', amount)
}
async function credit(trx, accountId, amount) {
  await trx('accounts').where({ id: accountId }).increment('balance', amount)
}
async function run(db, from, to) {
  await db.transaction(async (tx) => {
    await debit(tx, from.id, 5)
    await credit(tx, to.id, 5)
  }${opts})
}`
      return {
        name: 'helpers in the same file that receive the transaction',
        options: OPTIONS,
        code: code(''),
        errors: [
          {
            messageId: 'sameTableKeys' as const,
            line: 10,
            column: 11,
            data: { ...ADVICE, first: '`accounts` (key `from.id`, via `debit()`)', second: '`accounts` (key `to.id`, via `credit()`)' },
            suggestions: suggestionsFor(code),
          },
        ],
      }
    })(),
    (() => {
      const code = (opts: string) => `const addEntry = async (t, accountId) => {
  await t('ledger').insert({ account_id: accountId })
}
async function run(db, ids, owner) {
  await db.transaction(async (tx) => {
    await tx('accounts').where({ id: owner }).update({ a: 1 })
    for (const id of ids) await addEntry(tx, id)
  }${opts})
}`
      return {
        name: 'arrow helper called in a loop over keys',
        options: OPTIONS,
        code: code(''),
        errors: [{ messageId: 'loopWrite' as const, line: 7, column: 33, suggestions: suggestionsFor(code) }],
      }
    })(),
    (() => {
      const code = (opts: string) => `async function touch(trx, { id }) {
  await trx('accounts').where({ id }).update({ touched: true })
}
async function run(db, a, b) {
  await db.transaction(async (tx) => {
    await touch(tx, a)
    await touch(tx, b)
  }${opts})
}`
      return {
        name: 'helper-local keys differ from one call to the next',
        options: OPTIONS,
        code: code(''),
        errors: [{ messageId: 'sameTableKeys' as const, line: 7, suggestions: suggestionsFor(code) }],
      }
    })(),
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).forUpdate()
    await tx('ledger').where({ account_id: to.id }).forShare()`
      return {
        name: 'locking reads count as participation',
        options: OPTIONS,
        code: tx(body),
        errors: [txError(body, 'crossShard', { data: { first: '`accounts` (key `from.id`)', second: '`ledger` (key `to.id`)' } })],
      }
    })(),
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('ledger').insert(rows.map((r) => ({ ...r })))`
      return {
        name: 'a second write whose key the code does not show',
        options: OPTIONS,
        code: tx(body),
        errors: [
          txError(body, 'unknownKey', {
            line: 4,
            data: { write: '`ledger` (no `account_id` in where()/insert())', column: 'account_id', table: 'ledger' },
          }),
        ],
      }
    })(),
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    await tx('accounts').where({ email: to.email }).update({ a: 1 })`
      return { name: 'a where on another column does not give the key', options: OPTIONS, code: tx(body), errors: [txError(body, 'unknownKey', { line: 4 })] }
    })(),
    (() => {
      const body = `    await tx('notifications').whereIn('user_id', ids).del()`
      return {
        name: 'whereIn over a collection of keys',
        options: OPTIONS,
        code: tx(body),
        errors: [txError(body, 'keySet', { data: { write: '`notifications` (keys in `ids`)' } })],
      }
    })(),
    (() => {
      const body = `    await tx('accounts').whereIn('id', [from.id, to.id]).update({ frozen: true })`
      return { name: 'whereIn over a literal list of two keys', options: OPTIONS, code: tx(body), errors: [txError(body, 'sameTableKeys')] }
    })(),
    (() => {
      const body = `    await tx('ledger').insert([{ account_id: from.id }, { account_id: to.id }])`
      return { name: 'multi-row insert with two keys', options: OPTIONS, code: tx(body), errors: [txError(body, 'sameTableKeys')] }
    })(),
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).decrement('balance', 5)
    // shardtx-allow-cross-shard
    await tx('ledger').insert({ account_id: to.id })`
      return {
        name: 'an allow without a reason is reported and allows nothing',
        options: OPTIONS,
        code: tx(body),
        errors: [{ messageId: 'allowNeedsReason' as const, line: 4, column: 5 }, txError(body, 'crossShard', { line: 5 })],
      }
    })(),
    {
      name: 'an allow with only a colon has no reason',
      options: OPTIONS,
      code: `const x = 1 // shardtx-allow-cross-shard:   `,
      errors: [{ messageId: 'allowNeedsReason', line: 1, column: 13 }],
    },
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).update({ a: 1 }) // shardtx-allow-cross-shard: T-7
    await tx('accounts').where({ id: to.id }).update({ a: 1 })
    await tx('ledger').insert({ account_id: entry.id })`
      return {
        name: "a trailing allow on one statement doesn't cover the next",
        options: OPTIONS,
        code: tx(body),
        errors: [txError(body, 'crossShard', { line: 5, data: { first: '`accounts` (key `to.id`)', second: '`ledger` (key `entry.id`)' } })],
      }
    })(),
    {
      name: 'suggestion adds crossShard to an options object that has other properties',
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { reason: 'T-8' }"),
      errors: [
        {
          messageId: 'crossShard',
          suggestions: [
            { messageId: 'suggestAtomic', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'atomic', reason: 'T-8' }") },
            { messageId: 'suggestOrdered', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'ordered', reason: 'T-8' }") },
            { messageId: 'suggestSplit', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'split', reason: 'T-8' }") },
          ],
        },
      ],
    },
    {
      name: 'suggestion fills an empty options object',
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ', {}'),
      errors: [{ messageId: 'crossShard', suggestions: suggestionsFor((opts) => tx(accountsFromLedgerTo, opts)) }],
    },
    {
      name: "suggestion replaces crossShard: 'reject'",
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { crossShard: 'reject' }"),
      errors: [{ messageId: 'crossShard', suggestions: suggestionsFor((opts) => tx(accountsFromLedgerTo, opts)) }],
    },
    {
      name: "crossShard: 'warn' is still reported",
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ", { crossShard: 'warn', maxAttempts: 1 }"),
      errors: [
        {
          messageId: 'crossShard',
          suggestions: [
            { messageId: 'suggestAtomic', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'atomic', maxAttempts: 1 }") },
            { messageId: 'suggestOrdered', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'ordered', maxAttempts: 1 }") },
            { messageId: 'suggestSplit', data: { tx: 'db.transaction' }, output: tx(accountsFromLedgerTo, ", { crossShard: 'split', maxAttempts: 1 }") },
          ],
        },
      ],
    },
    {
      name: 'no suggestion when the options are a variable',
      options: OPTIONS,
      code: tx(accountsFromLedgerTo, ', txOptions'),
      errors: [{ messageId: 'crossShard', suggestions: [] }],
    },
    (() => {
      const code = (opts: string) => `function run(knex, a, b) {
  return knex.transaction(function (trx) {
    return trx('orders').where({ customer_id: a }).update({ x: 1 })
      .then(() => trx('notifications').insert({ user_id: b }))
  }${opts})
}`
      return {
        name: 'knex.transaction(function (trx) {...}) names the callee in the advice',
        options: OPTIONS,
        code: code(''),
        errors: [
          {
            messageId: 'crossShard' as const,
            line: 4,
            column: 19,
            data: { ...fixAdviceFor('knex.transaction'), first: '`orders` (key `a`)', second: '`notifications` (key `b`)' },
            suggestions: suggestionsFor(code, 'knex.transaction'),
          },
        ],
      }
    })(),
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('accounts').where({ id: to.id }).upsert({ a: 1 })
    await tx('orders').where({ customer_id: from.id }).del()
    await tx('ledger').insert({ account_id: to.id }).onConflict('id').merge()`
      return {
        name: 'upsert, del and merge are writes; each later write is compared with every earlier one',
        options: OPTIONS,
        code: tx(body),
        errors: [
          txError(body, 'sameTableKeys', { line: 4 }),
          txError(body, 'crossShard', { line: 5, data: { first: '`accounts` (key `to.id`)', second: '`orders` (key `from.id`)' } }),
          txError(body, 'crossShard', { line: 6, data: { first: '`accounts` (key `from.id`)', second: '`ledger` (key `to.id`)' } }),
        ],
      }
    })(),
    {
      name: 'plain JavaScript parsed by espree',
      options: OPTIONS,
      languageOptions: plainJs,
      code: tx(accountsFromLedgerTo),
      errors: [txError(accountsFromLedgerTo, 'crossShard')],
    },
    {
      name: 'configuration from a JSON file (test/eslint/fixtures)',
      options: [{ config: FIXTURE }],
      code: tx(accountsFromLedgerTo),
      errors: [txError(accountsFromLedgerTo, 'crossShard')],
    },
    {
      name: 'configuration from a CommonJS module',
      options: [{ config: 'test/eslint/fixtures/tables.cjs' }],
      code: tx(accountsFromLedgerTo),
      errors: [txError(accountsFromLedgerTo, 'crossShard')],
    },
    (() => {
      const body = `    await tx('accounts').where({ id: from.id }).update({ a: 1 })
    await tx('accounts').where({ id: to.id }).update({ a: 1 })`
      return {
        name: 'configuration from an ES module named tables export',
        options: [{ config: 'test/eslint/fixtures/named-tables.mjs' }],
        code: tx(body),
        errors: [txError(body, 'sameTableKeys')],
      }
    })(),
  ],
})

function fixAdviceFor(callee: string): Record<string, string> {
  return {
    fix: ADVICE.fix.replace('db.transaction', callee),
    fixLower: ADVICE.fixLower.replace('db.transaction', callee),
  }
}
