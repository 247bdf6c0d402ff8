/**
 * Reusable work arrays for {@link stronglyConnectedComponents}, sized for node ids below
 * `size`. Reusing one across calls makes a call cost O(nodes reached), not O(size): a node
 * counts as unvisited unless its stamp equals the current call's.
 */
export interface SccScratch {
  stamp: Uint32Array
  index: Int32Array
  low: Int32Array
  onStack: Uint8Array
  call: number
}

export function createSccScratch(size: number): SccScratch {
  return { stamp: new Uint32Array(size), index: new Int32Array(size), low: new Int32Array(size), onStack: new Uint8Array(size), call: 0 }
}

/**
 * Tarjan's strongly connected components, iterative: an explicit stack of (node, next successor)
 * frames instead of recursion, so a chain of 10,000 (or 200,000) transactions cannot overflow the
 * call stack.
 *
 * Only nodes for which `isActive(node)` is true exist; edges to other nodes are ignored.
 * Components come in Tarjan order (a component is emitted after every component reachable from
 * it); the order inside a component is deterministic for a given graph and roots, not sorted.
 * Time is linear in the active nodes and edges reached from `roots`.
 *
 * @example
 * ```ts
 * // 0 -> 1 -> 2 -> 1, 2 -> 3
 * stronglyConnectedComponents([[1], [2], [1, 3], []], [0, 1, 2, 3], () => true)
 * // [[3], [2, 1], [0]]
 * ```
 */
export function stronglyConnectedComponents(
  successors: readonly (readonly number[])[],
  roots: readonly number[],
  isActive: (node: number) => boolean,
  scratch: SccScratch = createSccScratch(successors.length),
): number[][] {
  const { stamp, index, low, onStack } = scratch
  const call = ++scratch.call
  const stack: number[] = []
  const components: number[][] = []
  const frameNode: number[] = []
  const frameNext: number[] = []
  let counter = 0

  const open = (node: number): void => {
    stamp[node] = call
    index[node] = low[node] = counter++
    stack.push(node)
    onStack[node] = 1
    frameNode.push(node)
    frameNext.push(0)
  }

  for (const root of roots) {
    if (!isActive(root) || stamp[root] === call) continue
    open(root)
    while (frameNode.length > 0) {
      const top = frameNode.length - 1
      const v = frameNode[top]!
      const next = successors[v] ?? []
      const i = frameNext[top]!
      if (i < next.length) {
        frameNext[top] = i + 1
        const w = next[i]!
        if (!isActive(w)) continue
        if (stamp[w] !== call) open(w)
        else if (onStack[w] === 1 && index[w]! < low[v]!) low[v] = index[w]!
        continue
      }
      frameNode.pop()
      frameNext.pop()
      if (frameNode.length > 0) {
        const parent = frameNode[frameNode.length - 1]!
        if (low[v]! < low[parent]!) low[parent] = low[v]!
      }
      if (low[v] === index[v]) {
        const component: number[] = []
        let w: number
        do {
          w = stack.pop()!
          onStack[w] = 0
          component.push(w)
        } while (w !== v)
        components.push(component)
      }
    }
  }
  return components
}
