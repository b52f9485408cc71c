import { Rng } from '@nasjs/core'
import type { DartsArch, DartsOp } from '@nasjs/search-space'
import { darts } from '@nasjs/search-space'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import { DilatedDepthwiseConv2d, DropPath } from './darts-layers.js'

/** The cells that halve the resolution and double the channels: layers // 3 and 2 layers // 3. */
function reductionCells(layers: number): ReadonlySet<number> {
  return new Set([Math.floor(layers / 3), Math.floor((2 * layers) / 3)])
}

/** The cell after which the auxiliary head reads the network. */
const auxiliaryCell = (layers: number) => Math.floor((2 * layers) / 3)

/** Side of the auxiliary head's pooled map (5x5 windows, stride 3, no padding) on an n-pixel side. */
const auxiliaryPooled = (n: number) => Math.floor((n - 5) / 3) + 1

/**
 * Options of the DARTS evaluation network. The defaults are the CIFAR-10 network of the DARTS and
 * PC-DARTS papers: 36 channels, 20 cells, 32x32x3 inputs, 10 classes, no auxiliary head, no drop-path.
 * Smaller `channels` and `layers` give a scaled-down network that trains on two cores.
 * @since 0.1.0
 * @category models
 */
export const DartsNetworkOptions = z
  .object({
    channels: z
      .number()
      .int()
      .min(1)
      .default(36)
      .describe('channels of each node in the first cells, C (doubled at each reduction cell)'),
    layers: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('cells in the network; those at layers // 3 and 2 layers // 3 are reduction cells'),
    inputShape: z
      .tuple([z.number().int().min(4), z.number().int().min(4), z.number().int().min(1)])
      .default([32, 32, 3])
      .refine(([h, w]) => h % 4 === 0 && w % 4 === 0, {
        message: 'height and width must be multiples of 4 (the network halves them twice)',
      })
      .describe('height, width, channels (NHWC); height and width multiples of 4'),
    classes: z.number().int().min(2).default(10).describe('outputs of the linear head (logits)'),
    auxiliary: z
      .boolean()
      .default(false)
      .describe('add the auxiliary CIFAR head at 2/3 depth as a second output (needs 32 to 40 pixel inputs)'),
    dropPath: z
      .number()
      .min(0)
      .lt(1)
      .default(0)
      .describe('drop-path probability of each non-identity op of a cell, in training only'),
    seed: z.number().int().default(0).describe('seed of the weight initialisers and drop-path masks'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (!o.auxiliary) return
    const halvings = reductionCells(o.layers).size
    const [h, w] = o.inputShape
    const [hs, ws] = [h / 2 ** halvings, w / 2 ** halvings]
    if (auxiliaryPooled(hs) !== 2 || auxiliaryPooled(ws) !== 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['inputShape'],
        message: `the auxiliary head needs an 8 to 10 pixel map after cell ${auxiliaryCell(o.layers)} (2/3 depth); ${h}x${w} inputs give ${hs}x${ws}`,
      })
    }
  })
/** @since 0.1.0 */
export type DartsNetworkOptions = z.input<typeof DartsNetworkOptions>

function parseOptions(options: unknown): z.output<typeof DartsNetworkOptions> {
  return parseConfig(DartsNetworkOptions, options, 'DARTS network option')
}

/** Parameters and multiply-accumulates of one op of a cell with `c` channels, on `pixels` outputs. */
function opCost(op: DartsOp, c: number, strided: boolean, pixels: number): { params: number; flops: number } {
  const k = op.endsWith('5x5') ? 5 : 3
  const dwPw = c * k * k + c * c // a depthwise k x k and a pointwise convolution
  if (op.startsWith('sep_conv')) return { params: 2 * (dwPw + 2 * c), flops: 2 * pixels * dwPw }
  if (op.startsWith('dil_conv')) return { params: dwPw + 2 * c, flops: pixels * dwPw }
  if (op === 'skip_connect' && strided) return { params: c * c + 2 * c, flops: pixels * c * c }
  return { params: 0, flops: 0 } // pooling, identity
}

