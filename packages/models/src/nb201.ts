import { Rng } from '@nasjs/core'
import type { Nb201Arch } from '@nasjs/search-space'
import { nb201 } from '@nasjs/search-space'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import { KeepFirst, Zero } from './layers.js'

/**
 * Options of the NAS-Bench-201 network. The defaults are the benchmark's CIFAR-10 network: 16
 * channels, 5 cells per stage, 32x32x3 inputs, 10 classes. Smaller `channels` and `cellsPerStage`
 * give a scaled-down network that trains on two cores.
 * @since 0.1.0
 * @category models
 */
export const Nb201NetworkOptions = z
  .object({
    channels: z
      .number()
      .int()
      .min(1)
      .default(16)
      .describe('channels of the first stage (doubled at each reduction)'),
    cellsPerStage: z.number().int().min(1).default(5).describe('cells in each of the three stages (N)'),
    inputShape: z
      .tuple([z.number().int().min(4), z.number().int().min(4), z.number().int().min(1)])
      .default([32, 32, 3])
      .refine(([h, w]) => h % 4 === 0 && w % 4 === 0, {
        message: 'height and width must be multiples of 4 (the network halves them twice)',
      })
      .describe('height, width, channels (NHWC); height and width multiples of 4'),
    classes: z.number().int().min(2).default(10).describe('outputs of the linear head (logits)'),
    seed: z.number().int().default(0).describe('seed of the weight initialisers'),
  })
  .strict()
/** @since 0.1.0 */
export type Nb201NetworkOptions = z.input<typeof Nb201NetworkOptions>

function parseOptions(options: unknown): z.output<typeof Nb201NetworkOptions> {
  return parseConfig(Nb201NetworkOptions, options, 'NAS-Bench-201 network option')
}

/** The (target node, source node) of each of the six edges, in the order of the architecture string. */
export const NB201_EDGES: readonly (readonly [number, number])[] = [
  [1, 0],
  [2, 0],
  [2, 1],
  [3, 0],
  [3, 1],
  [3, 2],
]

/**
 * Exact parameter and FLOP counts of the NAS-Bench-201 network of `arch`, counted as the benchmark
 * counts them: parameters are the weights of convolutions, BatchNorm scales and shifts, and the
 * linear head; FLOPs are multiply-accumulates of convolutions and the linear head (its bias included),
 * nothing for pooling, BatchNorm or ReLU. Matches the NATS-Bench records (index 0: 0.129306 M
 * parameters and 15.64737 MFLOPs on CIFAR-10).
 * @since 0.1.0
 * @category models
 */
export function nb201Cost(arch: Nb201Arch, options?: Nb201NetworkOptions): { params: number; flops: number } {
  const a = nb201.validate(arch)
  const o = parseOptions(options)
  const [h0, w0, cin] = o.inputShape
  const c0 = o.channels
  let params = cin * c0 * 9 + 2 * c0 // stem conv + BN
  let flops = h0 * w0 * c0 * cin * 9
  let h = h0
  let w = w0
  for (let stage = 0; stage < 3; stage++) {
    const c = c0 << stage
    if (stage > 0) {
      const ci = c / 2
      h /= 2 // a 3x3 convolution with stride 2 and padding 1 halves an even size
      w /= 2
      params += 9 * ci * c + 2 * c + 9 * c * c + 2 * c + ci * c // conv_a, conv_b, 1x1 shortcut
      flops += h * w * (9 * ci * c + 9 * c * c + ci * c)
    }
    for (const op of a) {
      if (op === 'nor_conv_3x3') {
        params += o.cellsPerStage * (9 * c * c + 2 * c)
        flops += o.cellsPerStage * h * w * 9 * c * c
      } else if (op === 'nor_conv_1x1') {
        params += o.cellsPerStage * (c * c + 2 * c)
        flops += o.cellsPerStage * h * w * c * c
      }
    }
  }
  const cLast = c0 << 2
  params += 2 * cLast + cLast * o.classes + o.classes // last BN, linear head
  flops += cLast * o.classes + o.classes
  return { params, flops }
}

/**
 * The NAS-Bench-201 network of `arch` as a TF.js functional model (Dong and Yang 2020; the reference
 * is the `TinyNetwork` / `InferCell` of the NAS-Bench-201 code): a 3x3 convolution stem with
 * BatchNorm; three stages of `cellsPerStage` cells with `channels`, 2x and 4x channels; between
 * stages a residual reduction block (ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN, shortcut 2x2 average
 * pooling then a 1x1 convolution); in a cell, node j sums the operations on its edges from the earlier
 * nodes, each `nor_conv` being ReLU-Conv-BN, `avg_pool_3x3` a 3x3 average (padding not counted),
 * `skip_connect` the identity and `none` zero; then BatchNorm, ReLU, global average pooling and a
 * linear head (logits). Stride-2 convolutions pad one pixel on every side, as PyTorch does.
 * @since 0.1.0
 * @category models
 */
