import { NasError, Rng } from '@nasjs/core'
import { parseConfig } from '@nasjs/models'
import type { DartsArch, DartsCell, DartsOp } from '@nasjs/search-space'
import { DARTS_PRIMITIVES, darts } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import { conv, depthwise } from '../base.js'
import type { EdgeMixing, OneShotSupernet } from './cell-supernet.js'
import {
  MixedOpWeights,
  mixedOpFields,
  mixOperations,
  partialChannelEdge,
  resumeError,
} from './cell-supernet.js'

const BN_EPS = 1e-5
type T4 = tf.Tensor4D

/** Edges of a DARTS cell: node i (0..3) takes every earlier state (2 inputs + i nodes). */
const EDGES_PER_CELL = 14
/** The (node, input) of each of a cell's 14 edges, in the order of the DARTS code's `_ops`. */
const CELL_EDGES: readonly (readonly [number, number])[] = [0, 1, 2, 3].flatMap((i) =>
  Array.from({ length: i + 2 }, (_, j) => [i, j] as const),
)

/** BatchNorm with the batch's statistics, no scale or shift (the search cells' `affine=False`). */
function plainBn(y: T4): T4 {
  const { mean, variance } = tf.moments(y, [0, 1, 2])
  return tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, BN_EPS)))
}

/** Every second row and column from the first: a stride-2 output from a stride-1 map. */
const every2 = (y: T4): T4 => tf.avgPool(y, 1, 2, 'valid')

/**
 * Depthwise kernel `w` (`[k, k, c, 1]`) at dilation 2: `[2k - 1, 2k - 1, c, 1]` with the taps on the
 * even rows and columns and zeros between, made by matrix products so it has a gradient.
 * @internal
 */
export function dilated(w: T4): T4 {
  const [k, , c] = w.shape
  const m = 2 * k - 1
  const spread = tf.tensor2d(
    Array.from({ length: m * k }, (_, i) => (Math.floor(i / k) === 2 * (i % k) ? 1 : 0)),
    [m, k],
  )
  const rows = tf.reshape(tf.matMul(spread, tf.reshape(w, [k, k * c])), [m, k, c])
  const cols = tf.matMul(spread, tf.reshape(tf.transpose(rows, [1, 0, 2]), [k, m * c]))
  return tf.reshape(tf.transpose(tf.reshape(cols, [m, m, c]), [1, 0, 2]), [m, m, c, 1])
}

/**
 * The DARTS code's FactorizedReduce: ReLU, then two stride-2 1x1 convolutions, one on the input and
 * one on it shifted by a pixel down and right, each to half the channels, concatenated, BatchNorm.
 * @internal
 */
export function dartsFactorizedReduce(h: T4, name: string, w: (name: string) => T4, bn: (y: T4) => T4): T4 {
  const r = tf.relu(h)
  const [n, hh, ww, ch] = r.shape
  const shifted = tf.slice(r, [0, 1, 1, 0], [n, hh - 1, ww - 1, ch])
  return bn(tf.concat([conv(r, w(`${name}/a`), 2), conv(shifted, w(`${name}/b`), 2)], 3))
}

/**
 * Primitive `k` (DARTS_PRIMITIVES order) of an edge with weights `w(<p>/...)` on `h`, with stride
 * 1 or 2 and PyTorch's padding; undefined for `none`. Strided pooling and dilated convolutions run
 * at stride 1 and keep every second row and column, which is the strided operation with PyTorch's
 * symmetric padding (windows centred on the even pixels); 'same' pooling leaves the padding out, as
 * PyTorch's max pooling and `count_include_pad=False` do.
 * @internal
 */
