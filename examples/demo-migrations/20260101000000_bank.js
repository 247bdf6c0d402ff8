// The demo's schema, as a knex migration: `db.migrate.latest()` runs it on every shard.
// `countries` is pinned to shard -80; creating it on every shard is harmless and keeps one schema.

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('accounts', (t) => {
    t.bigInteger('id').primary()
    t.string('owner', 64).notNullable()
    t.bigInteger('balance').notNullable()
  })
  await knex.schema.createTable('ledger', (t) => {
    t.string('transfer_id', 64).notNullable()
    t.bigInteger('account_id').notNullable()
    t.bigInteger('amount').notNullable()
    t.primary(['transfer_id', 'account_id'])
  })
  await knex.schema.createTable('notifications', (t) => {
    t.bigInteger('user_id').notNullable()
    t.string('message', 200).notNullable()
    t.primary(['user_id', 'message'])
  })
  await knex.schema.createTable('countries', (t) => {
    t.string('code', 2).primary()
    t.string('name', 100).notNullable()
  })
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTable('countries')
  await knex.schema.dropTable('notifications')
  await knex.schema.dropTable('ledger')
  await knex.schema.dropTable('accounts')
}