/**
 * Exact parameter and FLOP counts of the network {@link buildDarts} builds, without building it.
 * Parameters are the trainable weights (convolutions, BatchNorm scales and shifts, the linear heads),
 * as the DARTS code's `count_parameters_in_MB` counts them; BatchNorm's moving statistics, which
 * `model.countParams()` includes, are not parameters. FLOPs are multiply-accumulates of convolutions
 * (a dilated kernel counts its k x k taps) and linear heads (bias included), as `nb201Cost` counts
 * them. With `auxiliary`, both include the auxiliary head (the papers' counts leave it out).
 * @example
 * ```ts
 * const v2 = darts.parse( // DARTS (V2), genotypes.py of the DARTS code
 *   "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
 * )
 * dartsCost(v2) // { params: 3349342, flops: 528359050 }: 36 channels, 20 cells, CIFAR-10
 * dartsCost(v2, { auxiliary: true }) // { params: 3825768, flops: 529054868 }
 * ```
 * @since 0.1.0
 * @category models
 */
export function dartsCost(arch: DartsArch, options?: DartsNetworkOptions): { params: number; flops: number } {
  const a = darts.validate(arch)
  const o = parseOptions(options)
  const [h0, w0, cin] = o.inputShape
  const reductions = reductionCells(o.layers)
  const stem = 3 * o.channels
  let params = cin * stem * 9 + 2 * stem
  let flops = h0 * w0 * cin * stem * 9
  let [cPrevPrev, cPrev, c] = [stem, stem, o.channels]
  let [h, w] = [h0, w0] // size of the previous cell's output
  let aux = { c: 0, h: 0, w: 0 }
  for (let i = 0; i < o.layers; i++) {
    const reduction = reductions.has(i)
    if (reduction) c *= 2
    // the two 1x1 preprocessings; a FactorizedReduce (two half-width 1x1 convolutions with stride 2)
    // costs what a 1x1 convolution at the output size does
    params += (cPrevPrev + cPrev) * c + 4 * c
    flops += h * w * (cPrevPrev + cPrev) * c
    if (reduction) [h, w] = [h / 2, w / 2]
    for (const node of reduction ? a.reduce : a.normal) {
      node.inputs.forEach((input, j) => {
        const op = opCost(node.ops[j]!, c, reduction && input < 2, h * w)
        params += op.params
        flops += op.flops
      })
    }
    ;[cPrevPrev, cPrev] = [cPrev, 4 * c]
    if (i === auxiliaryCell(o.layers)) aux = { c: cPrev, h, w }
  }
  params += cPrev * o.classes + o.classes
  flops += cPrev * o.classes + o.classes
  if (o.auxiliary) {
    const [ph, pw] = [auxiliaryPooled(aux.h), auxiliaryPooled(aux.w)]
    params += aux.c * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * o.classes + o.classes
    flops += ph * pw * aux.c * 128 + (ph - 1) * (pw - 1) * 128 * 768 * 4 + 768 * o.classes + o.classes
  }
  return { params, flops }
}

