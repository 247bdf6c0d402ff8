/**
 * Property-based tests over malformed configurations: every malformed option (wrong type, NaN,
 * infinities, fractions, out of range, unknown keys, bad shard connections, bad tables, bad
 * loggers), alone or several at once, is refused by createShardedDb with a TypeError that names
 * one of the broken options. And every configuration it accepts works at first use: shardOf
 * answers, and a transaction either runs or fails with a clear shardtx error (here the shards are
 * a closed port: ShardUnavailableError), never with a crash deep inside.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createShardedDb, keyrangeNames, ShardtxError, type ShardedDb, type ShardedDbOptions } from '../../src/index.js'

const MAX_DELAY = 2 ** 31 - 1

/** A closed port: connects are refused at once, so first use fails fast and clearly. */
const CLOSED = 'mysql://app:pw@127.0.0.1:1'

function baseOptions(): Record<string, any> {
  return {
    shards: { '-80': `${CLOSED}/s0`, '80-': { host: '127.0.0.1', port: 1, user: 'app', password: 'pw', database: 's1' } },
    tables: { accounts: { shardKey: 'id' }, countries: { shard: '-80' } },
  }
}

/** Sets `path` (dotted) to `value`, creating plain objects on the way. */
function setPath(target: Record<string, any>, path: string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object' || Array.isArray(node[key])) node[key] = {}
    node = node[key]
  }
  node[path.at(-1)!] = value
}

/** Values that are not integers at all (undefined excluded: it means "use the default"). */
const notAnInteger = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 0.5, -0.5, 1e-300, 2 ** 53 + 2, 1e300, -1e300),
  fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.string(),
  fc.boolean(),
  fc.constantFrom(null, [], {}, [1], () => 1, Symbol('x'), new Date(0)),
  fc.bigInt(),
)

/** A malformed integer option: outside [min, max] or not an integer. */
const badInteger = (min: number, max: number) =>
  fc.oneof(
    notAnInteger,
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: min - 1 }),
    ...(max < Number.MAX_SAFE_INTEGER ? [fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER })] : []),
  )

const notAPlainObject = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom(null, [], [{}], () => ({})),
)

/** One mistake: the option it breaks (as error messages spell it) and how. */
interface Mistake {
  option: string
  apply(options: Record<string, any>): void
}

const integerOptions: [string, number, number][] = [
  ['retry.maxAttempts', 1, Number.MAX_SAFE_INTEGER],
  ['retry.baseDelayMs', 0, MAX_DELAY],
  ['retry.maxDelayMs', 0, MAX_DELAY],
  ['warnings.intervalMs', 0, MAX_DELAY],
  ['pool.max', 1, 1000],
  ['connectTimeoutMs', 10, MAX_DELAY],
  ['acquireTimeoutMs', 1, MAX_DELAY],
  ['statementTimeoutMs', 1, MAX_DELAY],
  ['health.probeIntervalMs', 10, MAX_DELAY],
]

const identifier = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/)

