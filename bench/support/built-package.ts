import type * as Shardtx from '../../src/index.js'

// Benchmarks measure the built package (dist/, what users run; each bench script runs tsup first),
// typed by the source it is built from. The specifier is computed so that type-checking the
// repository does not need a build (a fresh clone has no dist/ until `npm run build`).
const built = new URL('../../dist/index.js', import.meta.url).href

/** The built package's exports. */
export const { createShardedDb, keyrangeNames } = (await import(built)) as typeof Shardtx