export function buildNb201(arch: Nb201Arch, options?: Nb201NetworkOptions): tfl.LayersModel {
  const a = nb201.validate(arch)
  const o = parseOptions(options)
  const rng = new Rng(o.seed)
  const seed = () => rng.int(2 ** 31)
  const bn = (x: tfl.SymbolicTensor) =>
    tfl.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tfl.SymbolicTensor
  const conv = (x: tfl.SymbolicTensor, filters: number, kernelSize: number, strides = 1) => {
    const input =
      strides === 1
        ? x
        : (tfl.layers
            .zeroPadding2d({
              padding: [
                [1, 1],
                [1, 1],
              ],
            })
            .apply(x) as tfl.SymbolicTensor)
    return tfl.layers
      .conv2d({
        filters,
        kernelSize,
        strides,
        padding: strides === 1 ? 'same' : 'valid',
        useBias: false,
        kernelInitializer: tfl.initializers.heNormal({ seed: seed() }),
      })
      .apply(input) as tfl.SymbolicTensor
  }
  const reluConvBn = (x: tfl.SymbolicTensor, filters: number, kernelSize: number, strides = 1) =>
    bn(conv(tfl.layers.reLU().apply(x) as tfl.SymbolicTensor, filters, kernelSize, strides))
  const add = (xs: tfl.SymbolicTensor[]) => {
    if (xs.length === 1) return xs[0]!
    // the same tensor twice in one sum (two skip connections from one node) goes through an
    // identity once more: TF.js's inference executor frees a tensor fed twice to one layer too early
    const seen = new Set<tfl.SymbolicTensor>()
    const distinct = xs.map((t) => {
      if (!seen.has(t)) {
        seen.add(t)
        return t
      }
      return tfl.layers.activation({ activation: 'linear' }).apply(t) as tfl.SymbolicTensor
    })
    return tfl.layers.add().apply(distinct) as tfl.SymbolicTensor
  }

  const cell = (x: tfl.SymbolicTensor, c: number) => {
    const nodes: tfl.SymbolicTensor[] = [x]
    for (let j = 1; j <= 3; j++) {
      const terms: tfl.SymbolicTensor[] = []
      NB201_EDGES.forEach(([to, from], e) => {
        if (to !== j) return
        const op = a[e]!
        const h = nodes[from]!
        if (op === 'nor_conv_3x3') terms.push(reluConvBn(h, c, 3))
        else if (op === 'nor_conv_1x1') terms.push(reluConvBn(h, c, 1))
        else if (op === 'avg_pool_3x3')
          terms.push(
            tfl.layers
              .averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' })
              .apply(h) as tfl.SymbolicTensor,
          )
        else if (op === 'skip_connect') terms.push(h)
      })
      // an edge that is `none` adds zero; a node whose edges are all `none` is zero
      nodes.push(terms.length > 0 ? add(terms) : (new Zero({}).apply(x) as tfl.SymbolicTensor))
    }
    // nodes 1 and 2 when no operation carries them on to node 3 are still computed, as in the benchmark
    const live = new Set([3])
    for (let e = NB201_EDGES.length - 1; e >= 0; e--) {
      const [to, from] = NB201_EDGES[e]!
      if (live.has(to) && a[e] !== 'none') live.add(from)
    }
    // a dead node that is one of the kept tensors (a skip connection) needs no keeping
    const dead = [...new Set([1, 2].filter((j) => !live.has(j)).map((j) => nodes[j]!))].filter(
      (t) => t !== nodes[3] && t !== x,
    )
    return dead.length === 0
      ? nodes[3]!
      : (new KeepFirst({}).apply([nodes[3]!, ...dead]) as tfl.SymbolicTensor)
  }

  const input = tfl.input({ shape: [...o.inputShape] })
  let x = bn(conv(input, o.channels, 3))
  for (let stage = 0; stage < 3; stage++) {
    const c = o.channels << stage
    if (stage > 0) {
      const branch = reluConvBn(reluConvBn(x, c, 3, 2), c, 3)
      const pooled = tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid' }).apply(x)
      const shortcut = conv(pooled as tfl.SymbolicTensor, c, 1)
      x = add([shortcut, branch])
    }
    for (let n = 0; n < o.cellsPerStage; n++) x = cell(x, c)
  }
  x = tfl.layers.reLU().apply(bn(x)) as tfl.SymbolicTensor
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor
  const logits = tfl.layers
    .dense({ units: o.classes, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
    .apply(x) as tfl.SymbolicTensor
  return tfl.model({ inputs: input, outputs: logits, name: 'nb201' })
}
