import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Runs a `*.child.ts` script in a fresh `node --expose-gc` process (TypeScript through tsx) and
 * returns the JSON object it printed last. Memory is measured there, not in the vitest worker,
 * whose own allocations would drown a 5 MB budget.
 *
 * @example
 * ```ts
 * const result = await runChild<{ rssGrowthMb: number }>('bounded-options.child.ts', 60_000)
 * ```
 */
export function runChild<T>(script: string, timeoutMs: number, env: Record<string, string> = {}): Promise<T> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), script)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', file], {
      cwd: process.cwd(),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script} did not finish within ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const last = stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1)
      if (code !== 0 || last === undefined) {
        reject(new Error(`${script} exited with ${code}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}`))
        return
      }
      resolve(JSON.parse(last) as T)
    })
  })
}
