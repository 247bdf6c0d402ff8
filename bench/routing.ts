/**
 * bench/routing: what routing a statement costs, against two baselines measured in the same run:
 * knex compiling the same statement to SQL (which every routed statement also pays), and, with
 * `--baseline`, the router of an older commit (which read only the main table).
 *
 *   git archive <commit> src | tar -x -C /tmp/shardtx-before
 *   npx tsx bench/routing.ts [--time 500] [--baseline /tmp/shardtx-before/src/routing/statement-router.ts]
 *
 * No database: routing happens before anything is sent. Raw fragments are parsed once and then
 * served from a bounded cache, as in a running service.
 */
import { parseArgs } from 'node:util'
import knexFactory, { type Knex } from 'knex'
import { Bench } from 'tinybench'
import { createShardMap } from '../src/routing/shard-map.js'
import { StatementRouter } from '../src/routing/statement-router.js'

const { values } = parseArgs({ options: { time: { type: 'string', default: '500' }, baseline: { type: 'string' } } })
const knex = knexFactory({ client: 'mysql2' })
const map = createShardMap(['-80', '80-'], 'hash')
const router = new StatementRouter(
  {
    customers: { shardKey: 'id' },
    orders: { shardKey: 'customer_id', colocatedWith: 'customers' },
    accounts: { shardKey: 'id' },
    countries: { reference: true },
  },
  map,
)
type Router = { route(b: unknown): unknown }
// The older router knows only sharded and pinned tables, and does not read joined tables' placement.
const before: Router | undefined =
  values.baseline === undefined
    ? undefined
    : new ((await import(values.baseline)) as { StatementRouter: new (t: object, m: unknown) => Router }).StatementRouter(
        { customers: { shardKey: 'id' }, orders: { shardKey: 'customer_id' }, accounts: { shardKey: 'id' }, countries: { shard: '-80' } },
        map,
      )

const SHAPES: Record<string, () => Knex.QueryBuilder> = {
  'update by key': () => knex('accounts').where({ id: 42 }).update({ balance: 1 }),
  'co-located join': () =>
    knex('orders').join('customers', 'customers.id', 'orders.customer_id').where('orders.customer_id', 42).select('orders.id', 'customers.name'),
  'reference join + IN subquery': () =>
    knex('customers')
      .join('countries', 'countries.code', 'customers.country')
      .where('customers.id', 42)
      .whereIn('customers.id', knex('orders').select('customer_id').where('total', '>', 10))
      .select('customers.id', 'countries.name'),
  'whereRaw (cached parse)': () => knex('accounts').where({ id: 42 }).whereRaw('balance > ?', [5]).select(),
}

const bench = new Bench({ time: Number(values.time) })
for (const [name, build] of Object.entries(SHAPES)) {
  bench.add(`${name}: compile`, () => {
    build().toSQL()
  })
  bench.add(`${name}: route + compile`, () => {
    const b = build()
    router.route(b)
    b.toSQL()
  })
  if (before) {
    bench.add(`${name}: baseline route + compile`, () => {
      const b = build()
      before.route(b)
      b.toSQL()
    })
  }
}
await bench.run()
const mean = (name: string) => (bench.tasks.find((t) => t.name === name)!.result as unknown as { latency: { mean: number } }).latency.mean
console.log(`| shape | compile µs | route + compile µs | / compile |${before ? ' baseline route + compile µs | / baseline |' : ''}`)
console.log(`|---|---|---|---|${before ? '---|---|' : ''}`)
for (const name of Object.keys(SHAPES)) {
  const base = mean(`${name}: compile`) * 1000
  const routed = mean(`${name}: route + compile`) * 1000
  const old = before ? mean(`${name}: baseline route + compile`) * 1000 : undefined
  const tail = old === undefined ? '' : ` ${old.toFixed(1)} | ${(routed / old).toFixed(2)} |`
  console.log(`| ${name} | ${base.toFixed(1)} | ${routed.toFixed(1)} | ${(routed / base).toFixed(2)} |${tail}`)
}
await knex.destroy()