export function dartsPrimitive(
  k: number,
  h: T4,
  stride: number,
  p: string,
  w: (name: string) => T4,
  bn: (y: T4) => T4,
  sharp = false,
): T4 | undefined {
  const s = (y: T4) => (stride === 1 ? y : every2(y))
  const name = DARTS_PRIMITIVES[k]
  switch (name) {
    case 'none':
      return undefined
    case 'max_pool_3x3':
      return bn(s(tf.maxPool(h, 3, 1, 'same')))
    case 'avg_pool_3x3':
      return bn(s(tf.avgPool(h, 3, 1, 'same')))
    case 'skip_connect':
      return stride === 1 ? h : dartsFactorizedReduce(h, `${p}/skip`, w, bn)
    case 'sep_conv_3x3':
    case 'sep_conv_5x5': {
      const q = `${p}/sep${name === 'sep_conv_3x3' ? 3 : 5}`
      const y = bn(conv(depthwise(tf.relu(h), w(`${q}/dw1`), stride), w(`${q}/pw1`), 1))
      return bn(conv(depthwise(tf.relu(y), w(`${q}/dw2`), 1), w(`${q}/pw2`), 1))
    }
    case 'dil_conv_3x3':
    case 'dil_conv_5x5': {
      // the kernel spread to dilation 2 (TF.js has no gradient for a dilated depthwise
      // convolution); 'same' then pads k - 1 on each side: PyTorch's padding
      const q = `${p}/dil${name === 'dil_conv_3x3' ? 3 : 5}`
      const d = tf.depthwiseConv2d(tf.relu(h), dilated(w(`${q}/dw`)), 1, 'same')
      const y = bn(conv(s(d), w(`${q}/pw`), 1))
      // sharpDARTS's SharpSepConv: a second stage, undilated, with stride 1
      return sharp ? bn(conv(depthwise(tf.relu(y), w(`${q}/dw2`), 1), w(`${q}/pw2`), 1)) : y
    }
    default:
      throw new NasError({ code: 'INTERNAL', message: `no DARTS primitive ${k}` })
  }
}

/**
 * The mixed-operation DARTS search network (zod, strict, defaults filled in). The defaults are the
 * DARTS paper's CIFAR-10 search network (16 channels, 8 cells, 32x32x3, 10 classes); smaller
 * `channels` and `layers` give a scaled-down one that searches on two cores. PC-DARTS's partial
 * channels and edge normalisation apply as on NB201.
 * @since 0.2.0
 * @category one-shot
 */
export const DartsCellSupernetConfig = z
  .object({
    space: z.literal('darts').default('darts').describe("the cell space (this supernet's kind)"),
    channels: z.number().int().min(1).default(16).describe('C: channels of a first-stage cell node'),
    layers: z
      .number()
      .int()
      .min(3)
      .default(8)
      .describe('cells; those at layers // 3 and 2 layers // 3 are reduction cells'),
    ...mixedOpFields,
    sharpSepConv: z
      .boolean()
      .default(false)
      .describe(
        "sharpDARTS: the dilated convolutions are SharpSepConv blocks (a second, undilated depthwise and pointwise stage), as sharpDARTS's operations are",
      ),
  })
  .strict()
  .refine((c) => c.channels % c.partialChannels === 0 && (c.channels / c.partialChannels) % 2 === 0, {
    message:
      'channels / partialChannels must be a whole even number (a strided skip_connect splits its channels in two; partialChannels 1 needs even channels)',
    path: ['channels'],
  })
/** @since 0.2.0 */
export type DartsCellSupernetConfig = z.input<typeof DartsCellSupernetConfig>
/** The parsed {@link DartsCellSupernetConfig}. @since 0.2.0 */
export type DartsCellSupernetShape = z.output<typeof DartsCellSupernetConfig>

/**
 * The DARTS search network with a mixed operation on every edge of every cell (Liu, Simonyan and
 * Yang 2019; the reference is `Network`, `Cell` and `MixedOp` of the DARTS code's
 * `model_search.py`, which PC-DARTS extends): a 3x3 convolution stem to 3C channels with BatchNorm,
 * then `layers` cells, those at layers // 3 and 2 layers // 3 reduction cells that double the
 * channels and halve the resolution. A cell brings its two inputs (the outputs of the two cells
 * before it) to C channels (ReLU-Conv1x1-BN, or a FactorizedReduce when the first is twice the
 * cell's resolution); each of its 4 nodes sums the mixed edges from every earlier state, and the cell
 * outputs the 4 nodes concatenated (4C channels). An edge mixes the 8 primitives of the DARTS space
 * (`none`, 3x3 max and average pooling each followed by BatchNorm, `skip_connect` (a FactorizedReduce
 * where it has stride 2), separable 3x3 and 5x5 convolutions (ReLU, depthwise, pointwise, BN, twice)
 * and dilated 3x3 and 5x5 ones (ReLU, depthwise with dilation 2, pointwise, BN)); in a reduction cell
 * the edges from its two inputs have stride 2. Global average pooling and a linear head. As in the
 * reference's search network, the cells' BatchNorms have no scale or shift; as nasjs's NB201 search
 * network, every BatchNorm normalises with the batch's statistics.
 *
 * The architecture weights are one variable of 28 rows x 8 primitives: the normal cell's 14 edges,
 * then the reduction cell's (each 1e-3 N(0, 1) at the start, as the reference), so every method of
 * `searchCell` that works edge by edge works here. `derive()` is the reference's `genotype()`: each
 * node keeps the two incoming edges whose strongest primitive other than `none` is strongest, with
 * that primitive.
 * @since 0.2.0
 * @category one-shot
 */
