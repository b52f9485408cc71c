import { Rng } from '@nasjs/core'
import type { Nb101Arch } from '@nasjs/search-space'
import { nb101 } from '@nasjs/search-space'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'

/**
 * Options of the NAS-Bench-101 network. The defaults are the benchmark's CIFAR-10 network: a
 * 128-channel stem, 3 stacks of 3 cells, 32x32x3 inputs, 10 classes. A smaller `stemChannels` and
 * fewer `cellsPerStack` give a scaled-down network that trains on two cores.
 * @since 0.1.0
 * @category models
 */
export const Nb101NetworkOptions = z
  .object({
    stemChannels: z
      .number()
      .int()
      .min(5)
      .default(128)
      .describe(
        'channels of the stem and of the first stack (doubled at each downsampling); at least 5, so that each of up to 5 vertices feeding the output gets a channel',
      ),
    stacks: z
      .number()
      .int()
      .min(1)
      .default(3)
      .describe('stacks of cells; a 2x2 max-pooling halves the resolution before each stack but the first'),
    cellsPerStack: z.number().int().min(1).default(3).describe('cells in each stack'),
    inputShape: z
      .tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)])
      .default([32, 32, 3])
      .describe('height, width, channels (NHWC); height and width multiples of 2^(stacks - 1)'),
    classes: z.number().int().min(2).default(10).describe('outputs of the linear head (logits)'),
    seed: z.number().int().default(0).describe('seed of the weight initialisers'),
  })
  .strict()
  .superRefine((o, ctx) => {
    const step = 2 ** (o.stacks - 1)
    const [h, w] = o.inputShape
    if (h % step !== 0 || w % step !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['inputShape'],
        message: `height and width must be multiples of ${step} (${o.stacks} stacks halve them ${o.stacks - 1} times), got ${h}x${w}`,
      })
    }
  })
/** @since 0.1.0 */
export type Nb101NetworkOptions = z.input<typeof Nb101NetworkOptions>

function parseOptions(options: unknown): z.output<typeof Nb101NetworkOptions> {
  return parseConfig(Nb101NetworkOptions, options, 'NAS-Bench-101 network option')
}

/** Kernel side of each operation that has weights. */
const KERNEL: Readonly<Record<string, number>> = { 'conv3x3-bn-relu': 3, 'conv1x1-bn-relu': 1 }

/**
 * The channels of every vertex of a cell that takes `inChannels` and outputs `outChannels`, as the
 * NAS-Bench-101 code assigns them: the output's channels are split as evenly as possible among the
 * vertices that feed it (the earlier vertices get the remainder, one channel each); every other
 * middle vertex gets the largest count of the vertices it feeds. Entry 0 is `inChannels`, the last
 * entry `outChannels`. Counts never increase along an edge between middle vertices, so a vertex
 * reads an earlier one's first channels when it has fewer.
 * @example
 * ```ts
 * const cell = { matrix: [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
 *   ops: ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'output'] }
 * nb101VertexChannels(cell, 8, 15) // [8, 8, 7, 15]
 * ```
 * @since 0.1.0
 * @category models
 */
export function nb101VertexChannels(arch: Nb101Arch, inChannels: number, outChannels: number): number[] {
  const m = arch.matrix
  const n = arch.ops.length
  const out = n - 1
  const channels = new Array<number>(n).fill(0)
  channels[0] = inChannels
  channels[out] = outChannels
  if (n === 2) return channels
  let feeding = 0
  for (let v = 1; v < out; v++) feeding += m[v]![out]!
  const share = Math.floor(outChannels / feeding)
  let extra = outChannels % feeding
  for (let v = 1; v < out; v++) {
    if (!m[v]![out]) continue
    channels[v] = share + (extra > 0 ? 1 : 0)
    if (extra > 0) extra--
  }
  for (let v = out - 1; v > 0; v--) {
    if (m[v]![out]) continue
    for (let dst = v + 1; dst < out; dst++)
      if (m[v]![dst]) channels[v] = Math.max(channels[v]!, channels[dst]!)
  }
  return channels
}

