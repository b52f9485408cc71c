import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { prunableWeights, runGraph, type BatchNormMode } from './graph.js'
import type { ProxyBatch, ProxyContext } from './types.js'

/** The input shape of one example of a model (`[32, 32, 3]`), from its input layer. */
export function exampleShape(model: tfl.LayersModel): number[] {
  const shape = model.inputs[0]!.shape.slice(1)
  if (shape.some((d) => d === null)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a data-free proxy needs a model with a fixed input shape; this one is [${shape.join(', ')}]`,
      value: shape,
    })
  }
  return shape as number[]
}

/** Number of classes (width of the last axis of the output). */
export const classesOf = (model: tfl.LayersModel): number => {
  const s = model.outputs[0]!.shape
  return s[s.length - 1]!
}

/** Checks that `batch` fits `model` and carries what the proxy `name` needs. */
export function checkBatch(
  name: string,
  model: tfl.LayersModel,
  batch: ProxyBatch | undefined,
  labels: boolean,
): ProxyBatch {
  if (batch === undefined) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `proxy '${name}' needs a batch of ${labels ? 'labelled ' : ''}data; give one (or --data random)`,
    })
  }
  const want = model.inputs[0]!.shape.slice(1)
  if (batch.shape.length !== want.length || batch.shape.some((d, i) => want[i] !== null && want[i] !== d)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `proxy '${name}': the batch's examples are [${batch.shape.join(', ')}], the model takes [${want.join(', ')}]`,
      value: batch.shape,
      allowed: [want],
    })
  }
  if (batch.n < 2) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `proxy '${name}' needs a batch of at least 2 examples, got ${batch.n}`,
      value: batch.n,
    })
  }
  if (labels) {
    if (batch.ys === undefined) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `proxy '${name}' needs labels (it takes the gradient of the cross-entropy loss); this batch has none`,
        allowed: ['a labelled batch'],
      })
    }
    const classes = classesOf(model)
    const bad = batch.ys.findIndex((y) => !(y >= 0 && y < classes))
    if (bad >= 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `proxy '${name}': label ${batch.ys[bad]} of example ${bad} is not a class of this ${classes}-class model`,
        value: batch.ys[bad],
        allowed: [`0..${classes - 1}`],
      })
    }
  }
  return batch
}

/** The batch's inputs as a tensor (call inside `tf.tidy`). */
export const inputsOf = (batch: ProxyBatch): tf.Tensor =>
  tf.tensor(batch.xs, [batch.n, ...batch.shape], 'float32')

/** Mean cross-entropy of the logits against the labels (PyTorch's `F.cross_entropy`). */
export function crossEntropy(logits: tf.Tensor, labels: Int32Array): tf.Scalar {
  const classes = logits.shape[logits.shape.length - 1]!
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes)
  return tf.mean<tf.Scalar>(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)))
}

/**
 * Gradients of the mean cross-entropy of one labelled batch with respect to the prunable kernels
 * (call inside `tf.tidy`), with those kernels.
 */
export function kernelGradients(
  model: tfl.LayersModel,
  batch: ProxyBatch,
  batchNorm: BatchNormMode,
): { layer: tfl.layers.Layer; weight: tf.Variable; grad: tf.Tensor }[] {
  const weights = prunableWeights(model)
  const x = inputsOf(batch)
  const { grads } = tf.variableGrads(
    () => crossEntropy(runGraph(model, x, { batchNorm }).output, batch.ys!),
    weights.map((w) => w.variable),
  )
  // a kernel on no path from the input to the output (a cell with `none` edges) has gradient zero
  return weights.map((w) => ({
    layer: w.layer,
    weight: w.variable,
    grad: grads[w.variable.name] ?? tf.zerosLike(w.variable),
  }))
}

/**
 * Memory TF.js may use for one differentiated pass. TF.js keeps every intermediate of a gradient
 * pass until it ends (about 70 MB per image for the full NB201 CIFAR-10 network), and the wasm heap
 * stops at 4 GB, so a batch whose pass would need more is processed in splits, as the reference
 * implementations do with `split_data`.
 */
export const PASS_BUDGET_BYTES = 1.5e9

