/**
 * What `await tx(...).update(...)` resolves to under `split`.
 *
 * The real result (affected rows, insert ids) does not exist yet: the write only runs after the
 * callback returns. Any number we returned would be a silently wrong value (`0`, `1`, `undefined`
 * all look like answers), so the awaited value is a frozen placeholder that throws a
 * {@link SplitWriteResultError} the moment code looks at it: arithmetic and comparisons
 * (`n > 0`, `n + 1`, via valueOf/toString/Symbol.toPrimitive), destructuring (`const [id] =`),
 * property reads (`rows.length`, `result.affectedRows`), `JSON.stringify`, `in`, `Object.keys`.
 * Inside the callback the error also dooms the transaction, so a callback that catches it still
 * applies nothing.
 *
 * JavaScript offers no hook for `===`, `!==`, truthiness (`if (n)`, `!n`) or `typeof`, so those
 * cannot throw; docs/split.md says so plainly and points such callbacks to `ordered`.
 *
 * Two properties must stay silent for the language itself: `then` (promise resolution checks it;
 * answering undefined keeps the placeholder an ordinary value), and Node's inspect hook, so a
 * debugger or `console.log` shows what it is instead of crashing.
 */
import { inspect } from 'node:util'
import type { SplitWriteResultError } from './errors.js'

/**
 * The target behind the proxy. Node's `util.inspect` may call the inspect hook with the proxy or
 * the target as `this`, so the hook is a closure that needs neither.
 */
class SplitWriteResult {
  declare readonly [inspect.custom]: () => string
  constructor(what: string) {
    const text = `[SplitWriteResult of ${what}: not available under crossShard 'split'; see docs/split.md]`
    Object.defineProperty(this, inspect.custom, { value: () => text })
  }
}

/**
 * @param what e.g. "update on `accounts`", for the error message and inspection
 * @param onUse builds the error to throw on use (the policy also dooms a still-running transaction with it)
 */
export function splitWriteResult(what: string, onUse: () => SplitWriteResultError): object {
  const target = Object.freeze(new SplitWriteResult(what))
  const refuse = (): never => {
    throw onUse()
  }
  return new Proxy(target, {
    get(t, property) {
      if (property === 'then') return undefined
      if (property === inspect.custom) return t[inspect.custom]
      return refuse()
    },
    has: refuse,
    ownKeys: refuse,
    getOwnPropertyDescriptor: refuse,
    set: refuse,
    deleteProperty: refuse,
    defineProperty: refuse,
    getPrototypeOf: refuse,
    setPrototypeOf: refuse,
  })
}
