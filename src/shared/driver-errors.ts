/**
 * Reading mysql2 driver errors without trusting their shape: the server's error number, and the
 * codes that are safe to log. Shared by split's intent log and atomic's decision log, which both
 * decide on ER_DUP_ENTRY (a primary key lets exactly one writer win) and ER_NO_SUCH_TABLE.
 */

/** ER_DUP_ENTRY: on the applied-marker insert it means "this part is already applied". */
export const ER_DUP_ENTRY = 1062
/** ER_NO_SUCH_TABLE: the intent log tables are missing (never created, or dropped). */
export const ER_NO_SUCH_TABLE = 1146

export function errnoOf(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno
  return typeof errno === 'number' ? errno : undefined
}

/** What is safe to log about a driver error: codes, never the message (it may quote key values). */
export function errorCodes(err: unknown): { code: string | undefined; errno: number | undefined; sqlState: string | undefined } {
  const e = err as { code?: unknown; sqlState?: unknown } | null
  return {
    code: typeof e?.code === 'string' ? e.code : err instanceof Error ? err.name : undefined,
    errno: errnoOf(err),
    sqlState: typeof e?.sqlState === 'string' ? e.sqlState : undefined,
  }
}
