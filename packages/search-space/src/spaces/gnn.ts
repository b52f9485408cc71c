import { formatAllowed } from '@nasjs/core'
import { choice, ordinal, product, struct } from '../dsl/constructors.js'
import { defineSpaceAs, type DslSpace } from '../dsl/define.js'
import { archError, show } from '../internal.js'

/** Auto-GNN attention (neighbour weighting) functions. @since 0.1.0 */
export const GNN_ATTENTIONS = ['const', 'gcn', 'gat', 'sym-gat', 'cos', 'linear', 'gene-linear'] as const
/** Neighbour aggregators. @since 0.1.0 */
export const GNN_AGGREGATORS = ['sum', 'mean', 'max', 'mlp'] as const
/** Activation functions. @since 0.1.0 */
export const GNN_ACTIVATIONS = [
  'sigmoid',
  'tanh',
  'relu',
  'linear',
  'softplus',
  'leaky_relu',
  'relu6',
  'elu',
] as const
/** Attention heads. @since 0.1.0 */
export const GNN_HEADS = [1, 2, 4, 6, 8, 16] as const
/** Hidden sizes. @since 0.1.0 */
export const GNN_HIDDEN = [4, 8, 16, 32, 64, 128, 256] as const

/** One message-passing layer. @since 0.1.0 */
export interface GnnLayer {
  attention: (typeof GNN_ATTENTIONS)[number]
  aggregator: (typeof GNN_AGGREGATORS)[number]
  activation: (typeof GNN_ACTIVATIONS)[number]
  heads: number
  hidden: number
}
/** A 2-layer GNN. @since 0.1.0 */
export type GnnArch = [GnnLayer, GnnLayer]

const gnnLayer = struct({
  attention: choice(GNN_ATTENTIONS),
  aggregator: choice(GNN_AGGREGATORS),
  activation: choice(GNN_ACTIVATIONS),
  heads: ordinal(GNN_HEADS),
  hidden: ordinal(GNN_HIDDEN),
})

const FIELDS = ['attention', 'aggregator', 'activation', 'heads', 'hidden'] as const
const ALLOWED: Record<(typeof FIELDS)[number], readonly (string | number)[]> = {
  attention: GNN_ATTENTIONS,
  aggregator: GNN_AGGREGATORS,
  activation: GNN_ACTIVATIONS,
  heads: GNN_HEADS,
  hidden: GNN_HIDDEN,
}

/**
 * The flat list form used by GraphNAS / Auto-GNN: per layer attention, aggregator, activation, heads,
 * hidden size, e.g. `[gat, sum, relu, 8, 64, gcn, mean, elu, 1, 16]`.
 * @since 0.1.0
 */
export function formatGnn(a: GnnArch): string {
  return `[${a.flatMap((l) => FIELDS.map((f) => String(l[f]))).join(', ')}]`
}

/** Parses {@link formatGnn}'s list form. @since 0.1.0 */
export function parseGnn(text: string): GnnArch {
  const items = String(text)
    .trim()
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((s) => s.trim().replace(/^['"]|['"]$/g, ''))
  if (items.length !== 10)
    throw archError(`a GNN arch list has 10 entries (2 layers x 5), got ${items.length}`, text, [10])
  const layers = [0, 1].map((l) => {
    const out: Record<string, string | number> = {}
    FIELDS.forEach((f, j) => {
      const raw = items[l * 5 + j]!
      const allowed = ALLOWED[f]
      const v = typeof allowed[0] === 'number' ? Number(raw) : raw
      if (!allowed.includes(v)) {
        throw archError(
          `GNN layer ${l} ${f} is ${show(raw)}; expected ${formatAllowed(allowed)}`,
          raw,
          allowed,
          [l, f],
        )
      }
      out[f] = v
    })
    return out as unknown as GnnLayer
  })
  return layers as GnnArch
}

/**
 * The Auto-GNN layer space (Zhou et al., 2019): 2 message-passing layers, each with its attention
 * function, aggregator, activation, heads and hidden size; 9,408^2 (about 8.9 x 10^7) architectures.
 * @since 0.1.0
 * @category models
 */
export const gnn: DslSpace<GnnArch> = defineSpaceAs<GnnArch>('gnn', product(gnnLayer, gnnLayer), {
  title: 'Auto-GNN layers (2 layers)',
  format: formatGnn,
  parse: parseGnn,
})
