/**
 * Incident 2 (gh-ost #1666): a buffer sized by `--default-retries=9999999999999` killed the process
 * at start. Here every count, limit and timeout is set to its largest accepted value, or past it:
 * accepted values cost nothing (RSS growth under 5 MB, measured in a fresh process after gc, with
 * real transactions run through them, not counting the empty young generation whose resident size
 * V8 picks by itself: see bounded-options.child.ts); values past the limits are refused at once with a
 * TypeError naming the option.
 */
import { expect, test } from 'vitest'
import { runChild } from './bounded-child.js'

interface ChildResult {
  rssBeforeMb: number
  rssGrowthMb: number
  youngGenerationGrowthMb: number
  accepted: { name: string; createMs: number; committed: boolean }[]
  refused: { name: string; ms: number; typeError: boolean; message: string }[]
  retryAttempts: number
}

/** "Instantly": far below anything that could allocate or loop over a count of 10^13. */
const INSTANT_MS = 250

test(
  'huge limits are accepted for free or refused at once, and RSS grows by less than 5 MB (outside the empty young generation)',
  { timeout: 120_000 },
  async () => {
    const result = await runChild<ChildResult>('bounded-options.child.ts', 110_000)
    console.log(
      `bounded-options: RSS ${result.rssBeforeMb.toFixed(1)} MB before, +${result.rssGrowthMb.toFixed(2)} MB after ` +
        `(+${result.youngGenerationGrowthMb.toFixed(2)} MB of it in V8's empty young generation); create ms ${JSON.stringify(Object.fromEntries(result.accepted.map((a) => [a.name, Math.round(a.createMs * 10) / 10])))}`,
    )
    expect(result.rssGrowthMb - result.youngGenerationGrowthMb).toBeLessThan(5)

    expect(result.accepted.length).toBeGreaterThanOrEqual(5)
    for (const a of result.accepted) {
      expect(a.committed, a.name).toBe(true)
      expect(a.createMs, a.name).toBeLessThan(INSTANT_MS)
    }
    expect(result.retryAttempts).toBe(201)

    for (const r of result.refused) {
      expect(r.typeError, `${r.name}: ${r.message}`).toBe(true)
      expect(r.ms, r.name).toBeLessThan(INSTANT_MS)
      // The message names the option (its last path segment at least) and what was expected.
      const option = r.name.split(' ')[0]!
      expect(r.message, r.name).toContain(`\`${option}\``)
      expect(r.message, r.name).toMatch(/Expected/)
    }
  },
)
