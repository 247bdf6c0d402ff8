import { Mutex } from 'async-mutex'
import type { KnexClientLike } from '../../knex/client.js'
import { errnoOf, errorCodes } from '../../shared/driver-errors.js'
import type { ShardtxLogger } from '../../shared/logger.js'
import type { Recoverer, RecoveryTrigger } from '../../transaction/recovery-scheduler.js'
import { poolQuery } from '../../transaction/sql.js'
import type { Decision, DecisionLog } from './decision-log.js'
import type { AtomicInDoubtFoundEvent, AtomicInDoubtResolvedEvent, AtomicRecoveryEvent, AtomicRecoveryReport } from './events.js'
import type { AtomicStats } from './stats.js'
import { parseRecoveredXid, xidSql, type AtomicXid, type XaRecoverRow } from './xid.js'

/** What the wiring gives the recoverer. */
export interface AtomicRecovererDeps {
  /** Shard names in canonical order. */
  shardOrder: readonly string[]
  /** The plain (autocommit) pool of each shard. */
  poolOf(shard: string): KnexClientLike
  /** The server of each shard (`XA RECOVER` lists a whole server's branches). */
  serverOf(shard: string): string
  /** Each shard's identity in xids. */
  identityOf(shard: string): string
  decisions: DecisionLog
  stats: AtomicStats
  logger: ShardtxLogger
  retainDecisionsMs: number
}

/** shardtx branches handled per pass; the rest wait for the next pass. Bounds memory whatever the backlog. */
const MAX_BRANCHES_PER_PASS = 10_000
/** In-doubt transactions logged one by one per pass; the rest only in the pass's summary. */
const MAX_LOGGED_PER_PASS = 20
/** XAER_NOTA: no such prepared branch for this connection (settled already, or still owned by a live connection). */
const ER_XAER_NOTA = 1397

/** One listed transaction: its xid and where each of its prepared branches is. */
interface Listed {
  xid: AtomicXid
  branches: { bqual: string; shard: string | undefined; server: string; via: string }[]
}

/**
 * Settles the prepared XA branches that `atomic` transactions left behind (their process died,
 * or a connection or server failed after prepare). One per ShardedDb; passes run one at a time
 * (start, interval, `db.recover()`), and several processes may recover at once: the decision
 * record's primary key lets exactly one outcome exist per transaction.
 *
 * A pass: `XA RECOVER` on every shard server; keep shardtx's xids whose coordinator is one of
 * this ShardedDb's shards (xid.ts); per transaction, read the decision record on the coordinator.
 * `commit` or `abort`: apply it to every branch. No record and the transaction is at least
 * `olderThanMs` old: write `abort` first (a coordinator still writing `commit` makes that insert
 * wait, then lose), then roll back. The coordinator shard unreachable: leave every branch
 * prepared (the decision is unknown; presuming abort could undo a commit). Finally, when every
 * server could be listed, prune decision records that no listed branch carries.
 *
 * @example
 * ```ts
 * const recoverer = new AtomicRecoverer({ shardOrder, poolOf, serverOf, identityOf, decisions, stats, logger, retainDecisionsMs: 3_600_000 })
 * await recoverer.recover({ olderThanMs: 0, trigger: 'call' })
 * ```
 */
export class AtomicRecoverer implements Recoverer {
  readonly #deps: AtomicRecovererDeps
  readonly #pass = new Mutex()

  constructor(deps: AtomicRecovererDeps) {
    this.#deps = deps
  }

  recover(options: { olderThanMs: number; trigger: RecoveryTrigger }): Promise<AtomicRecoveryReport> {
    return this.#pass.runExclusive(() => this.#recoverPass(options))
  }

  /** Nothing is batched: every XA statement and record is written before a pass returns. */
  drain(): Promise<void> {
    return Promise.resolve()
  }

