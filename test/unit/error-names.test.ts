// Every error class shardtx exports has a stable name: `name`, String(err), the first line of the
// stack and util.inspect all show the class's export name. The same samples run against the built
// package in test/package/package.test.ts, where the bundler renames classes.
import { describe, expect, it } from 'vitest'
import * as shardtx from '../../src/index.js'
import { errorSamples, exportedErrorClasses, shownNames } from '../support/error-samples.js'

describe('exported error classes', () => {
  const samples = errorSamples(shardtx)

  it('have one sample each (a new error class must be added to test/support/error-samples.ts)', () => {
    expect(samples.map(([name]) => name).sort()).toEqual(exportedErrorClasses(shardtx))
  })

  it.each(samples)('%s shows its own name everywhere', (exportName, err) => {
    expect(err).toBeInstanceOf((shardtx as unknown as Record<string, new (...args: never[]) => Error>)[exportName])
    expect(shownNames(err)).toEqual({ name: exportName, string: exportName, stack: exportName, inspect: exportName })
  })
})
