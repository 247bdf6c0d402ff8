/**
 * Renders values for error messages: type plus a value cut to 40 characters, so a huge or
 * sensitive key never lands whole in a log. Imports nothing, so config and routing can share it
 * without import cycles.
 */
const MAX_SHOWN = 40

/**
 * Renders a configuration or key value for an error message: its type, and its value cut to
 * 40 characters. Shared by the routing modules. Keys are often customer identifiers, so nothing
 * long is ever copied into a message (which ends up in logs) verbatim.
 *
 * @example
 * ```ts
 * describeValue(1.5)        // 'number 1.5'
 * describeValue('x'.repeat(100)) // "string 'xxxx…' (100 characters)"
 * describeValue(new Date()) // 'object (Date)'
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `string ${quoteName(value)}`
    case 'number':
      return `number ${String(value)}`
    case 'bigint': {
      const text = value.toString()
      return `bigint ${text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} digits)` : text}`
    }
    case 'boolean':
      return `boolean ${String(value)}`
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) return `array (length ${value.length})`
      const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name
      return typeof ctor === 'string' && ctor !== 'Object' ? `object (${ctor})` : 'object'
    }
    default:
      return typeof value
  }
}

/**
 * Quotes a name for an error message, cutting it to 40 characters.
 *
 * @example
 * ```ts
 * quoteName('-80') // "'-80'"
 * ```
 */
export function quoteName(name: string): string {
  return name.length > MAX_SHOWN ? `'${name.slice(0, MAX_SHOWN)}…' (${name.length} characters)` : `'${name}'`
}
