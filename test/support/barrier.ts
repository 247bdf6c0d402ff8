/**
 * A one-shot barrier: the returned function resolves for every caller once `n` callers have
 * arrived. Tests use it to make two transactions hold their first lock before either asks for
 * its second, so a deadlock forms every time instead of by luck.
 *
 * @example
 * ```ts
 * const arrive = barrier(2)
 * await Promise.all([a(arrive), b(arrive)])
 * ```
 */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return () => {
    if (++arrived === n) open()
    return opened
  }
}
