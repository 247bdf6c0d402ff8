/**
 * A small project for the lint: the tables and one transaction with three cross-shard writes,
 * in each file type the recommended config must lint. Shared by the rule's config tests, the
 * docs test (every ESLint config shown in the docs must report these) and the package test.
 */

/** The tables of `shardtx.config.json`, the same as docs/lint.md's example. */
export const LINT_TABLES = {
  accounts: { shardKey: 'id' },
  ledger: { shardKey: 'account_id' },
  countries: { shard: '-80' },
} as const

/** Findings the transfer below produces: same table/two keys, two tables/two keys, pinned and sharded. */
export const EXPECTED_FINDINGS = 3

const BODY = `  await db.transaction(async (tx) => {
    await tx('accounts').where({ id: from }).decrement('balance', amount)
    await tx('accounts').where({ id: to }).increment('balance', amount)
    await tx('ledger').insert({ account_id: to, amount })
    await tx('countries').where({ code: 'FR' }).update({ name: 'France' })
  })`

/**
 * File name -> source. The TypeScript files use syntax only a TypeScript parser reads (types,
 * an interface, a `satisfies`), the JSX files an element: a config that parses them as plain
 * JavaScript reports a parse error instead of the findings.
 */
export const LINT_FIXTURE_FILES: Readonly<Record<string, string>> = {
  'transfer.ts': `interface Db { transaction(fn: (tx: any) => Promise<void>): Promise<void> }
export async function transfer(db: Db, from: number, to: number, amount: number): Promise<void> {
${BODY}
}
`,
  'transfer.mts': `export async function transfer(db: { transaction: Function }, from: number, to: number, amount: number) {
${BODY}
  return amount satisfies number
}
`,
  'transfer.cts': `async function transfer(db: any, from: number, to: number, amount: number): Promise<void> {
${BODY}
}
export = transfer
`,
  'transfer.tsx': `export async function transfer(db: any, from: number, to: number, amount: number): Promise<JSX.Element> {
${BODY}
  return <p>{amount}</p>
}
`,
  'transfer.js': `export async function transfer(db, from, to, amount) {
${BODY}
}
`,
  'transfer.mjs': `export async function transfer(db, from, to, amount) {
${BODY}
}
`,
  'transfer.cjs': `module.exports = async function transfer(db, from, to, amount) {
${BODY}
}
`,
  'transfer.jsx': `export async function transfer(db, from, to, amount) {
${BODY}
  return <p>{amount}</p>
}
`,
}