const mistake: fc.Arbitrary<Mistake> = fc.oneof(
  // Integer options: wrong type, NaN, infinities, fractions, out of range.
  ...integerOptions.map(([option, min, max]) => badInteger(min, max).map((value): Mistake => ({ option, apply: (o) => setPath(o, option.split('.'), value) }))),
  fc.integer({ min: 11, max: 1000 }).map((min): Mistake => ({ option: 'pool.min', apply: (o) => setPath(o, ['pool'], { min, max: 10 }) })),
  // Booleans, enums, functions.
  fc
    .oneof(fc.string(), fc.integer(), fc.constantFrom(null, {}, []))
    .map((v): Mistake => ({ option: 'warnings.logKeyValues', apply: (o) => setPath(o, ['warnings', 'logKeyValues'], v) })),
  fc
    .oneof(
      fc.string().filter((s) => !['reject', 'warn', 'ordered', 'split'].includes(s)),
      fc.integer(),
      fc.constantFrom(null, {}, true),
    )
    .map((v): Mistake => ({ option: 'crossShard', apply: (o) => (o.crossShard = v) })),
  fc
    .oneof(
      fc.string().filter((s) => s !== 'hash' && s !== 'xxhash'),
      fc.integer(),
      fc.constantFrom(null, {}, []),
    )
    .map((v): Mistake => ({ option: 'router', apply: (o) => (o.router = v) })),
  fc.oneof(
    fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v): Mistake => ({ option: 'logger', apply: (o) => (o.logger = v) })),
    fc.constantFrom('error', 'warn', 'info', 'debug').map((level): Mistake => ({
      option: `logger.${level}`,
      apply: (o) => {
        const logger: Record<string, unknown> = { error() {}, warn() {}, info() {}, debug() {} }
        logger[level] = 'not a function'
        o.logger = logger
      },
    })),
  ),
  // Sections that must be plain objects.
  fc
    .tuple(fc.constantFrom('shards', 'tables', 'retry', 'warnings', 'pool', 'health'), notAPlainObject)
    .map(([option, v]): Mistake => ({ option, apply: (o) => (o[option] = v) })),
  // Unknown keys anywhere (typos must not silently fall back to defaults).
  fc
    .tuple(fc.constantFrom('', 'retry', 'warnings', 'pool', 'health'), identifier)
    .filter(([, key]) => !KNOWN_KEYS.has(key))
    .map(([section, key]): Mistake => ({
      option: section === '' ? `options.${key}` : `${section}.${key}`,
      apply: (o) => setPath(o, section === '' ? [key] : [section, key], 1),
    })),
  // Shard connections.
  fc
    .oneof(
      fc.constantFrom(
        'not a url',
        'http://h/db',
        'postgres://u:p@h/db',
        'mysql://h:99999/db',
        'mysql://h:3306',
        'mysql://h/db?ssl=1',
        'mysql://h/a/b',
        'mysql://%zz@h/db',
      ),
      fc.oneof(fc.integer(), fc.constantFrom(null, [], true)),
      fc.record({ database: fc.constantFrom('', 'a/b', 7, null) }),
      fc.record({ database: fc.constant('d'), port: fc.oneof(fc.constantFrom(0, 65536, 3306.5, '3306', -1), fc.integer({ min: 65536 })) }),
      fc.record({ database: fc.constant('d'), host: fc.constantFrom('', 7, null) }),
      fc.record({ database: fc.constant('d'), password: fc.constantFrom(7, null, {}) }),
      fc.record({ database: fc.constant('d'), sslmode: fc.constant('on') }),
    )
    .map((v): Mistake => ({ option: 'shards.80-', apply: (o) => setPath(o, ['shards', '80-'], v) })),
  fc.constantFrom<Mistake>(
    { option: 'shards', apply: (o) => (o.shards = {}) },
    { option: 'shards', apply: (o) => (o.shards = { '-80': `${CLOSED}/a`, '40-': `${CLOSED}/b` }) },
    { option: 'shards', apply: (o) => (o.shards = { '-40': `${CLOSED}/a`, '80-': `${CLOSED}/b` }) },
    { option: 'shards', apply: (o) => (o.shards = { a: `${CLOSED}/a`, b: `${CLOSED}/b` }) },
  ),
  // Tables.
  fc
    .oneof(
      notAPlainObject,
      fc.constant({}),
      fc.constant({ shardKey: 'id', shard: '-80' }),
      fc.record({
        shardKey: fc.oneof(
          fc.string().filter((s) => !/^[\w$]+$/.test(s)),
          fc.integer(),
          fc.constant(null),
        ),
      }),
      fc.record({
        shard: fc.oneof(
          fc.string().filter((s) => s !== '-80' && s !== '80-'),
          fc.integer(),
        ),
      }),
      fc.record({ shardKey: fc.constant('id'), extra: fc.constant(1) }),
    )
    .map((v): Mistake => ({ option: 'tables.orders', apply: (o) => setPath(o, ['tables', 'orders'], v) })),
)

const KNOWN_KEYS = new Set([
  'shards',
  'tables',
  'router',
  'crossShard',
  'retry',
  'warnings',
  'logger',
  'pool',
  'connectTimeoutMs',
  'acquireTimeoutMs',
  'statementTimeoutMs',
  'health',
  'maxAttempts',
  'baseDelayMs',
  'maxDelayMs',
  'intervalMs',
  'logKeyValues',
  'min',
  'max',
  'probeIntervalMs',
  // options of other features; valid or not, they are those features' to validate
  'strict',
  'footprint',
  'split',
  'deadlock',
  'ordered',
  'lock',
])

function thrown(fn: () => unknown): unknown {
  try {
    const db = fn() as ShardedDb | undefined
    void db?.destroy()
    return undefined
  } catch (err) {
    return err
  }
}

