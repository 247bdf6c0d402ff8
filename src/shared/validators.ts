import { describeValue } from './describe-value.js'

export { describeValue }
/**
 * Small checks that throw p-queue-style TypeErrors: the option's path, the value received
 * (type and, for non-secrets, value) and what was expected.
 */

export function fail(option: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`)
}

export function expectPlainObject(option: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(option, 'an object', value)
  return value as Record<string, unknown>
}

/** An integer in [min, max]; `undefined` yields the default. Accepts any safe integer the range allows. */
export function expectInteger(option: string, value: unknown, defaultValue: number, range: { min: number; max?: number }): number {
  if (value === undefined) return defaultValue
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < range.min || value > max) {
    fail(option, `an integer from ${range.min} to ${max === Number.MAX_SAFE_INTEGER ? 'Number.MAX_SAFE_INTEGER' : max}`, value)
  }
  return value
}

export function expectBoolean(option: string, value: unknown, defaultValue: boolean): boolean {
  if (value === undefined) return defaultValue
  if (typeof value !== 'boolean') fail(option, 'a boolean', value)
  return value
}

export function expectOneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], defaultValue: T): T {
  if (value === undefined) return defaultValue
  if (typeof value !== 'string' || !allowed.includes(value as T)) fail(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value)
  return value as T
}

/** Refuses keys the caller did not expect, so a typo (`maxAtempts`) is an error instead of a silent default. */
export function expectKnownKeys(option: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option \`${option}.${key}\`. Known options of \`${option}\`: ${known.join(', ')}`)
    }
  }
}