export class DartsCellSupernet extends MixedOpWeights implements OneShotSupernet<DartsArch> {
  readonly config: DartsCellSupernetShape
  /** The indices of the reduction cells (layers // 3 and 2 layers // 3). */
  readonly reductions: ReadonlySet<number>

  constructor(config: DartsCellSupernetConfig = {}) {
    const c = parseConfig(DartsCellSupernetConfig, config, 'DARTS cell supernet option')
    const rng = new Rng(c.seed)
    const params = new Map<string, tf.Variable>()
    /** PyTorch's default initialisation: uniform within 1 / sqrt(fan-in). */
    const uniform = (name: string, shape: number[], fanIn: number) => {
      const bound = 1 / Math.sqrt(fanIn)
      const values = new Float32Array(shape.reduce((p, d) => p * d, 1)).map(() =>
        rng.uniformIn(-bound, bound),
      )
      params.set(
        name,
        tf.tidy(() => tf.variable(tf.tensor(values, shape), true)),
      )
    }
    const convW = (name: string, k: number, cin: number, cout: number) =>
      uniform(name, [k, k, cin, cout], k * k * cin)
    const dwW = (name: string, k: number, ch: number) => uniform(name, [k, k, ch, 1], k * k)
    const reduce = (name: string, cin: number, cout: number) => {
      convW(`${name}/a`, 1, cin, cout / 2)
      convW(`${name}/b`, 1, cin, cout / 2)
    }
    const [, , cin] = c.inputShape
    const C = c.channels
    convW('stem/conv', 3, cin, 3 * C)
    params.set(
      'stem/bn/gamma',
      tf.tidy(() => tf.variable(tf.ones([3 * C]), true)),
    )
    params.set(
      'stem/bn/beta',
      tf.tidy(() => tf.variable(tf.zeros([3 * C]), true)),
    )
    const reductions = new Set([Math.floor(c.layers / 3), Math.floor((2 * c.layers) / 3)])
    let [cpp, cp, cc] = [3 * C, 3 * C, C]
    let reductionPrev = false
    for (let l = 0; l < c.layers; l++) {
      const reduction = reductions.has(l)
      if (reduction) cc *= 2
      if (reductionPrev) reduce(`c${l}/pre0`, cpp, cc)
      else convW(`c${l}/pre0`, 1, cpp, cc)
      convW(`c${l}/pre1`, 1, cp, cc)
      const part = cc / c.partialChannels
      CELL_EDGES.forEach(([, j], e) => {
        const p = `c${l}e${e}`
        for (const k of [3, 5]) {
          dwW(`${p}/sep${k}/dw1`, k, part)
          convW(`${p}/sep${k}/pw1`, 1, part, part)
          dwW(`${p}/sep${k}/dw2`, k, part)
          convW(`${p}/sep${k}/pw2`, 1, part, part)
          dwW(`${p}/dil${k}/dw`, k, part)
          convW(`${p}/dil${k}/pw`, 1, part, part)
          if (c.sharpSepConv) {
            dwW(`${p}/dil${k}/dw2`, k, part)
            convW(`${p}/dil${k}/pw2`, 1, part, part)
          }
        }
        if (reduction && j < 2) reduce(`${p}/skip`, part, part)
      })
      reductionPrev = reduction
      ;[cpp, cp] = [cp, 4 * cc]
    }
    uniform('head/kernel', [cp, c.classes], cp)
    uniform('head/bias', [c.classes], cp)
    // 1e-3 * N(0, 1), as the reference initialises the architecture parameters
    const a = new Float32Array(2 * EDGES_PER_CELL * DARTS_PRIMITIVES.length).map(() => 1e-3 * rng.normal())
    const alphas = tf.tidy(() =>
      tf.variable(tf.tensor2d(a, [2 * EDGES_PER_CELL, DARTS_PRIMITIVES.length]), true),
    )
    const b = new Float32Array(2 * EDGES_PER_CELL).map(() => 1e-3 * rng.normal())
    const betas = c.edgeNormalization ? tf.tidy(() => tf.variable(tf.tensor1d(b), true)) : undefined
    super('DARTS cell supernet', params, alphas, betas)
    this.config = c
    this.reductions = reductions
  }

  /** The cell space: `darts`. */
  get spaceId(): string {
    return 'darts'
  }

