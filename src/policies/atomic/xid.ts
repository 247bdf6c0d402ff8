import { createHash } from 'node:crypto'

/**
 * XA transaction ids of shardtx's `atomic` policy. MariaDB lets any database user list, commit and
 * roll back any prepared branch on the server (`XA RECOVER` has no privilege check; ../shared/
 * REFERENCE.md, "XA on MariaDB 10.11"), so recovery must recognise its own branches and never
 * touch anyone else's. Every xid shardtx creates carries:
 *
 * - format id {@link XID_FORMAT_ID} (the bytes `stx1`), and a gtrid starting with `shardtx:`;
 * - the transaction id (`tx-<process>-<sequence>`, unique across processes);
 * - the coordinator shard's identity: a hash of its server and database, so a recoverer acts only
 *   on transactions whose decision record lives in a database it is configured with (two
 *   applications on one server, or two test databases, never settle each other's branches);
 * - the time the transaction's first branch started (ms, base 36): "old enough" for recovery;
 * - as bqual, the identity of the branch's own shard.
 *
 * Everything is `[a-z0-9:-]`, so an xid is spliced into `XA ...` statements as a string literal
 * without escaping (XA statements take no placeholders), and gtrid stays under XA's 64 bytes.
 */

/** The xid format id of every shardtx branch: the ASCII bytes `stx1`. */
export const XID_FORMAT_ID = 0x73747831

/** The prefix of every shardtx gtrid. */
export const GTRID_PREFIX = 'shardtx:'

/** One branch of an atomic transaction, as its xid says. */
export interface AtomicXid {
  /** Shared by every branch of one transaction; also the decision record's key. */
  gtrid: string
  /** The branch qualifier: the identity of the branch's shard. */
  bqual: string
  transactionId: string
  /** Identity ({@link shardIdentity}) of the shard holding the decision record. */
  coordinator: string
  /** When the transaction's first XA branch started (the coordinating process's clock, ms since the epoch). */
  startedAtMs: number
}

const SAFE = /^[a-z0-9:-]+$/

/**
 * A short, stable identity for a shard: 10 hex digits of SHA-256 over its name, its server
 * (socket path, or host and port) and its database. Two configurations that name the same shard
 * the same way agree on it; one that spells the host differently (`localhost` versus
 * `127.0.0.1`) does not recognise the other's branches, which only means they wait, prepared,
 * for a recoverer configured like their coordinator: never a wrong decision.
 *
 * @example
 * ```ts
 * shardIdentity('-80', { host: '127.0.0.1', port: 3306, database: 'app_s0' }) // e.g. '5d1c0e9a37'
 * ```
 */
export function shardIdentity(shard: string, connection: { host: string; port: number; database: string; socketPath?: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([shard, serverOf(connection), connection.database]))
    .digest('hex')
    .slice(0, 10)
}

/**
 * The server a shard lives on, as `XA RECOVER` sees it: the socket path, or host and port. Shards
 * in different databases of one server share its list of prepared branches.
 *
 * @example
 * ```ts
 * serverOf({ host: '127.0.0.1', port: 3306 }) // '127.0.0.1:3306'
 * ```
 */
export function serverOf(connection: { host: string; port: number; socketPath?: string }): string {
  return connection.socketPath ?? `${connection.host}:${connection.port}`
}

/**
 * The gtrid of a transaction.
 *
 * @example
 * ```ts
 * gtridOf('tx-1a2b3c4d-0000000f', '5d1c0e9a37', 1764921600000) // 'shardtx:tx-1a2b3c4d-0000000f:5d1c0e9a37:mipbc8g0'
 * ```
 */
export function gtridOf(transactionId: string, coordinator: string, startedAtMs: number): string {
  const gtrid = `${GTRID_PREFIX}${transactionId}:${coordinator}:${startedAtMs.toString(36)}`
  if (!SAFE.test(gtrid) || gtrid.length > 64) throw new Error(`shardtx internal error: unusable XA gtrid ${JSON.stringify(gtrid)}`)
  return gtrid
}

/**
 * The xid as `XA` statements take it: `'gtrid','bqual',formatID`.
 *
 * @example
 * ```ts
 * `XA COMMIT ${xidSql(gtrid, bqual)}`
 * ```
 */
export function xidSql(gtrid: string, bqual: string): string {
  if (!SAFE.test(gtrid) || !SAFE.test(bqual)) throw new Error(`shardtx internal error: unusable XA xid ${JSON.stringify([gtrid, bqual])}`)
  return `'${gtrid}','${bqual}',${XID_FORMAT_ID}`
}

/** A row of `XA RECOVER`: gtrid and bqual concatenated in `data`. */
export interface XaRecoverRow {
  formatID: number | string
  gtrid_length: number | string
  bqual_length: number | string
  data: Buffer | string
}

/**
 * A branch `XA RECOVER` listed, if it is shardtx's; undefined for anyone else's xid.
 *
 * @example
 * ```ts
 * const ours = rows.map(parseRecoveredXid).filter((x) => x !== undefined)
 * ```
 */
export function parseRecoveredXid(row: XaRecoverRow): AtomicXid | undefined {
  if (Number(row.formatID) !== XID_FORMAT_ID) return undefined
  const data = Buffer.isBuffer(row.data) ? row.data.toString('latin1') : String(row.data)
  const gtridLength = Number(row.gtrid_length)
  const gtrid = data.slice(0, gtridLength)
  const bqual = data.slice(gtridLength, gtridLength + Number(row.bqual_length))
  if (!gtrid.startsWith(GTRID_PREFIX) || !SAFE.test(gtrid) || !SAFE.test(bqual)) return undefined
  const fields = gtrid.slice(GTRID_PREFIX.length).split(':')
  if (fields.length !== 3) return undefined
  const [transactionId, coordinator, started] = fields as [string, string, string]
  const startedAtMs = parseInt(started, 36)
  if (!Number.isSafeInteger(startedAtMs)) return undefined
  return { gtrid, bqual, transactionId, coordinator, startedAtMs }
}
