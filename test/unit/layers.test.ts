import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The layer rules live in .dependency-cruiser.cjs and README.md's Architecture section; this test
// makes `npm test` fail on any import that points up or sideways a layer, and on any import cycle.
const ROOT = path.resolve(import.meta.dirname, '../..')
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs')
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs')

interface Violation {
  rule: { name: string }
  from: string
  to: string
}

/** Runs dependency-cruiser on `src` of `dir` (its paths are relative to `dir`, as the rules expect). */
async function violationsIn(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--output-type', 'json'], {
    cwd: dir,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' })) // exit 1 when it finds violations
  const result = JSON.parse(stdout) as { summary: { violations: Violation[] } }
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
}

describe('layers', () => {
  it('every import in src/ points down a layer, and no modules import each other in a loop', async () => {
    expect(await violationsIn(ROOT)).toEqual([])
  }, 60_000)

  it('the rules catch an upward import, a sideways import and a cycle', async () => {
    // Checked against fixtures, so a rule that silently matches nothing fails here.
    const found = await violationsIn(path.join(ROOT, 'test/unit/fixtures/layers'))
    expect(found).toContain('layer-routing: src/routing/a.ts -> src/transaction/b.ts')
    expect(found).toContain('layer-health: src/health/c.ts -> src/routing/a.ts')
    expect(found.filter((v) => v.startsWith('no-cycles: src/shared/'))).not.toHaveLength(0)
  }, 60_000)
})
