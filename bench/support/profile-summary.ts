/**
 * Summaries of a V8 CPU profile (the `Profiler.stop` result, the format of `node --cpu-prof`):
 * self time by owner and the top functions of shardtx's built package.
 */

/** The parts of a V8 CPU profile read here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[]
  samples: number[]
  timeDeltas: number[]
}

/** Who owns a function, from the URL V8 reports for it. */
export function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName === '(garbage collector)' ? 'gc' : functionName.startsWith('(') ? functionName : 'native'
  if (url.includes('/node_modules/knex/')) return 'knex'
  if (url.includes('/node_modules/mysql2/')) return 'mysql2'
  if (url.includes('/node_modules/')) return 'other packages'
  if (url.startsWith('node:')) return 'node internals'
  if (url.includes('/dist/')) return 'shardtx'
  return 'bench'
}

/**
 * Self time per owner (microseconds per transaction and share) and the `top` shardtx functions.
 *
 * @example
 * ```ts
 * console.log(summarizeProfile(profile, { transactions: 6000, top: 10 }))
 * ```
 */
export function summarizeProfile(profile: CpuProfile, options: { transactions: number; top: number }): string {
  const nodeById = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfById = new Map<number, number>()
  // samples[i] was taken timeDeltas[i + 1] microseconds before the next one: charge it that span.
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0
    selfById.set(profile.samples[i]!, (selfById.get(profile.samples[i]!) ?? 0) + delta)
  }
  const byOwner = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfById) {
    const frame = nodeById.get(id)!.callFrame
    const owner = ownerOf(frame.url, frame.functionName)
    if (owner === '(idle)') continue
    total += us
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us)
    if (owner === 'shardtx' || owner === 'native') {
      const key =
        owner === 'native'
          ? `${frame.functionName} (native)`
          : `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}`
      byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    }
  }
  const perTx = (us: number) => (us / options.transactions).toFixed(1)
  const lines = ['', '| owner | self us/tx | share |', '|---|---|---|']
  for (const [owner, us] of [...byOwner].sort((a, b) => b[1] - a[1])) lines.push(`| ${owner} | ${perTx(us)} | ${((100 * us) / total).toFixed(1)} % |`)
  lines.push('', `| top ${options.top} shardtx and native functions | self us/tx |`, '|---|---|')
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, options.top)) lines.push(`| ${fn} | ${perTx(us)} |`)
  return lines.join('\n')
}
