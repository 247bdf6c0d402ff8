/**
 * Latency recording for benchmarks, on hdr-histogram-js: constant memory whatever the number of
 * samples, with microsecond resolution up to an hour.
 */
import * as hdr from 'hdr-histogram-js'

export class LatencyRecorder {
  readonly #histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(ms * 1000)))
  }

  /** The latency at percentile `p` (0-100), in milliseconds. */
  percentile(p: number): number {
    return this.#histogram.getValueAtPercentile(p) / 1000
  }

  get count(): number {
    return this.#histogram.totalCount
  }
}

export function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`
}