  /** Logits of a batch of images (NHWC) with each edge mixed as `mixing` says. */
  forward(x: tf.Tensor4D, mixing: EdgeMixing<DartsArch> = { kind: 'softmax' }): tf.Tensor2D {
    this.assertAlive()
    const c = this.config
    const rows = 2 * EDGES_PER_CELL
    const ops = DARTS_PRIMITIVES.length
    if (x.shape.slice(1).join('x') !== c.inputShape.join('x')) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `the DARTS cell supernet takes images of ${c.inputShape.join('x')}, got ${x.shape.slice(1).join('x')}`,
        value: x.shape,
        allowed: [c.inputShape],
      })
    }
    if (
      (mixing.kind === 'hard' || mixing.kind === 'weights') &&
      mixing.weights.shape.join('x') !== `${rows}x${ops}`
    ) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `edge weights must have shape [${rows}, ${ops}], got [${mixing.weights.shape.join(', ')}]`,
        value: mixing.weights.shape,
      })
    }
    if (
      mixing.kind === 'hard' &&
      (mixing.index.length !== rows || mixing.index.some((k) => !Number.isInteger(k) || k < 0 || k >= ops))
    ) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `hard edge mixing needs one primitive index in 0..${ops - 1} for each of the ${rows} edges`,
        value: mixing.index,
      })
    }
    const arch = mixing.kind === 'arch' ? darts.validate(mixing.arch) : undefined
    const skip = mixing.kind === 'weights' && mixing.all !== true ? mixing.weights.arraySync() : undefined
    return tf.tidy(() => {
      const w4 = (name: string) => this.p(name) as T4
      const primitive = (k: number, h: T4, stride: number, p: string) =>
        dartsPrimitive(k, h, stride, p, w4, plainBn, c.sharpSepConv)
      const factorizedReduce = (h: T4, name: string) => dartsFactorizedReduce(h, name, w4, plainBn)
      const zerosOut = (h: T4, stride: number): T4 =>
        stride === 1 ? tf.zerosLike(h) : tf.zerosLike(every2(h))
      const weightRows =
        mixing.kind === 'softmax'
          ? tf.unstack(tf.softmax(this.alphas))
          : mixing.kind === 'weights'
            ? tf.unstack(mixing.weights)
            : undefined
      const hardRows = mixing.kind === 'hard' ? tf.unstack(mixing.weights) : undefined
      /** Edge `e` of a cell (row `r` of the weights) on `h`, undefined when it adds nothing. */
      const edge = (
        r: number,
        e: number,
        h: T4,
        stride: number,
        p: string,
        chosen: DartsCell | undefined,
      ): T4 | undefined => {
        if (chosen !== undefined) {
          const [node, j] = CELL_EDGES[e]!
          const at = chosen[node]!.inputs.indexOf(j)
          if (at < 0) return undefined
          return primitive(DARTS_PRIMITIVES.indexOf(chosen[node]!.ops[at]!), h, stride, p)
        }
        return mixOperations(
          ops,
          (hardRows ?? weightRows)![r]!,
          (k) => primitive(k, h, stride, p),
          () => zerosOut(h, stride),
          mixing.kind === 'hard' ? mixing.index[r] : undefined,
          (i) => skip?.[r]![i] === 0,
        )
      }
      const K = c.partialChannels
      /** PC-DARTS: the first 1/K of the channels through the edge, the rest by it (max-pooled where the edge has stride 2), then shuffled. */
      const partialEdge = (
        r: number,
        e: number,
        h: T4,
        stride: number,
        p: string,
        chosen: DartsCell | undefined,
      ) => {
        if (K === 1) return edge(r, e, h, stride, p, chosen)
        if (chosen !== undefined) {
          // one fixed cell: an edge the genotype leaves out adds nothing, not even its bypass
          const [node, j] = CELL_EDGES[e]!
          if (!chosen[node]!.inputs.includes(j)) return undefined
        }
        return partialChannelEdge(
          h,
          K,
          (x) => edge(r, e, x, stride, p, chosen),
          (x) => zerosOut(x, stride),
          stride === 2 ? (x) => tf.maxPool(x, 2, 2, 'valid') : undefined,
        )
      }
      const betaRows = this.betas === undefined || arch !== undefined ? undefined : this.betas
      // the stem's BatchNorm has a scale and shift
      const stem = conv(x, w4('stem/conv'), 1)
      const m = tf.moments(stem, [0, 1, 2])
      let s0 = tf.batchNorm<tf.Rank.R4>(
        stem,
        m.mean as tf.Tensor1D,
        m.variance as tf.Tensor1D,
        this.p('stem/bn/beta') as tf.Tensor1D,
        this.p('stem/bn/gamma') as tf.Tensor1D,
        BN_EPS,
      )
      let s1 = s0
      let reductionPrev = false
      for (let l = 0; l < c.layers; l++) {
        const reduction = this.reductions.has(l)
        const chosen = arch === undefined ? undefined : reduction ? arch.reduce : arch.normal
        const pre0 = reductionPrev
          ? factorizedReduce(s0, `c${l}/pre0`)
          : plainBn(conv(tf.relu(s0), w4(`c${l}/pre0`), 1))
        const pre1 = plainBn(conv(tf.relu(s1), w4(`c${l}/pre1`), 1))
        const states: T4[] = [pre0, pre1]
        let offset = 0
        for (let i = 0; i < 4; i++) {
          // edge normalisation: softmax of beta over the node's incoming edges
          const row0 = (reduction ? EDGES_PER_CELL : 0) + offset
          const norm = betaRows === undefined ? undefined : tf.softmax(tf.slice(betaRows, [row0], [i + 2]))
          let sum: tf.Tensor | undefined
          for (let j = 0; j < i + 2; j++) {
            const e = offset + j
            const stride = reduction && j < 2 ? 2 : 1
            let out: tf.Tensor | undefined = partialEdge(
              row0 + j,
              e,
              states[j]!,
              stride,
              `c${l}e${e}`,
              chosen,
            )
            if (out === undefined) continue
            if (norm !== undefined) out = tf.mul(out, tf.squeeze(tf.slice(norm, [j], [1])))
            sum = sum === undefined ? out : tf.add(sum, out)
          }
          states.push((sum ?? zerosOut(states[1]!, reduction ? 2 : 1)) as T4)
          offset += i + 2
        }
        s0 = s1
        s1 = tf.concat(states.slice(2), 3)
        reductionPrev = reduction
      }
      const f = tf.mean<tf.Tensor2D>(s1, [1, 2])
      return tf.add(tf.matMul(f, this.p('head/kernel') as tf.Tensor2D), this.p('head/bias'))
    })
  }

  /** softmax(alpha) per edge, as plain rows (28 x 8: the normal cell's 14 edges, then the reduction cell's). */
  opWeights(): number[][] {
    this.assertAlive()
    return tf.tidy(() => tf.softmax(this.alphas).arraySync())
  }

  /**
   * The cells the architecture weights choose, as the DARTS code's `genotype()`: for each node the
   * two incoming edges whose strongest primitive other than `none` is strongest (with edge
   * normalisation, each edge's weights first times its softmax(beta) share, as PC-DARTS), each with
   * that primitive; ties go to the earlier edge and primitive.
   */
  derive(): DartsArch {
    const w = this.opWeights()
    const shares = this.betas === undefined ? undefined : this.edgeShares()
    const none = DARTS_PRIMITIVES.indexOf('none')
    const cellOf = (base: number): DartsCell => {
      const out: DartsCell = []
      let offset = 0
      for (let i = 0; i < 4; i++) {
        const candidates = Array.from({ length: i + 2 }, (_, j) => {
          const row = w[base + offset + j]!.map((v) => v * (shares?.[base + offset + j] ?? 1))
          let best = -1
          for (let k = 0; k < row.length; k++) if (k !== none && (best < 0 || row[k]! > row[best]!)) best = k
          return { j, best, strength: row[best]! }
        })
        const top = [...candidates]
          .sort((a, b) => b.strength - a.strength)
          .slice(0, 2)
          .sort((a, b) => a.j - b.j)
        out.push({
          inputs: top.map((t) => t.j),
          ops: top.map((t) => DARTS_PRIMITIVES[t.best] as DartsOp),
        })
        offset += i + 2
      }
      return out
    }
    return darts.validate({ normal: cellOf(0), reduce: cellOf(EDGES_PER_CELL) })
  }

  /** softmax(beta) over each node's incoming edges, one share per edge row (28). */
  private edgeShares(): number[] {
    const b = Array.from(this.betas!.dataSync())
    const out: number[] = []
    for (const base of [0, EDGES_PER_CELL]) {
      let offset = 0
      for (let i = 0; i < 4; i++) {
        const part = b.slice(base + offset, base + offset + i + 2)
        const m = Math.max(...part)
        const e = part.map((v) => Math.exp(v - m))
        const s = e.reduce((x, y) => x + y, 0)
        out.push(...e.map((v) => v / s))
        offset += i + 2
      }
    }
    return out
  }

  /** Throws `CONFIG_INVALID` unless a checkpoint's supernet shape is this one's. */
  checkCheckpointShape(saved: unknown): void {
    const shape = DartsCellSupernetConfig.safeParse(saved)
    if (!shape.success || JSON.stringify(shape.data) !== JSON.stringify(this.config)) {
      throw resumeError('it was made with another supernet config', saved)
    }
  }
}
