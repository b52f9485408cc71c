import { NasError, formatAllowed } from '@nasjs/core'
import { NB201_EDGES, NB201_OPS, type Nb201Arch } from '@nasjs/search-space'

/**
 * An architecture as a graph for HELP's graph-convolutional meta-learner: node features (one row of
 * `features` values per node) and the aggregation matrix `adjacency`, where row `i` marks the nodes
 * whose features node `i` sums (its predecessors, itself, and for the last node, every node).
 * @since 0.1.0
 * @category latency predictors
 */
export interface HelpGraph {
  /** Number of nodes; the last one is the global node the prediction reads. */
  readonly nodes: number
  /** Feature values per node. */
  readonly features: number
  /** `nodes × features`, row-major. */
  readonly x: Float32Array
  /** `nodes × nodes`, row-major: `adjacency[i * nodes + j] = 1` when node `i` aggregates node `j`. */
  readonly adjacency: Float32Array
}

/**
 * The node types of an NB201 cell as an operation-on-node graph: the input, the five operations in
 * alphabetical order, the output; the global node has a feature of its own. HELP does not publish
 * its encoded architectures; of the 5,040 orders of these seven columns, this one is among the few
 * under which HELP's published weights rank latencies best (Spearman 0.94 unadapted, over four
 * devices), and the only natural one among them.
 * @since 0.1.0
 * @category latency predictors
 */
export const HELP_NB201_NODE_TYPES: readonly string[] = [
  'input',
  'avg_pool_3x3',
  'nor_conv_1x1',
  'nor_conv_3x3',
  'none',
  'skip_connect',
  'output',
]

/**
 * An NB201 cell as HELP's meta-learner reads it (the MetaD2A encoding): one node for the input, one
 * per edge carrying its operation (`none` included), one for the output, and a global node that
 * every node feeds; features are the one-hot node type plus a global-node flag (8 values). Node
 * `k + 1` is the edge `k` of the arch_str order; an operation on edge `a -> b` feeds the operations
 * on the edges leaving `b` (or the output when `b = 3`).
 *
 * @example
 * ```ts
 * const g = nb201HelpGraph(parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'))
 * g.nodes // 9
 * ```
 * @since 0.1.0
 * @category latency predictors
 */
export function nb201HelpGraph(arch: Nb201Arch): HelpGraph {
  if (!Array.isArray(arch) || arch.length !== NB201_EDGES.length) {
    throw new NasError({
      code: 'ARCH_INVALID',
      message: `an NB201 cell has ${NB201_EDGES.length} edge operations; got ${JSON.stringify(arch)}`,
      value: arch,
    })
  }
  const types = HELP_NB201_NODE_TYPES.length // 7
  const features = types + 1
  const n = NB201_EDGES.length + 3 // input, 6 operations, output, global
  const input = 0
  const output = NB201_EDGES.length + 1
  const global = n - 1
  const x = new Float32Array(n * features)
  const adjacency = new Float32Array(n * n)
  const node = (i: number, type: number) => {
    x[i * features + type] = 1
  }
  node(input, 0)
  node(output, types - 1)
  x[global * features + types] = 1
  arch.forEach((op, k) => {
    const t = HELP_NB201_NODE_TYPES.indexOf(op)
    if (t <= 0 || t === types - 1) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `unknown NB201 operation '${String(op)}'; expected ${formatAllowed(NB201_OPS)}`,
        value: op,
        allowed: NB201_OPS,
      })
    }
    node(k + 1, t)
  })
  const link = (from: number, to: number) => {
    adjacency[to * n + from] = 1
  }
  NB201_EDGES.forEach(([a, b], k) => {
    if (a === 0) link(input, k + 1)
    NB201_EDGES.forEach(([c], m) => {
      if (c === b) link(k + 1, m + 1)
    })
    if (b === 3) link(k + 1, output)
  })
  for (let i = 0; i < n; i++) {
    adjacency[i * n + i] = 1
    adjacency[global * n + i] = 1
  }
  return { nodes: n, features, x, adjacency }
}
