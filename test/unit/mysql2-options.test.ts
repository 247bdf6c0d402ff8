import { describe, expect, it } from 'vitest'
import { MAX_PREPARED_STATEMENTS, mysql2Options } from '../../src/config/mysql2-options.js'

const settings = { host: 'db1', port: 3307, user: 'app', password: 'pw', database: 'app_s0' }

describe('mysql2Options', () => {
  it('copies where and as whom to connect, and caps the prepared-statement cache', () => {
    expect(mysql2Options(settings)).toEqual({ ...settings, maxPreparedStatements: MAX_PREPARED_STATEMENTS })
    // mysql2 treats 0 as "use the default of 16,000": the cap must be a small positive number.
    expect(MAX_PREPARED_STATEMENTS).toBeGreaterThan(0)
    expect(MAX_PREPARED_STATEMENTS).toBeLessThan(1000)
  })

  it('leaves the database out when asked, and passes socketPath only when set', () => {
    const options = mysql2Options({ ...settings, socketPath: '/run/mysqld/mysqld.sock' }, { database: false })
    expect(options).not.toHaveProperty('database')
    expect(options.socketPath).toBe('/run/mysqld/mysqld.sock')
    expect(mysql2Options(settings)).not.toHaveProperty('socketPath')
  })
})