describe('malformed configurations are refused with a TypeError naming the option', () => {
  it('one mistake: TypeError naming that option', () => {
    fc.assert(
      fc.property(mistake, (m) => {
        const options = baseOptions()
        m.apply(options)
        const err = thrown(() => createShardedDb(options as ShardedDbOptions))
        expect(err, m.option).toBeInstanceOf(TypeError)
        expect((err as Error).message, m.option).toContain(`\`${m.option}`)
      }),
      { numRuns: 1000 },
    )
  })

  it('several mistakes at once: TypeError naming one of them', () => {
    fc.assert(
      fc.property(fc.array(mistake, { minLength: 2, maxLength: 4 }), (mistakes) => {
        const options = baseOptions()
        for (const m of mistakes) m.apply(options)
        const err = thrown(() => createShardedDb(options as ShardedDbOptions))
        expect(err).toBeInstanceOf(TypeError)
        const message = (err as Error).message
        expect(
          mistakes.some((m) => message.includes(`\`${m.option}`)),
          `${mistakes.map((m) => m.option)}: ${message}`,
        ).toBe(true)
      }),
      { numRuns: 500 },
    )
  })
})

describe('accepted configurations work at first use', () => {
  const created: ShardedDb[] = []
  afterAll(async () => {
    await Promise.all(created.map((db) => db.destroy()))
  })

  /** Valid values of every option, any combination. */
  const validConfig = fc.record(
    {
      shardCount: fc.constantFrom(1, 2, 4, 8, 16),
      router: fc.constantFrom<'hash' | 'xxhash' | 'custom'>('hash', 'xxhash', 'custom'),
      crossShard: fc.constantFrom('reject', 'warn'),
      retry: fc.record(
        {
          maxAttempts: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          baseDelayMs: fc.integer({ min: 0, max: MAX_DELAY }),
          maxDelayMs: fc.integer({ min: 0, max: MAX_DELAY }),
        },
        { requiredKeys: [] },
      ),
      warnings: fc.record({ intervalMs: fc.integer({ min: 0, max: MAX_DELAY }), logKeyValues: fc.boolean() }, { requiredKeys: [] }),
      pool: fc.integer({ min: 1, max: 1000 }).chain((max) => fc.record({ max: fc.constant(max), min: fc.integer({ min: 0, max: Math.min(max, 2) }) })),
      connectTimeoutMs: fc.integer({ min: 10, max: MAX_DELAY }),
      acquireTimeoutMs: fc.integer({ min: 1, max: MAX_DELAY }),
      statementTimeoutMs: fc.integer({ min: 1, max: MAX_DELAY }),
      health: fc.record({ probeIntervalMs: fc.integer({ min: 10, max: MAX_DELAY }) }, { requiredKeys: [] }),
    },
    { requiredKeys: ['shardCount', 'router'] },
  )

  it('shardOf answers a configured shard and a transaction fails clearly (shards unreachable), never crashes', async () => {
    await fc.assert(
      fc.asyncProperty(validConfig, fc.oneof(fc.integer(), fc.string({ minLength: 1 })), async ({ shardCount, router, ...rest }, key) => {
        const names = shardCount === 1 || router === 'custom' ? [...keyrangeNames(shardCount)] : keyrangeNames(shardCount)
        const shards = Object.fromEntries(names.map((n, i) => [n, `${CLOSED}/s${i}`]))
        const routerOption = router === 'custom' ? (_t: string, k: unknown) => names[String(k).length % names.length]! : router
        const db = createShardedDb({ ...rest, shards, tables: { accounts: { shardKey: 'id' } }, router: routerOption } as ShardedDbOptions)
        created.push(db)
        const shardKey = router === 'hash' ? (typeof key === 'number' ? key : key.length) : key
        expect(names).toContain(db.shardOf('accounts', shardKey))
        const outcome = await db
          .transaction((tx) => tx('accounts').where({ id: shardKey }).first())
          .then(
            () => 'ran',
            (err: unknown) => err,
          )
        expect(outcome).toBeInstanceOf(ShardtxError)
        expect((outcome as ShardtxError).code).toBe('SHARDTX_SHARD_UNAVAILABLE')
        expect(db.health()[db.shardOf('accounts', shardKey)]).toBeDefined()
      }),
      { numRuns: 60 },
    )
  })
})