/**
 * Exact parameter and FLOP counts of the NAS-Bench-101 network of `arch` (a pruned cell, as
 * `nb101.parse` or `nb101Prune` give), without building it. Parameters are the trainable weights:
 * convolution kernels, BatchNorm scales and shifts, the dense head's kernel and bias (the benchmark's
 * `trainable_parameters`; BatchNorm's moving statistics are not counted). FLOPs are
 * multiply-accumulates of the convolutions and the dense head (its bias included), nothing for
 * pooling, BatchNorm, ReLU, sums or truncations, as `nb201Cost` counts them.
 * @example
 * ```ts
 * const cell = nb101.parse(JSON.stringify({ // the Inception-like cell of the NAS-Bench-101 README
 *   matrix: [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
 *     [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
 *   ops: ['input', 'conv1x1-bn-relu', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'maxpool3x3', 'output'],
 * }))
 * nb101Cost(cell).params // 2694282, the benchmark's trainable_parameters for this cell
 * ```
 * @since 0.1.0
 * @category models
 */
export function nb101Cost(arch: Nb101Arch, options?: Nb101NetworkOptions): { params: number; flops: number } {
  const a = nb101.validate(arch)
  const o = parseOptions(options)
  const m = a.matrix
  const out = a.ops.length - 1
  let [h, w, cin] = o.inputShape
  let c = o.stemChannels
  let params = 9 * cin * c + 2 * c
  let flops = h * w * 9 * cin * c
  cin = c
  for (let stack = 0; stack < o.stacks; stack++) {
    if (stack > 0) {
      ;[h, w] = [h / 2, w / 2]
      c *= 2
    }
    for (let cell = 0; cell < o.cellsPerStack; cell++) {
      const vc = nb101VertexChannels(a, cin, c)
      for (let v = 1; v < out; v++) {
        const cv = vc[v]!
        if (m[0]![v]) {
          params += cin * cv + 2 * cv // 1x1 projection of the cell input
          flops += h * w * cin * cv
        }
        const k = KERNEL[a.ops[v]!]
        if (k !== undefined) {
          params += k * k * cv * cv + 2 * cv
          flops += h * w * k * k * cv * cv
        }
      }
      // the cell input projected to the output's channels, added (or the whole output of a 2-vertex cell)
      if (m[0]![out]) {
        params += cin * c + 2 * c
        flops += h * w * cin * c
      }
      cin = c
    }
  }
  params += c * o.classes + o.classes
  flops += c * o.classes + o.classes
  return { params, flops }
}

/**
 * The NAS-Bench-101 network of `arch` as a TF.js functional model (Ying et al. 2019; the reference
 * is `model_builder.py` of the NAS-Bench-101 code). `arch` must be pruned (`nb101.parse` and
 * `nb101Prune` prune). The network: a 3x3 Conv-BN-ReLU stem with `stemChannels`; `stacks` stacks of
 * `cellsPerStack` cells, each stack after the first preceded by a 2x2 max-pooling with stride 2 and
 * doubling the channels; global average pooling; a dense head (logits).
 *
 * In a cell with C output channels, the vertices get the channels of {@link nb101VertexChannels}.
 * A middle vertex sums its inputs: each earlier middle vertex (its first channels, when it has more)
 * and the cell input projected by a 1x1 Conv-BN-ReLU to the vertex's channels; then applies its op
 * (`conv3x3-bn-relu`, `conv1x1-bn-relu`: Conv-BN-ReLU; `maxpool3x3`: 3x3 max-pooling, stride 1,
 * same padding). The output concatenates the middle vertices that feed it, in vertex order, and adds
 * the cell input projected to C channels when the input feeds the output (a cell of input and output
 * only is that projection). Convolutions have no bias; BatchNorm has momentum 0.997 and epsilon 1e-5
 * as in the reference. Dropping trailing channels is a standard `Cropping2D` in channels-first
 * layout (it crops the last two axes, here width by 0 and channels by the excess), so the model has
 * only standard TF.js layers.
 * @example
 * ```ts
 * const model = buildNb101(nb101.sample(new Rng(1)), { stemChannels: 16, cellsPerStack: 1 }) // scaled down
 * const logits = model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor // [2, 10]
 * ```
 * @since 0.1.0
 * @category models
 */
