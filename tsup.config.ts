import { defineConfig, type Options } from 'tsup'

const library = { index: 'src/index.ts', 'eslint/index': 'src/eslint/index.ts' }

const shared: Options = {
  sourcemap: true,
  target: 'node20',
  // Peer dependencies stay external so the user's knex/mysql2 are the ones that run.
  external: ['knex', 'mysql2'],
  // No keepNames in the ESM build: it wraps every function expression in a naming call, run each
  // time a closure is created (several per statement). Public classes keep their names by not
  // naming themselves in their own bodies (see shared/errors.ts), which is what makes esbuild
  // rename a class.
  keepNames: false,
}

// Two builds, one per module format, each cleaning only its own files (they run in parallel).
export default defineConfig([
  {
    ...shared,
    // The CLI is ESM only (package.json's `bin` runs dist/cli/main.js); built with the library so
    // the rule's code lives in one shared chunk instead of a copy per entry.
    entry: { ...library, 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    dts: { entry: library },
    clean: ['**/*.js', '**/*.js.map', '**/*.d.ts'],
  },
  {
    ...shared,
    entry: library,
    format: ['cjs'],
    dts: true,
    // `require('shardtx/eslint-plugin')` must return the plugin itself, not `{ default }`:
    // ESLint's flat config takes the object as it is. The plugin entry has only a default export.
    cjsInterop: true,
    // tsup applies cjsInterop only when it builds CommonJS through its ESM path (code splitting).
    splitting: true,
    // `import.meta.url` (the TypeScript parser is resolved from shardtx's own location) in CommonJS.
    shims: true,
    // The CommonJS output goes through sucrase after esbuild (tsup's code-splitting path), which
    // turns every class with fields into `var X = (_class = class extends ...)`: without
    // keepNames each error class would be named `_class` (util.inspect prints that name). CommonJS
    // users pay the per-closure naming call; the ESM build does not (bench/RESULTS.md).
    keepNames: true,
    clean: ['**/*.cjs', '**/*.cjs.map', '**/*.d.cts'],
  },
])
