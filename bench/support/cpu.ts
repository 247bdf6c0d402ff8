/**
 * CPU time spent by this Node process and by a MariaDB/MySQL server running on this machine.
 * The benchmarks run Node and the server on one machine, so a row's cost is the CPU both spend.
 * The server's is read from /proc: undefined when the server is not a local process this user
 * can see (another host, a container, not Linux), and the column then shows n/a.
 */
import { readdirSync, readFileSync } from 'node:fs'

const SERVER_COMMANDS = new Set(['mariadbd', 'mysqld'])
// /proc/<pid>/stat reports times in USER_HZ ticks, which Linux fixes at 100 per second.
const MS_PER_TICK = 10

/** User + system CPU of this process (all threads) since `since` (a `process.cpuUsage()`), in ms. */
export function nodeCpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

/** The pid of the one local server process, or undefined if there is none or more than one. */
export function localServerPid(): number | undefined {
  let found: number[] = []
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        if (SERVER_COMMANDS.has(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) found.push(Number(entry))
      } catch {
        // the process ended while we looked
      }
    }
  } catch {
    found = []
  }
  return found.length === 1 ? found[0] : undefined
}

/** User + system CPU of process `pid` so far, in ms (10 ms resolution), or undefined if unreadable. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK
  } catch {
    return undefined
  }
}
