/**
 * The layer rules of README.md's Architecture section, enforced by test/unit/layers.test.ts.
 * Folders are layers; an import may point to the same folder or to a lower layer, never up or
 * sideways (two folders of one layer stay independent). Type-only imports count too.
 *
 *   6  src/sharded-db.ts, src/index.ts      wiring and the public surface
 *   5  src/policies/                        reject, warn, ordered/, split/, atomic/
 *   4  src/transaction/                     the transaction core
 *   3  src/routing/ src/health/ src/deadlock/ src/logging/
 *   2  src/config/ src/knex/
 *   1  src/shared/
 *   tools: src/eslint/ (config and shared only), src/cli/ (eslint, config, shared, and the public
 *          entry src/index.ts, which `shardtx migrate` loads as an application would)
 */
const LAYERS = [['shared'], ['config', 'knex'], ['routing', 'health', 'deadlock', 'logging'], ['transaction'], ['policies']]

/** Folders an import from `folder` may reach, besides its own. */
function allowedBelow(index) {
  return LAYERS.slice(0, index).flat()
}

const forbidden = [
  {
    name: 'no-cycles',
    comment: 'Modules import each other in a loop: break it by moving the shared part down a layer.',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
]

LAYERS.forEach((folders, index) => {
  const allowed = allowedBelow(index)
  for (const folder of folders) {
    forbidden.push({
      name: `layer-${folder}`,
      comment: `src/${folder}/ is layer ${index + 1}: it may import only src/${folder}/ and ${allowed.length ? allowed.map((f) => `src/${f}/`).join(', ') : 'nothing else in src/'}.`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [`^src/${folder}/`, ...allowed.map((f) => `^src/${f}/`)] },
    })
  }
})

forbidden.push(
  {
    name: 'policies-independent',
    comment: 'Each policy folder stands alone: ordered/, split/ and atomic/ share code only through layers below policies/.',
    severity: 'error',
    from: { path: '^src/policies/(ordered|split|atomic)/' },
    to: { path: '^src/policies/', pathNot: ['^src/policies/$1/'] },
  },
  {
    name: 'no-import-of-wiring',
    comment:
      'src/sharded-db.ts and src/index.ts are the top: nothing in src/ imports them except index.ts, and the CLI the public entry (index.ts), as an application would.',
    severity: 'error',
    from: { path: '^src/', pathNot: ['^src/index\\.ts$', '^src/cli/'] },
    to: { path: '^src/(sharded-db|index)\\.ts$' },
  },
  {
    name: 'cli-uses-public-entry-only',
    comment: 'The CLI reaches the runtime through src/index.ts only, never src/sharded-db.ts.',
    severity: 'error',
    from: { path: '^src/cli/' },
    to: { path: '^src/sharded-db\\.ts$' },
  },
  {
    name: 'eslint-rule-reads-config-only',
    comment: 'The lint rule runs without a database: it may import only src/eslint/, src/config/ and src/shared/.',
    severity: 'error',
    from: { path: '^src/eslint/' },
    to: { path: '^src/', pathNot: ['^src/eslint/', '^src/config/', '^src/shared/'] },
  },
  {
    name: 'cli-reads-config-only',
    comment: 'The CLI may import only src/cli/, src/eslint/, src/config/, src/shared/ and the public entry src/index.ts.',
    severity: 'error',
    from: { path: '^src/cli/' },
    to: { path: '^src/', pathNot: ['^src/cli/', '^src/eslint/', '^src/config/', '^src/shared/', '^src/index\\.ts$'] },
  },
  {
    name: 'only-knex-folder-imports-knex-runtime',
    comment: 'knex is constructed and its internals touched in src/knex/ only (type imports of knex are fine elsewhere).',
    severity: 'error',
    from: { path: '^src/', pathNot: ['^src/knex/'] },
    to: { path: 'node_modules/knex/', dependencyTypesNot: ['type-only'] },
  },
)

module.exports = {
  forbidden,
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
  },
}