export function buildNb101(arch: Nb101Arch, options?: Nb101NetworkOptions): tfl.LayersModel {
  const a = nb101.validate(arch)
  const o = parseOptions(options)
  const rng = new Rng(o.seed)
  const seed = () => rng.int(2 ** 31)
  type T = tfl.SymbolicTensor
  const ap = (layer: tfl.layers.Layer, x: T | T[]) => layer.apply(x) as T
  const channelsOf = (x: T) => x.shape[3]!

  const convBnRelu = (x: T, filters: number, kernelSize: number) => {
    const conv = tfl.layers.conv2d({
      filters,
      kernelSize,
      padding: 'same',
      useBias: false,
      // the reference's variance scaling: truncated normal, standard deviation sqrt(1 / fan-in)
      kernelInitializer: tfl.initializers.varianceScaling({
        scale: 1,
        mode: 'fanIn',
        distribution: 'normal',
        seed: seed(),
      }),
    })
    const bn = tfl.layers.batchNormalization({ axis: 3, momentum: 0.997, epsilon: 1e-5 })
    return ap(tfl.layers.reLU(), ap(bn, ap(conv, x)))
  }
  /** The first `channels` channels of `x`. */
  const truncate = (x: T, channels: number) => {
    const excess = channelsOf(x) - channels
    if (excess === 0) return x
    // channels-first Cropping2D crops axes 2 and 3: of an NHWC tensor, width and channels
    const crop = tfl.layers.cropping2D({
      cropping: [
        [0, 0],
        [0, excess],
      ],
      dataFormat: 'channelsFirst',
    })
    return ap(crop, x)
  }
  const sum = (xs: T[]) => (xs.length === 1 ? xs[0]! : ap(tfl.layers.add(), xs))
  const op = (name: string, x: T, channels: number) => {
    const k = KERNEL[name]
    if (k !== undefined) return convBnRelu(x, channels, k)
    return ap(tfl.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x)
  }

  const m = a.matrix
  const out = a.ops.length - 1
  const cell = (x: T, c: number) => {
    const vc = nb101VertexChannels(a, channelsOf(x), c)
    const vertices: T[] = [x]
    const concat: T[] = []
    for (let v = 1; v < out; v++) {
      const terms: T[] = []
      for (let src = 1; src < v; src++) if (m[src]![v]) terms.push(truncate(vertices[src]!, vc[v]!))
      if (m[0]![v]) terms.push(convBnRelu(x, vc[v]!, 1))
      vertices.push(op(a.ops[v]!, sum(terms), vc[v]!))
      if (m[v]![out]) concat.push(vertices[v]!)
    }
    // a pruned cell with middle vertices has one that feeds the output
    if (concat.length === 0) return convBnRelu(x, c, 1)
    const y = concat.length === 1 ? concat[0]! : ap(tfl.layers.concatenate({ axis: 3 }), concat)
    return m[0]![out] ? sum([y, convBnRelu(x, c, 1)]) : y
  }

  const input = tfl.input({ shape: [...o.inputShape] })
  let x = convBnRelu(input, o.stemChannels, 3)
  let c = o.stemChannels
  for (let stack = 0; stack < o.stacks; stack++) {
    if (stack > 0) {
      x = ap(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }), x)
      c *= 2
    }
    for (let n = 0; n < o.cellsPerStack; n++) x = cell(x, c)
  }
  x = ap(tfl.layers.globalAveragePooling2d({}), x)
  const logits = ap(
    tfl.layers.dense({
      units: o.classes,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }),
    }),
    x,
  )
  return tfl.model({ inputs: input, outputs: logits, name: 'nb101' })
}
