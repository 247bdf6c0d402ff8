import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { EVENT_NAMES } from '../../src/index.js'

const SRC = path.resolve(import.meta.dirname, '../../src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  )
}

describe('EVENT_NAMES', () => {
  it('lists exactly the events src/ logs, so a log pipeline can rely on the exported list', () => {
    const logged = new Set<string>()
    for (const file of sourceFiles(SRC)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/event: '(shardtx\.[a-z_]+)'/g)) logged.add(m[1]!)
    }
    expect([...logged].sort()).toEqual([...EVENT_NAMES].sort())
  })
})