  async #recoverPass(options: { olderThanMs: number; trigger: RecoveryTrigger }): Promise<AtomicRecoveryReport> {
    const started = performance.now()
    const deps = this.#deps
    const report: AtomicRecoveryReport = { committed: 0, rolledBack: 0, inDoubt: 0, inProgress: 0, serversUnreachable: 0, pruned: 0, durationMs: 0 }
    const inDoubtByShard: Record<string, number> = {}
    const counted = (shardOrServer: string) => {
      report.inDoubt++
      inDoubtByShard[shardOrServer] = (inDoubtByShard[shardOrServer] ?? 0) + 1
    }
    const { listed, unreachable, truncated } = await this.#list()
    report.serversUnreachable = unreachable
    let logged = 0
    const logFound = (event: AtomicInDoubtFoundEvent) => {
      if (logged++ < MAX_LOGGED_PER_PASS) {
        deps.logger.warn(
          event,
          `shardtx: atomic transaction ${event.transactionId} has prepared branches on ${event.shards.join(', ')} that stay in doubt (${event.reason}); the next recovery pass tries again`,
        )
      }
    }
    const byIdentity = this.#byIdentity()
    for (const t of listed.values()) {
      const coordinator = byIdentity.get(t.xid.coordinator)!
      const shards = t.branches.map((b) => b.shard ?? b.server)
      let outcome: Decision | undefined
      let presumedAbort = false
      try {
        outcome = await deps.decisions.read(coordinator, t.xid.gtrid)
        if (outcome === undefined && Date.now() - t.xid.startedAtMs >= options.olderThanMs) {
          outcome = await deps.decisions.recordAbort(coordinator, t.xid.gtrid, t.xid.transactionId)
          presumedAbort = outcome === 'abort'
        }
      } catch (err) {
        for (const s of shards) counted(s)
        logFound({
          event: 'shardtx.atomic_in_doubt_found',
          gtrid: t.xid.gtrid,
          transactionId: t.xid.transactionId,
          coordinator,
          shards,
          reason: 'coordinator unreachable',
          errorCode: errorCodes(err).code,
        })
        continue
      }
      if (outcome === undefined) {
        report.inProgress += t.branches.length // young, no record: its own process is most likely committing it right now
        continue
      }
      const settled: string[] = []
      for (const [i, branch] of t.branches.entries()) {
        try {
          await poolQuery(deps.poolOf(branch.via), `XA ${outcome === 'commit' ? 'COMMIT' : 'ROLLBACK'} ${xidSql(t.xid.gtrid, branch.bqual)}`)
          if (outcome === 'commit') report.committed++
          else report.rolledBack++
          settled.push(shards[i]!)
        } catch (err) {
          if (errnoOf(err) === ER_XAER_NOTA) {
            report.inProgress++ // still attached to a live connection (which applies the same decision), or settled meanwhile
            continue
          }
          counted(shards[i]!)
          logFound({
            event: 'shardtx.atomic_in_doubt_found',
            gtrid: t.xid.gtrid,
            transactionId: t.xid.transactionId,
            coordinator,
            shards: [shards[i]!],
            reason: 'branch unreachable',
            errorCode: errorCodes(err).code,
          })
        }
      }
      if (settled.length > 0) {
        const event: AtomicInDoubtResolvedEvent = {
          event: 'shardtx.atomic_in_doubt_resolved',
          gtrid: t.xid.gtrid,
          transactionId: t.xid.transactionId,
          coordinator,
          outcome,
          presumedAbort,
          shards: settled,
        }
        deps.logger.info(
          event,
          `shardtx: atomic recovery ${outcome === 'commit' ? 'committed' : 'rolled back'} transaction ${t.xid.transactionId}'s prepared branches on ${settled.join(', ')}` +
            (presumedAbort ? ' (no decision record: its coordinator never committed, so this pass recorded the abort first)' : ''),
        )
      }
    }
    // Only with the full picture: a record whose branch sits on an unlisted server, or past this pass's cap, is still needed.
    if (unreachable === 0 && !truncated) report.pruned = await this.#prune(new Set([...listed.keys()]))
    report.durationMs = Math.round(performance.now() - started)
    this.#record(report, inDoubtByShard)
    const event: AtomicRecoveryEvent = { event: 'shardtx.atomic_recovery', trigger: options.trigger, ...report }
    const level = report.inDoubt + report.serversUnreachable > 0 ? 'warn' : report.committed + report.rolledBack > 0 ? 'info' : 'debug'
    deps.logger[level](
      event,
      `shardtx: atomic recovery (${options.trigger}): ${report.committed} branches committed, ${report.rolledBack} rolled back, ${report.inDoubt} in doubt, ` +
        `${report.inProgress} in progress, ${report.serversUnreachable} servers unreachable, ${report.pruned} records pruned`,
    )
    return report
  }

  /** shardtx's prepared branches of this ShardedDb's transactions on every server, grouped by transaction. */
  async #list(): Promise<{ listed: Map<string, Listed>; unreachable: number; truncated: boolean }> {
    const deps = this.#deps
    const byIdentity = this.#byIdentity()
    const servers = new Map<string, string>()
    for (const shard of deps.shardOrder) if (!servers.has(deps.serverOf(shard))) servers.set(deps.serverOf(shard), shard)
    const listed = new Map<string, Listed>()
    let unreachable = 0
    let branches = 0
    for (const [server, via] of servers) {
      let rows: XaRecoverRow[]
      try {
        rows = await poolQuery<XaRecoverRow[]>(deps.poolOf(via), 'XA RECOVER')
      } catch {
        unreachable++
        continue
      }
      for (const row of rows) {
        const xid = parseRecoveredXid(row)
        // Another application's xid, or a shardtx transaction coordinated by a database this ShardedDb does not know.
        if (xid === undefined || !byIdentity.has(xid.coordinator)) continue
        if (branches++ >= MAX_BRANCHES_PER_PASS) break // `truncated`: the rest wait for the next pass
        let entry = listed.get(xid.gtrid)
        if (entry === undefined) listed.set(xid.gtrid, (entry = { xid, branches: [] }))
        entry.branches.push({ bqual: xid.bqual, shard: byIdentity.get(xid.bqual), server, via })
      }
    }
    return { listed, unreachable, truncated: branches > MAX_BRANCHES_PER_PASS }
  }

  /** Prunes every shard's decision records; a shard that fails is skipped (the next pass prunes it). */
  async #prune(keep: ReadonlySet<string>): Promise<number> {
    let pruned = 0
    for (const shard of this.#deps.shardOrder) {
      pruned += await this.#deps.decisions.prune(shard, keep, this.#deps.retainDecisionsMs).catch(() => 0)
    }
    return pruned
  }

  #byIdentity(): Map<string, string> {
    return new Map(this.#deps.shardOrder.map((s) => [this.#deps.identityOf(s), s]))
  }

  #record(report: AtomicRecoveryReport, inDoubtByShard: Record<string, number>): void {
    const stats = this.#deps.stats
    stats.recoveryPasses++
    stats.recoveredCommitted += report.committed
    stats.recoveredRolledBack += report.rolledBack
    stats.inDoubt = report.inDoubt
    stats.inDoubtByShard = inDoubtByShard
    stats.lastRecoveryAt = Date.now()
  }
}