/**
 * The DARTS evaluation network of `arch` as a TF.js functional model (Liu, Simonyan and Yang 2019;
 * the reference is `NetworkCIFAR` of the DARTS code, which PC-DARTS reuses): a 3x3 convolution stem
 * with 3C channels and BatchNorm, then `layers` cells; the cells at layers // 3 and 2 layers // 3 are
 * reduction cells that double the channels and halve the resolution. A cell takes the outputs of the
 * two cells before it, brings each to C channels (ReLU-Conv1x1-BN, or a FactorizedReduce when that
 * input is twice the cell's resolution), and each of its 4 nodes sums two ops on earlier nodes; it
 * outputs the 4 nodes concatenated (4C channels). Ops: `sep_conv_kxk` is ReLU, depthwise kxk,
 * pointwise, BN, twice; `dil_conv_kxk` ReLU, depthwise kxk with dilation 2, pointwise, BN;
 * `max_pool_3x3` and `avg_pool_3x3` pool 3x3 windows (the average leaves the padding out), with no
 * BatchNorm; `skip_connect` is the identity, or a FactorizedReduce where it has stride 2. In a
 * reduction cell the ops on the two cell inputs have stride 2. Then global average pooling and a
 * linear head (logits). Every BatchNorm has a scale and shift.
 *
 * Padding is PyTorch's: symmetric zeros for convolutions, windows centred on every second pixel for
 * strided pooling. With `auxiliary`, the model has a second output, the logits of the reference's
 * `AuxiliaryHeadCIFAR` (ReLU, 5x5 average pooling with stride 3, Conv1x1 to 128, BN, ReLU, Conv2x2 to
 * 768, BN, ReLU, linear) on the output of cell 2 layers // 3. With `dropPath` > 0 every op but the
 * identity is followed by a {@link DropPath}, active in training only.
 * @example
 * ```ts
 * const model = buildDarts(darts.parse(genotypeText), { channels: 8, layers: 5 }) // scaled down
 * const logits = model.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor // [2, 10]
 * ```
 * @since 0.1.0
 * @category models
 */
