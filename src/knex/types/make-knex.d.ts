// knex ships no types for its internal constructor; src/knex/make-knex.ts checks what it returns.
declare module 'knex/lib/knex-builder/make-knex.js' {
  const makeKnex: (client: unknown) => unknown
  export default makeKnex
}
