import { NasError, Rng } from '@nasjs/core'
import type { Batch, Dataset } from '@nasjs/models'
import { batches, crossEntropy, parseTrainConfig } from '@nasjs/models'
import type { Nb201Arch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { CELL_OPS, type CellSupernet, type EdgeMixing } from './cell-supernet.js'
import { clippedSgdStep } from './search.js'

/**
 * Options of {@link perturbationSelect}.
 * @since 0.2.0
 */
export interface PerturbationOptions {
  /** Seed of the edge order and of the tuning batches' order. */
  readonly seed?: number
  /** Weight steps on the training split after each edge is fixed (default: one pass over it). */
  readonly tuneSteps?: number
  /** Learning rate of that tuning (default 0.001, where the search's cosine ends). */
  readonly tuneLr?: number
  readonly batchSize?: number
  /** Images per forward pass when measuring accuracy (default 250). */
  readonly evalBatch?: number
  /** Called after each edge is decided. */
  readonly onEdge?: (e: PerturbationEdge) => void
  readonly signal?: AbortSignal
}

/**
 * One decision of {@link perturbationSelect}: the edge, the supernet's validation accuracy with
 * every operation in place and with each one removed, and the operation chosen.
 * @since 0.2.0
 */
export interface PerturbationEdge {
  readonly edge: number
  readonly base: number
  /** Accuracy with operation k removed, in {@link CELL_OPS} order. */
  readonly removed: readonly number[]
  readonly chosen: (typeof CELL_OPS)[number]
}

/**
 * What {@link perturbationSelect} found: the cell, and every edge's decision in the order made.
 * @since 0.2.0
 */
export interface PerturbationResult {
  readonly arch: Nb201Arch
  readonly edges: readonly PerturbationEdge[]
  readonly seconds: number
}

/**
 * Perturbation-based architecture selection (Wang, Cheng, Chen, Tang and Hsieh 2021, "Rethinking
 * Architecture Selection in Differentiable NAS"): instead of the largest alpha, each edge keeps the
 * operation whose removal hurts the supernet most. Edges are visited in a random order; on an edge,
 * the supernet's validation accuracy is measured with each operation removed (its weight set to 0,
 * the others as they are: softmax(alpha) on open edges, one-hot on edges already decided); the
 * operation whose removal gives the lowest accuracy is kept, the edge is fixed to it, and the
 * network weights are tuned for `tuneSteps` steps with the decided edges fixed before the next edge.
 *
 * Departure from the paper: the tuning updates the network weights only (SGD at a constant
 * `tuneLr`), where the paper continues the supernet's training, architecture weights included.
 * The supernet's weights change (tuning); its alphas do not.
 * @since 0.2.0
 * @category one-shot
 */
export async function perturbationSelect(
  net: CellSupernet,
  train: Dataset,
  valid: Dataset,
  options: PerturbationOptions = {},
): Promise<PerturbationResult> {
  const t0 = performance.now()
  const rng = new Rng(options.seed ?? 0)
  const batchSize = options.batchSize ?? 64
  const evalBatch = options.evalBatch ?? 250
  const tuneSteps = options.tuneSteps ?? Math.ceil(train.y.length / batchSize)
  for (const [name, v] of [
    ['batchSize', batchSize],
    ['evalBatch', evalBatch],
  ] as const) {
    if (!Number.isInteger(v) || v < 2) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${name} must be an integer >= 2, got ${v}`,
        value: v,
      })
    }
  }
  if (!Number.isInteger(tuneSteps) || tuneSteps < 0) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `tuneSteps must be an integer >= 0, got ${tuneSteps}`,
      value: tuneSteps,
    })
  }
  const shape = net.config.inputShape
  const edgesCount = net.alphas.shape[0]
  const ops = CELL_OPS.length
  const fixed = new Map<number, number>()
  /** softmax(alpha) with the decided edges one-hot, and `mask` (edge, op) set to 0. */
  const weightsWith = (mask?: readonly [number, number]): tf.Tensor2D =>
    tf.tidy(() => {
      const w = net.softmaxWeights().arraySync()
      for (const [e, k] of fixed) w[e] = w[e]!.map((_, i) => (i === k ? 1 : 0))
      if (mask !== undefined) w[mask[0]]![mask[1]] = 0
      return tf.tensor2d(w)
    })
  const accuracy = (w: tf.Tensor2D): number =>
    supernetAccuracy(net, valid, { kind: 'weights', weights: w }, evalBatch)
  const sgd = parseTrainConfig({ optimizer: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 })
  const vars = net.weights
  const tune = (w: tf.Tensor2D, round: number) => {
    if (tuneSteps === 0) return
    const momentum = vars.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)))
    try {
      let it: Generator<Batch> | undefined
      let pass = 0
      for (let s = 0; s < tuneSteps; s++) {
        let next = it?.next()
        if (next === undefined || next.done === true) {
          it = batches(train, {
            batchSize,
            shuffleSeed: (options.seed ?? 0) * 1_000_003 + 7_001 * round + pass++,
          })
          next = it.next()
        }
        const b = next.value as Batch
        const x = tf.tensor4d(b.xs, [b.n, ...shape])
        const y = tf.tensor1d(b.ys, 'float32')
        const { value, grads } = tf.variableGrads(
          () => crossEntropy(net.forward(x, { kind: 'weights', weights: w }), y, net.config.classes),
          vars,
        )
        tf.dispose([x, y, value])
        clippedSgdStep(sgd, vars, grads, momentum, options.tuneLr ?? 0.001, s + 1, 5)
        tf.dispose(Object.values(grads))
      }
    } finally {
      tf.dispose(momentum)
    }
  }
  const order = rng.shuffle(Array.from({ length: edgesCount }, (_, e) => e))
  const decided: PerturbationEdge[] = []
  for (const [round, e] of order.entries()) {
    if (options.signal?.aborted === true) {
      throw new NasError({ code: 'ABORTED', message: 'perturbation-based selection was stopped' })
    }
    const full = weightsWith()
    const base = accuracy(full)
    full.dispose()
    const removed: number[] = []
    // an operation a few-shot split left out of the edge is not a candidate (removing it changes nothing)
    const allowed = net.config.opMask?.[e] ?? CELL_OPS.map(() => true)
    for (let k = 0; k < ops; k++) {
      if (!allowed[k]) {
        removed.push(base)
        continue
      }
      const w = weightsWith([e, k])
      removed.push(accuracy(w))
      w.dispose()
      await new Promise((r) => setTimeout(r, 0))
    }
    const k = removed.reduce((best, v, i) => (allowed[i] && (best < 0 || v < removed[best]!) ? i : best), -1)
    fixed.set(e, k)
    const d: PerturbationEdge = { edge: e, base, removed, chosen: CELL_OPS[k]! }
    decided.push(d)
    options.onEdge?.(d)
    if (round < order.length - 1) {
      const w = weightsWith()
      tune(w, round)
      w.dispose()
    }
  }
  const arch = Array.from({ length: edgesCount }, (_, e) => CELL_OPS[fixed.get(e)!]!) as unknown as Nb201Arch
  return { arch, edges: decided, seconds: (performance.now() - t0) / 1000 }
}

/**
 * Share of `data` the supernet classifies right with its edges mixed as `mixing` says (batches of
 * `evalBatch`). @internal
 */
export function supernetAccuracy(
  net: CellSupernet,
  data: Dataset,
  mixing: EdgeMixing,
  evalBatch = 250,
): number {
  const shape = net.config.inputShape
  let correct = 0
  const n = data.y.length
  const size = shape[0] * shape[1] * shape[2]
  for (let at = 0; at < n; at += evalBatch) {
    const m = Math.min(evalBatch, n - at)
    correct += tf.tidy(() => {
      const x = tf.tensor4d(data.x.subarray(at * size, (at + m) * size), [m, ...shape])
      const pred = tf.argMax(net.forward(x, mixing), 1)
      return tf.sum(tf.equal(pred, tf.tensor1d(data.y.subarray(at, at + m), 'int32'))).dataSync()[0]!
    })
  }
  return correct / n
}
