import type * as tfl from '@tensorflow/tfjs-layers'

/**
 * One block of a network for a latency table, in its place: what the key names (the part and its
 * context: input size, channels, kernel, stride, ...), the input it sees, how many times the network
 * runs it, and how to build it on a tensor for measuring it alone.
 * @since 0.1.0
 * @category hardware
 */
export interface LatencyBlockSpec {
  readonly key: string
  readonly inputShape: readonly [number, number, number]
  /** How many times the network runs it. */
  readonly count: number
  /** Builds the block on `x` (initialisers seeded from `seed`). */
  apply(x: tfl.SymbolicTensor, seed: number): tfl.SymbolicTensor
  /**
   * Other blocks that `apply` builds too, to be subtracted from its measurement (a sum of k terms is
   * measured on k − 1 identities of its input).
   */
  readonly contains?: readonly { readonly key: string; readonly count: number }[]
}
