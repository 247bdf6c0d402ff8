import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')

describe('types', () => {
  it('helpers typed Knex.Transaction and Knex accept tx and db.knex, and rows are typed as in knex (tsc on test/types)', async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc')
    const run = promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', 'test/types/tsconfig.json'], { cwd: ROOT })
    const { stdout } = await run.catch((err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout ?? ''}${err.stderr ?? ''}` || 'tsc failed' }))
    expect(stdout.trim()).toBe('')
  }, 120_000)
})
