import { Rng } from '@nasjs/core'
import type { Nb201Arch } from '@nasjs/search-space'
import { nb201 } from '@nasjs/search-space'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import type { LatencyBlockSpec } from './hardware/block-spec.js'
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
  const p = nb201Parts(o.seed)
  const input = tfl.input({ shape: [...o.inputShape] })
  let x = p.stem(input, o.channels)
  for (let stage = 0; stage < 3; stage++) {
    const c = o.channels << stage
    if (stage > 0) x = p.reduce(x, c)
    for (let n = 0; n < o.cellsPerStage; n++) x = p.cell(x, a, c)
  }
  return tfl.model({ inputs: input, outputs: p.head(x, o.classes), name: 'nb201' })
}

type T = tfl.SymbolicTensor

/**
 * The builders of an NB201 network's parts, drawing their initialisers' seeds in network order from
 * one stream, so parts applied in order build exactly {@link buildNb201}'s model.
 */
function nb201Parts(seedOf: number) {
  const rng = new Rng(seedOf)
  const seed = () => rng.int(2 ** 31)
  const bn = (x: T) => tfl.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5 }).apply(x) as T
  const conv = (x: T, filters: number, kernelSize: number, strides = 1) => {
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
            .apply(x) as T)
    return tfl.layers
      .conv2d({
        filters,
        kernelSize,
        strides,
        padding: strides === 1 ? 'same' : 'valid',
        useBias: false,
        kernelInitializer: tfl.initializers.heNormal({ seed: seed() }),
      })
      .apply(input) as T
  }
  const reluConvBn = (x: T, filters: number, kernelSize: number, strides = 1) =>
    bn(conv(tfl.layers.reLU().apply(x) as T, filters, kernelSize, strides))
  /** The same tensor twice in one sum goes through an identity once more: TF.js's inference executor frees a tensor fed twice to one layer too early. */
  const dup = (t: T) => tfl.layers.activation({ activation: 'linear' }).apply(t) as T
  const add = (xs: T[]) => {
    if (xs.length === 1) return xs[0]!
    const seen = new Set<T>()
    const distinct = xs.map((t) => {
      if (!seen.has(t)) {
        seen.add(t)
        return t
      }
      return dup(t)
    })
    return tfl.layers.add().apply(distinct) as T
  }
  const op = (h: T, name: Nb201Op, c: number): T | undefined => {
    if (name === 'nor_conv_3x3') return reluConvBn(h, c, 3)
    if (name === 'nor_conv_1x1') return reluConvBn(h, c, 1)
    if (name === 'avg_pool_3x3')
      return tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(h) as T
    if (name === 'skip_connect') return h
    return undefined
  }
  return {
    bn,
    dup,
    add,
    op,
    zero: (x: T) => new Zero({}).apply(x) as T,
    keep: (xs: T[]) => new KeepFirst({}).apply(xs) as T,
    stem: (x: T, c: number) => bn(conv(x, c, 3)),
    /** The residual reduction block to `c` channels. */
    reduce(x: T, c: number): T {
      const branch = reluConvBn(reluConvBn(x, c, 3, 2), c, 3)
      const pooled = tfl.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid' }).apply(x)
      const shortcut = conv(pooled as T, c, 1)
      return add([shortcut, branch])
    },
    cell(x: T, a: Nb201Arch, c: number): T {
      const nodes: T[] = [x]
      for (let j = 1; j <= 3; j++) {
        const terms: T[] = []
        NB201_EDGES.forEach(([to, from], e) => {
          if (to !== j) return
          const y = op(nodes[from]!, a[e]!, c)
          if (y !== undefined) terms.push(y)
        })
        // an edge that is `none` adds zero; a node whose edges are all `none` is zero
        nodes.push(terms.length > 0 ? add(terms) : (new Zero({}).apply(x) as T))
      }
      const dead = nb201DeadNodes(a, nodes)
      return dead.length === 0 ? nodes[3]! : (new KeepFirst({}).apply([nodes[3]!, ...dead]) as T)
    },
    head(x: T, classes: number): T {
      const y = tfl.layers.globalAveragePooling2d({}).apply(tfl.layers.reLU().apply(bn(x))) as T
      return tfl.layers
        .dense({ units: classes, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
        .apply(y) as T
    },
  }
}

type Nb201Op = Nb201Arch[number]

/**
 * Nodes 1 and 2 when no operation carries them on to node 3 are still computed, as in the benchmark:
 * the distinct tensors of such nodes that are neither node 3 nor the input (a dead node that is one of
 * the kept tensors, a skip connection, needs no keeping).
 */
function nb201DeadNodes<N>(a: Nb201Arch, nodes: readonly N[]): N[] {
  const live = new Set([3])
  for (let e = NB201_EDGES.length - 1; e >= 0; e--) {
    const [to, from] = NB201_EDGES[e]!
    if (live.has(to) && a[e] !== 'none') live.add(from)
  }
  return [...new Set([1, 2].filter((j) => !live.has(j)).map((j) => nodes[j]!))].filter(
    (t) => t !== nodes[3] && t !== nodes[0],
  )
}

/**
 * The blocks of the NB201 network of `arch` and how many times each runs (the cells' operations
 * counted over every cell), such that the network is exactly these blocks: what a latency table sums.
 * @internal
 */
export function nb201Blocks(arch: Nb201Arch, options?: Nb201NetworkOptions): LatencyBlockSpec[] {
  const a = nb201.validate(arch)
  const o = parseOptions(options)
  const [h0, w0, cin] = o.inputShape
  const byKey = new Map<string, LatencyBlockSpec>()
  const put = (
    key: string,
    inputShape: readonly [number, number, number],
    count: number,
    apply: LatencyBlockSpec['apply'],
    contains?: LatencyBlockSpec['contains'],
  ) => {
    const b = byKey.get(key)
    byKey.set(key, {
      key,
      inputShape,
      count: (b?.count ?? 0) + count,
      apply,
      ...(contains === undefined ? {} : { contains }),
    })
  }
  /** `k` copies of x through identities summed (or kept): the identities are dup blocks of their own. */
  const copies = (p: ReturnType<typeof nb201Parts>, x: T, k: number) => [
    x,
    ...Array.from({ length: k - 1 }, () => p.dup(x)),
  ]
  put(`stem:${h0}x${w0}x${cin}>${o.channels}`, [h0, w0, cin], 1, (x, s) => nb201Parts(s).stem(x, o.channels))
  let [h, w] = [h0, w0]
  for (let stage = 0; stage < 3; stage++) {
    const c = o.channels << stage
    if (stage > 0) {
      const shape = [h, w, c / 2] as const
      put(`reduce:${h}x${w}x${c / 2}>${c}`, shape, 1, (x, s) => nb201Parts(s).reduce(x, c))
      ;[h, w] = [h / 2, w / 2]
    }
    const at = `${h}x${w}x${c}`
    const shape = [h, w, c] as const
    const n = o.cellsPerStage
    const dupKey = `dup:${at}`
    // the cell's structure, as nb201Parts.cell builds it: which tensors each node sums
    const nodes: string[] = ['x']
    for (let j = 1; j <= 3; j++) {
      const terms: string[] = []
      NB201_EDGES.forEach(([to, from], e) => {
        if (to !== j) return
        const op = a[e]!
        if (op === 'none') return
        if (op === 'skip_connect') terms.push(nodes[from]!)
        else {
          put(`op:${op}:${at}`, shape, n, (x, s) => nb201Parts(s).op(x, op, c)!)
          terms.push(`${op}@${e}`)
        }
      })
      if (terms.length === 0) {
        put(`zero:${at}`, shape, n, (x, s) => nb201Parts(s).zero(x))
        nodes.push(`zero@${j}`)
      } else if (terms.length === 1) nodes.push(terms[0]!)
      else {
        const k = terms.length
        put(`add${k}:${at}`, shape, n, (x, s) => tfl.layers.add().apply(copies(nb201Parts(s), x, k)) as T, [
          { key: dupKey, count: k - 1 },
        ])
        // the identity for a tensor summed twice is a block of its own (counted 0 times when no
        // tensor is), measured for the sums built on identities too
        put(dupKey, shape, n * (terms.length - new Set(terms).size), (x, s) => nb201Parts(s).dup(x))
        nodes.push(`sum@${j}`)
      }
    }
    const dead = nb201DeadNodes(a, nodes)
    if (dead.length > 0) {
      const k = dead.length + 1
      put(dupKey, shape, 0, (x, s) => nb201Parts(s).dup(x))
      put(
        `keep${k}:${at}`,
        shape,
        n,
        (x, s) => {
          const p = nb201Parts(s)
          return p.keep(copies(p, x, k))
        },
        [{ key: dupKey, count: k - 1 }],
      )
    }
  }
  put(`head:${h}x${w}x${o.channels << 2}>${o.classes}`, [h, w, o.channels << 2], 1, (x, s) =>
    nb201Parts(s).head(x, o.classes),
  )
  return [...byKey.values()]
}
