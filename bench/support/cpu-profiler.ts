/**
 * V8's sampling profiler on this process (node:inspector, the profiler `node --cpu-prof` uses),
 * started and stopped around the part of a benchmark being profiled.
 */
import { Session } from 'node:inspector/promises'
import type { CpuProfile } from './profile-summary.js'

/**
 * Starts profiling this process; the returned function stops it and returns the profile.
 *
 * @example
 * ```ts
 * const stop = await startCpuProfile()
 * await work()
 * console.log(summarizeProfile(await stop(), { transactions: 6000, top: 10 }))
 * ```
 */
export async function startCpuProfile(intervalUs = 500): Promise<() => Promise<CpuProfile>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs })
  await session.post('Profiler.start')
  return async () => {
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile }
    session.disconnect()
    return profile
  }
}
