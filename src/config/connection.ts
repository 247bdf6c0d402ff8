import type { ShardConnection } from './options.js'
import { expectInteger, expectKnownKeys, expectPlainObject, fail } from '../shared/validators.js'

/** The mysql2 connection fields shardtx passes to knex for one shard. */
export interface ConnectionSettings {
  host: string
  port: number
  user: string
  password: string
  database: string
  socketPath?: string
}

/**
 * Parses `mysql://user:pass@host:port/database` or a connection object. Errors name the shard and
 * never echo a password.
 *
 * @example
 * ```ts
 * parseConnection('shards.-80', 'mysql://app:secret@127.0.0.1:3306/app_s0')
 * // { host: '127.0.0.1', port: 3306, user: 'app', password: 'secret', database: 'app_s0' }
 * ```
 */
export function parseConnection(option: string, value: ShardConnection | unknown): ConnectionSettings {
  if (typeof value === 'string') return parseUrl(option, value)
  const obj = expectPlainObject(option, value)
  expectKnownKeys(option, obj, ['host', 'port', 'user', 'password', 'database', 'socketPath'])
  const settings: ConnectionSettings = {
    host: optionalString(`${option}.host`, obj.host) ?? '127.0.0.1',
    port: expectInteger(`${option}.port`, obj.port, 3306, { min: 1, max: 65535 }),
    user: optionalString(`${option}.user`, obj.user) ?? 'root',
    password: typeof obj.password === 'string' ? obj.password : obj.password === undefined ? '' : fail(`${option}.password`, 'a string', typeof obj.password),
    database: requiredDatabase(option, obj.database),
  }
  const socketPath = optionalString(`${option}.socketPath`, obj.socketPath)
  if (socketPath !== undefined) settings.socketPath = socketPath
  return settings
}

function parseUrl(option: string, raw: string): ConnectionSettings {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    // Never quoted, not even redacted: a string that is not a URL has no reliable place where its
    // password ends (`//root:pw@h`, `mysql//root:pw@h`, a leading tab all defeat redaction).
    throw new TypeError(
      `Expected \`${option}\` to be a URL like mysql://user:password@host:3306/database, got a string of ${raw.length} characters ` +
        `that is not one (${urlProblem(raw)}). The value is not shown because it may hold a password.`,
    )
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    const scheme = KNOWN_SCHEMES.has(url.protocol) ? ` ${url.protocol}//` : ''
    throw new TypeError(
      `Expected \`${option}\` to use the mysql:// or mariadb:// scheme, got another scheme${scheme}; the value is not shown because it may hold a password.`,
    )
  }
  // A raw `?` or `#` inside a password also lands here (the rest of the URL then reads as
  // parameters or a fragment), so the text after them is never echoed unless it is a plain name.
  if ([...url.searchParams.keys()].length > 0) {
    const keys = [...url.searchParams.keys()]
    const shown = keys.every((k) => /^[\w.-]{1,40}$/.test(k)) ? ` (${keys.join(', ')})` : ''
    throw new TypeError(
      `\`${option}\` has URL parameters${shown}, which shardtx does not pass on; use the object form instead ` +
        `(or, if a ? is part of the password, write it as %3F).`,
    )
  }
  // `mysql://app:pa/ss@h/db` parses as host `app` with the database `ss@h/db`: a raw / in a
  // password silently turns it into the database name (which server errors then quote).
  if (url.pathname.includes('@')) {
    throw new TypeError(
      `\`${option}\` has an @ after the host, so part of it would be taken as the database name; if a / is part of the password, write it as %2F ` +
        `(and an @ in a database name as %40).`,
    )
  }
  if (url.hash !== '') {
    throw new TypeError(`\`${option}\` has a # fragment, which a connection URL cannot have; if a # is part of the password, write it as %23.`)
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeUrlPart(option, 'user', url.username) || 'root',
    password: decodeUrlPart(option, 'password', url.password),
    database: urlDatabase(option, decodeUrlPart(option, 'database', url.pathname.replace(/^\//, ''))),
  }
}

/** Schemes worth naming in an error (a user who pasted a JDBC or HTTP URL); any other is not shown. */
const KNOWN_SCHEMES = new Set(['http:', 'https:', 'jdbc:', 'mysqlx:', 'postgres:', 'postgresql:', 'mongodb:', 'redis:', 'file:'])

/** Why a string is not a URL, in words that quote none of it. */
function urlProblem(raw: string): string {
  if (raw.trim() === '') return 'it is empty'
  if (raw !== raw.trim()) return 'it has spaces or other whitespace at the start or end'
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return 'it does not start with mysql:// or mariadb://'
  const authority = raw.slice(raw.indexOf('//') + 2).split('/')[0]!
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(authority.slice(authority.lastIndexOf('@') + 1))?.[1]
  if (port !== undefined && port !== '' && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return 'the port is not a number from 1 to 65535'
  }
  return 'a character in it is not allowed there; in the user, password and database, write @ as %40, : as %3A, / as %2F, % as %25, and spaces as %20'
}

/** The database of a URL: as in the object form, but never quoted (a raw `/` in a password can land here). */
function urlDatabase(option: string, value: string): string {
  if (value === '' || value.includes('/')) {
    throw new TypeError(
      `Expected \`${option}.database\` (the path of the URL) to be a database name (each shard is a database: mysql://host:3306/app_s0), ` +
        `got ${value === '' ? 'none' : 'a path with more than one segment'}; if a / is part of the password, write it as %2F.`,
    )
  }
  return value
}

/** decodeURIComponent throws a bare URIError on a stray `%`; say which part, never echoing it (it may be a password). */
function decodeUrlPart(option: string, part: string, raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new TypeError(`Expected the ${part} in \`${option}\` to be percent-encoded (a literal % is %25, @ is %40), got an invalid % escape`)
  }
}

function requiredDatabase(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('/')) {
    fail(`${option}.database`, 'a database name (each shard is a database; in a URL, its path: mysql://host/app_s0)', value)
  }
  return value
}

function optionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') fail(option, 'a non-empty string', value)
  return value
}

/**
 * `mysql://app:secret@h/db` -> `mysql://app:***@h/db`. Used for anything that may reach a log or an error.
 * Everything up to the *last* `@` is hidden: a password may contain `@` itself (URL parsers end
 * the user info at the last one), and hiding a little too much is safe where too little is not.
 */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@')
}