export function buildDarts(arch: DartsArch, options?: DartsNetworkOptions): tfl.LayersModel {
  const a = darts.validate(arch)
  const o = parseOptions(options)
  const rng = new Rng(o.seed)
  const dropRng = rng.fork() // drop-path seeds: the weights do not depend on `dropPath`
  const seed = () => rng.int(2 ** 31)
  type T = tfl.SymbolicTensor
  const ap = (layer: tfl.layers.Layer, x: T | T[]) => layer.apply(x) as T

  const bn = (x: T) => ap(tfl.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5 }), x)
  const relu = (x: T) => ap(tfl.layers.reLU(), x)
  const pad = (x: T, p: number) =>
    ap(
      tfl.layers.zeroPadding2d({
        padding: [
          [p, p],
          [p, p],
        ],
      }),
      x,
    )
  const conv = (x: T, filters: number, kernelSize: number, strides = 1, padding: 'same' | 'valid' = 'same') =>
    ap(
      tfl.layers.conv2d({
        filters,
        kernelSize,
        strides,
        padding,
        useBias: false,
        kernelInitializer: tfl.initializers.heNormal({ seed: seed() }),
      }),
      x,
    )
  const reluConvBn = (x: T, filters: number) => bn(conv(relu(x), filters, 1))
  /** ReLU, then two 1x1 convolutions with stride 2 (the second one pixel down and right), concatenated, BN. */
  const factorizedReduce = (x: T, filters: number) => {
    const r = relu(x)
    const shifted = ap(
      tfl.layers.cropping2D({
        cropping: [
          [1, 0],
          [1, 0],
        ],
      }),
      r,
    )
    const halves = [conv(r, filters / 2, 1, 2, 'valid'), conv(shifted, filters / 2, 1, 2, 'valid')]
    return bn(ap(tfl.layers.concatenate({ axis: 3 }), halves))
  }
  const sepConv = (x: T, c: number, k: number, strides: number) => {
    const separable = (y: T, s: number) =>
      ap(
        tfl.layers.separableConv2d({
          filters: c,
          kernelSize: k,
          strides: s,
          padding: s === 1 ? 'same' : 'valid',
          useBias: false,
          depthwiseInitializer: tfl.initializers.heNormal({ seed: seed() }),
          pointwiseInitializer: tfl.initializers.heNormal({ seed: seed() }),
        }),
        s === 1 ? y : pad(y, (k - 1) / 2),
      )
    return bn(separable(relu(bn(separable(relu(x), strides))), 1))
  }
  const dilConv = (x: T, c: number, k: number, strides: number) => {
    const dw = new DilatedDepthwiseConv2d({
      kernelSize: k,
      dilation: 2,
      strides,
      padding: k - 1,
      seed: seed(),
    })
    return bn(conv(ap(dw, relu(x)), c, 1))
  }
  const pool = (x: T, kind: 'max' | 'avg', strides: number) => {
    // a 3x3 'same' window at stride 1 is PyTorch's padding 1 (padding left out of the average);
    // stride 2 keeps every second of those windows, centred on pixels 0, 2, 4, ... as in PyTorch
    const make = kind === 'max' ? tfl.layers.maxPooling2d : tfl.layers.averagePooling2d
    const y = ap(make({ poolSize: 3, strides: 1, padding: 'same' }), x)
    return strides === 1 ? y : ap(make({ poolSize: 1, strides: 2, padding: 'valid' }), y)
  }
  const op = (name: DartsOp, x: T, c: number, strides: number): T => {
    switch (name) {
      case 'sep_conv_3x3':
        return sepConv(x, c, 3, strides)
      case 'sep_conv_5x5':
        return sepConv(x, c, 5, strides)
      case 'dil_conv_3x3':
        return dilConv(x, c, 3, strides)
      case 'dil_conv_5x5':
        return dilConv(x, c, 5, strides)
      case 'max_pool_3x3':
        return pool(x, 'max', strides)
      case 'avg_pool_3x3':
        return pool(x, 'avg', strides)
      case 'skip_connect':
        return strides === 1 ? x : factorizedReduce(x, c)
    }
  }

  const cell = (s0: T, s1: T, c: number, reduction: boolean, reductionPrev: boolean) => {
    const states = [reductionPrev ? factorizedReduce(s0, c) : reluConvBn(s0, c), reluConvBn(s1, c)]
    for (const node of reduction ? a.reduce : a.normal) {
      const terms = node.inputs.map((input, j) => {
        const name = node.ops[j]!
        const strides = reduction && input < 2 ? 2 : 1
        const y = op(name, states[input]!, c, strides)
        const identity = name === 'skip_connect' && strides === 1
        return o.dropPath === 0 || identity
          ? y
          : ap(new DropPath({ rate: o.dropPath, seed: dropRng.int(2 ** 31) }), y)
      })
      states.push(ap(tfl.layers.add(), terms))
    }
    // every layer reaches the output: the first node reads both cell inputs, the output concatenates
    // all four nodes
    return ap(tfl.layers.concatenate({ axis: 3 }), states.slice(2))
  }

  const dense = (x: T) =>
    ap(
      tfl.layers.dense({
        units: o.classes,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }),
      }),
      x,
    )
  const auxiliaryHead = (x: T) => {
    const pooled = ap(tfl.layers.averagePooling2d({ poolSize: 5, strides: 3, padding: 'valid' }), relu(x))
    const y = relu(bn(conv(relu(bn(conv(pooled, 128, 1))), 768, 2, 1, 'valid')))
    return dense(ap(tfl.layers.flatten(), y))
  }

  const input = tfl.input({ shape: [...o.inputShape] })
  const stem = bn(conv(input, 3 * o.channels, 3))
  let [s0, s1] = [stem, stem]
  let c = o.channels
  let reductionPrev = false
  const reductions = reductionCells(o.layers)
  let auxLogits: T | undefined
  for (let i = 0; i < o.layers; i++) {
    const reduction = reductions.has(i)
    if (reduction) c *= 2
    ;[s0, s1] = [s1, cell(s0, s1, c, reduction, reductionPrev)]
    reductionPrev = reduction
    if (o.auxiliary && i === auxiliaryCell(o.layers)) auxLogits = auxiliaryHead(s1)
  }
  const logits = dense(ap(tfl.layers.globalAveragePooling2d({}), s1))
  return tfl.model({
    inputs: input,
    outputs: auxLogits === undefined ? logits : [logits, auxLogits],
    name: 'darts',
  })
}
