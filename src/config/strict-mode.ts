import path from 'node:path'
import { ReasonRequiredError } from '../shared/errors.js'
import type { CallSite } from '../shared/call-site.js'
import { describeValue, expectBoolean, expectKnownKeys, expectPlainObject, fail } from '../shared/validators.js'

/** Turns strict mode on (`1`, `true`) or off (`0`, `false`) whatever `NODE_ENV` says. */
export const STRICT_ENV = 'SHARDTX_STRICT'
/** Footprint file used when the `footprint` option is not given. */
export const FOOTPRINT_ENV = 'SHARDTX_FOOTPRINT_FILE'

const STRICT_VALUES: Record<string, boolean> = { '1': true, true: true, '0': false, false: false }

/**
 * Decides whether strict mode is on, once, when the ShardedDb is created. Precedence, first match
 * wins: the `strict` option; `SHARDTX_STRICT` (`1`/`true` on, `0`/`false` off; unset or empty =
 * no opinion); `NODE_ENV === 'test'` (vitest and jest set it). Any other `SHARDTX_STRICT` value is
 * an error rather than a silent "off": a typo must not switch off the check it was meant to enable.
 *
 * @example
 * ```ts
 * resolveStrict(undefined, { NODE_ENV: 'test' })                     // true
 * resolveStrict(undefined, { NODE_ENV: 'test', SHARDTX_STRICT: '0' }) // false
 * resolveStrict(true, {})                                            // true
 * ```
 */
export function resolveStrict(option: unknown, env: NodeJS.ProcessEnv = process.env): boolean {
  if (option !== undefined) return expectBoolean('strict', option, false)
  const flag = env[STRICT_ENV]
  if (flag !== undefined && flag !== '') {
    const value = STRICT_VALUES[flag.trim().toLowerCase()]
    if (value === undefined) {
      throw new TypeError(`Expected the environment variable \`${STRICT_ENV}\` to be '1' (on) or '0' (off), got ${describeValue(flag)}`)
    }
    return value
  }
  return env.NODE_ENV === 'test'
}

/** The footprint file to record to, and how errors name its source. */
export interface ResolvedFootprint {
  /** Absolute path. */
  file: string
  /** `` `footprint.file` `` or `` the environment variable `SHARDTX_FOOTPRINT_FILE` ``, for "Expected ... to be". */
  option: string
}

/**
 * The footprint file, as an absolute path (resolved against the current directory when the
 * ShardedDb is created), or undefined when recording is off. The `footprint` option wins over
 * `SHARDTX_FOOTPRINT_FILE`. Whether the file can be opened is checked when recording starts.
 *
 * @example
 * ```ts
 * resolveFootprint({ file: 'footprints.jsonl' }, {})                 // { file: '/app/footprints.jsonl', option: '`footprint.file`' }
 * resolveFootprint(undefined, { SHARDTX_FOOTPRINT_FILE: '/tmp/f.jsonl' }) // { file: '/tmp/f.jsonl', option: 'the environment variable ...' }
 * ```
 */
export function resolveFootprint(option: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedFootprint | undefined {
  if (option === undefined) {
    const fromEnv = env[FOOTPRINT_ENV]
    return fromEnv === undefined || fromEnv.trim() === '' ? undefined : { file: path.resolve(fromEnv), option: `the environment variable \`${FOOTPRINT_ENV}\`` }
  }
  const footprint = expectPlainObject('footprint', option)
  expectKnownKeys('footprint', footprint, ['file'])
  if (typeof footprint.file !== 'string' || footprint.file.trim() === '') {
    fail('footprint.file', 'a non-empty file path (JSON lines are appended to it)', footprint.file)
  }
  return { file: path.resolve(footprint.file), option: '`footprint.file`' }
}

/**
 * The strict-mode rule for one `db.transaction()` call: a per-transaction `warn` override must
 * carry a reason. Checked before anything is sent; a database-wide `crossShard: 'warn'` is a
 * configuration decision and is not affected.
 *
 * @throws ReasonRequiredError naming the call site and how to fix it.
 */
export function assertWarnOverrideHasReason(options: Readonly<Record<string, unknown>>, strict: boolean, origin: CallSite): void {
  if (strict && options.crossShard === 'warn' && options.reason === undefined) throw new ReasonRequiredError(origin.location)
}
