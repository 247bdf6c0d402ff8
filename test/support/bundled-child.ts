import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * The node arguments that start a crash test's child script. The child is bundled once with
 * esbuild (already installed with tsx and vitest), so each of the crash tests' ~60 launches starts
 * in a fraction of the time `tsx` needs to compile it; without esbuild it falls back to
 * `node --import tsx`. The bundle lives inside the repository so its imports of knex and mysql2
 * resolve from node_modules; delete it afterwards (a one-element result is the bundle's path).
 *
 * @example
 * ```ts
 * const args = await bundledChild(path.join(here, 'split-crash-child.ts'), 'shardtx-split-crash')
 * spawn(process.execPath, [...args, '--plan', '3'])
 * ```
 */
export async function bundledChild(source: string, cacheName: string): Promise<string[]> {
  try {
    const { build } = await import('esbuild')
    const outfile = path.join(root, 'node_modules', '.cache', cacheName, `child-${process.pid}.mjs`)
    await build({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'error' })
    return [outfile]
  } catch {
    return ['--import', 'tsx', source]
  }
}
