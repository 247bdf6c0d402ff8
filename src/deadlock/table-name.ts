/**
 * Turns a table name as the lock views print it into the bare table name.
 *
 * MariaDB's `INNODB_LOCKS.lock_table` quotes schema and table with backticks, doubles a backtick
 * inside a name, and appends a comment for partitions (measured on 10.11:
 * `` `shop`.`orders` /* Partition `p1` *\/ ``). MySQL 8's `data_locks.OBJECT_NAME` is already bare.
 * Anything unquoted is split on the last `.` or `/` (the old `db/table` form).
 *
 * @example
 * ```ts
 * normalizeTableName('`shop`.`orders`')                     // 'orders'
 * normalizeTableName('`shop`.`we``ird` /* Partition `p1` *\/') // 'we`ird'
 * normalizeTableName('orders')                             // 'orders'
 * ```
 */
export function normalizeTableName(raw: string): string {
  const text = raw.trim()
  if (!text.startsWith('`')) {
    const bare = text.replace(/\s*\/\*.*$/s, '')
    return bare.slice(Math.max(bare.lastIndexOf('.'), bare.lastIndexOf('/')) + 1)
  }
  const parts: string[] = []
  let i = 0
  while (i < text.length && text[i] === '`') {
    let name = ''
    i++
    for (; i < text.length; i++) {
      if (text[i] === '`') {
        if (text[i + 1] === '`') {
          name += '`'
          i++
          continue
        }
        break
      }
      name += text[i]
    }
    parts.push(name)
    i++ // closing backtick
    if (text[i] !== '.') break
    i++
  }
  return parts[parts.length - 1] ?? text
}