/** Examples one differentiated pass through `model` may hold within {@link PASS_BUDGET_BYTES}. */
export function examplesPerPass(model: tfl.LayersModel, budget = PASS_BUDGET_BYTES): number {
  let elements = 0
  for (const layer of model.layers) {
    const shapes = (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as (
      number | null
    )[][]
    for (const shape of shapes) elements += shape.slice(1).reduce<number>((p, d) => p * (d ?? 1), 1)
  }
  // float32 outputs, and about eight tensors of that size per layer kept by the tape (its inputs,
  // BatchNorm's intermediates, the gradients)
  return Math.max(1, Math.floor(budget / (elements * 4 * 8)))
}

/** `parts` consecutive slices of a batch, as even as possible (one part: the batch itself). */
export function splitBatch(b: ProxyBatch, parts: number): ProxyBatch[] {
  if (parts <= 1) return [b]
  const size = b.shape.reduce((p, d) => p * d, 1)
  const out: ProxyBatch[] = []
  for (let k = 0; k < parts; k++) {
    const lo = Math.floor((k * b.n) / parts)
    const hi = Math.floor(((k + 1) * b.n) / parts)
    out.push({
      n: hi - lo,
      shape: b.shape,
      xs: b.xs.subarray(lo * size, hi * size),
      ...(b.ys === undefined ? {} : { ys: b.ys.subarray(lo, hi) }),
    })
  }
  return out
}

/** The splits of `b` for one differentiated pass through `model` (see {@link examplesPerPass}). */
export const passSplits = (model: tfl.LayersModel, b: ProxyBatch): ProxyBatch[] =>
  splitBatch(b, Math.ceil(b.n / examplesPerPass(model)))

/** Sum of per-tensor scalars, accumulated in float64 on the CPU. */
export function sumOf(values: readonly tf.Tensor[]): number {
  let s = 0
  for (const v of values) s += v.dataSync()[0]!
  return s
}

/** Runs `f` and puts every trainable weight of `model` back to its value before, whatever `f` does. */
export async function withWeightsRestored<T>(model: tfl.LayersModel, f: () => T | Promise<T>): Promise<T> {
  const saved = model.weights.map((w) => tf.keep(w.read().clone()))
  try {
    return await f()
  } finally {
    model.weights.forEach((w, i) => w.write(saved[i]!))
    for (const t of saved) t.dispose()
  }
}

/** {@link withWeightsRestored} for a synchronous `f`. */
export function withWeightsRestoredSync<T>(model: tfl.LayersModel, f: () => T): T {
  const saved = model.weights.map((w) => tf.keep(w.read().clone()))
  try {
    return f()
  } finally {
    model.weights.forEach((w, i) => w.write(saved[i]!))
    for (const t of saved) t.dispose()
  }
}

/** `f()`, computed once per {@link ProxyContext.cache} and key. */
export function memo<T>(ctx: ProxyContext, key: string, f: () => T): T {
  if (ctx.cache === undefined) return f()
  if (ctx.cache.has(key)) return ctx.cache.get(key) as T
  const v = f()
  ctx.cache.set(key, v)
  return v
}

/**
 * One backward pass of the cross-entropy: per prunable kernel, sum |w g|, sum w g and |g| (the
 * sums `snip`, `plain` and `grad_norm` make), shared through the context's cache.
 */
export function lossGradientSums(
  model: tfl.LayersModel,
  batch: ProxyBatch,
  ctx: ProxyContext,
): { snip: number; plain: number; gradNorm: number } {
  return memo(ctx, 'loss-gradient-sums', () => {
    // the gradient of the batch's mean loss, from its splits
    let sum: tf.Tensor[] | undefined
    for (const part of passSplits(model, batch)) {
      const next = tf.tidy(() => {
        const per = kernelGradients(model, part, 'batch')
        // each split's mean-loss gradient weighted by its share of the batch: the full batch's mean gradient
        const share = part.n / batch.n
        return per.map(({ grad }, i) =>
          tf.keep(sum === undefined ? tf.mul(grad, share) : tf.add(sum[i]!, tf.mul(grad, share))),
        )
      })
      sum?.forEach((t) => t.dispose())
      sum = next
    }
    const g = sum!
    const weights = prunableWeights(model).map((w) => w.variable)
    const out = tf.tidy(() => ({
      snip: sumOf(weights.map((w, i) => tf.sum(tf.abs(tf.mul(w, g[i]!))))),
      plain: sumOf(weights.map((w, i) => tf.sum(tf.mul(w, g[i]!)))),
      gradNorm: sumOf(g.map((t) => tf.norm(t))),
    }))
    g.forEach((t) => t.dispose())
    return out
  })
}

/**
 * The gradient of the sum of the outputs with respect to each input of the batch (BatchNorm on
 * batch statistics), flattened per example: the Jacobian `jacov` and `epe_nas` read. Shared through
 * the context's cache.
 */
export function inputJacobian(model: tfl.LayersModel, batch: ProxyBatch, ctx: ProxyContext): Float32Array {
  return memo(ctx, 'input-jacobian', () => {
    const out = new Float32Array(batch.xs.length)
    let at = 0
    for (const part of passSplits(model, batch)) {
      const j = tf.tidy(
        () =>
          tf
            .grad((x: tf.Tensor) => tf.sum(runGraph(model, x, { batchNorm: 'batch' }).output))(inputsOf(part))
            .dataSync() as Float32Array,
      )
      out.set(j, at)
      at += j.length
    }
    return out
  })
}
