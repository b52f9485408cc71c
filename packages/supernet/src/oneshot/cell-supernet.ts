import { NasError, Rng } from '@nasjs/core'
import { NB201_EDGES, parseConfig } from '@nasjs/models'
import { NB201_OPS, nb201, type Nb201Arch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import type { NamedArray } from '../elastic.js'

const BN_EPS = 1e-5

/** The (target node, source node) of the six edges of an NB201 cell, in the architecture's order. */
const EDGES = NB201_EDGES

/** The operations of an NB201 edge, in the order of the architecture weights' columns. */
export const CELL_OPS = NB201_OPS

/**
 * The fields the NB201 and DARTS mixed-operation supernets share: the input, the classes, the seed
 * and PC-DARTS's partial channels and edge normalisation. @internal
 */
export const mixedOpFields = {
  inputShape: z
    .tuple([z.number().int().min(4), z.number().int().min(4), z.number().int().min(1)])
    .default([32, 32, 3])
    .refine(([h, w]) => h % 4 === 0 && w % 4 === 0, {
      message: 'height and width must be multiples of 4 (the network halves them twice)',
    }),
  classes: z.number().int().min(2).default(10),
  seed: z.number().int().default(0).describe('seed of the initial weights'),
  partialChannels: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe(
      "PC-DARTS: 1/K of the channels go through an edge's mixed operation, the rest pass by, then a channel shuffle (1: all)",
    ),
  edgeNormalization: z
    .boolean()
    .default(false)
    .describe('PC-DARTS: each node weights its incoming edges by softmax(beta) over them'),
}

/**
 * The mixed-operation NB201 supernet (zod, strict, defaults filled in). The defaults are the
 * benchmark's CIFAR-10 search network (16 channels, 5 cells per stage, 32x32x3, 10 classes); smaller
 * `channels` and `cellsPerStage` give a scaled-down one that searches on two cores.
 * @since 0.2.0
 * @category one-shot
 */
export const CellSupernetConfig = z
  .object({
    channels: z.number().int().min(1).default(16).describe('channels of the first stage (doubled twice)'),
    cellsPerStage: z.number().int().min(1).default(5).describe('cells in each of the three stages'),
    ...mixedOpFields,
    opMask: z
      .array(z.array(z.boolean()).length(CELL_OPS.length))
      .length(EDGES.length)
      .refine((rows) => rows.every((r) => r.some(Boolean)), {
        message: 'every edge needs at least one operation',
      })
      .optional()
      .describe(
        'few-shot NAS: the operations each edge may use (6 x 5, CELL_OPS order; absent: all), as a sub-supernet of a split has',
      ),
  })
  .strict()
  .refine((c) => c.channels % c.partialChannels === 0, {
    message: 'channels must be a multiple of partialChannels',
    path: ['partialChannels'],
  })
/** @since 0.2.0 */
export type CellSupernetConfig = z.input<typeof CellSupernetConfig>
/** The parsed {@link CellSupernetConfig}. @since 0.2.0 */
export type CellSupernetShape = z.output<typeof CellSupernetConfig>

/**
 * How each edge mixes its operations in {@link CellSupernet.forward}:
 * - `{ kind: 'softmax' }`: the weighted sum over all operations with softmax(alpha) (DARTS);
 * - `{ kind: 'hard', weights, index }`: only operation `index[e]` of edge e runs, scaled by
 *   `weights[e][index[e]]`, plus the other weights of the row (zero in value; they carry the
 *   gradient), GDAS's straight-through Gumbel sample;
 * - `{ kind: 'arch', arch }`: one fixed cell (each edge its operation alone);
 * - `{ kind: 'weights', weights, all }`: the weighted sum with the given weights (6 x 5); an
 *   operation of weight exactly 0 is not run (perturbation-based selection masks operations and
 *   fixes edges so) unless `all` (ProxylessNAS's binary gates: 0 in value, with a gradient that
 *   needs every operation's output).
 * @since 0.2.0
 */
export type EdgeMixing<A = Nb201Arch> =
  | { readonly kind: 'softmax' }
  | { readonly kind: 'hard'; readonly weights: tf.Tensor2D; readonly index: readonly number[] }
  | { readonly kind: 'arch'; readonly arch: A }
  | { readonly kind: 'weights'; readonly weights: tf.Tensor2D; readonly all?: boolean }

/**
 * What `searchCell` needs of a mixed-operation supernet whose derived cells are architectures `A`:
 * {@link CellSupernet} (NB201) and `DartsCellSupernet` (DARTS) are two. The architecture weights are
 * one matrix of edges x operations, so every method that works edge by edge works on either.
 * @since 0.2.0
 */
export interface OneShotSupernet<A> {
  /** The cell space (`nb201`, `darts`). */
  readonly spaceId: string
  readonly config: {
    readonly inputShape: readonly [number, number, number]
    readonly classes: number
    /** Few-shot NAS's operation mask (NB201 only). */
    readonly opMask?: readonly (readonly boolean[])[] | undefined
  }
  /** The architecture weights: edges x operations. */
  readonly alphas: tf.Variable<tf.Rank.R2>
  /** PC-DARTS's edge-normalisation weights, one per edge (with edge normalisation). */
  readonly betas: tf.Variable<tf.Rank.R1> | undefined
  readonly archVariables: tf.Variable[]
  /** The network weights, in a fixed order (optimizer slots follow it). */
  readonly weights: tf.Variable[]
  forward(x: tf.Tensor4D, mixing?: EdgeMixing<A>): tf.Tensor2D
  /** softmax(alpha) per edge, as plain rows. */
  opWeights(): number[][]
  /** The cell the architecture weights choose. */
  derive(): A
  /** Throws `CONFIG_INVALID` unless a checkpoint made with the supernet shape `saved` resumes here. */
  checkCheckpointShape(saved: unknown): void
  state(): NamedArray[]
  load(state: readonly NamedArray[]): void
  dispose(): void
}

/**
 * The network weights and architecture weights of a mixed-operation supernet, by name, with their
 * checkpoints (named arrays) and disposal.
 * @internal
 */
export abstract class MixedOpWeights {
  private disposed = false

  protected constructor(
    /** What the errors call it ('cell supernet', 'DARTS cell supernet'). */
    private readonly kindName: string,
    /** The network weights by name, in creation order. */
    readonly params: ReadonlyMap<string, tf.Variable>,
    /** The architecture weights: edges x operations. */
    readonly alphas: tf.Variable<tf.Rank.R2>,
    /** PC-DARTS's edge-normalisation weights (one per edge), when the config asks for them. */
    readonly betas: tf.Variable<tf.Rank.R1> | undefined,
  ) {}

  /** The architecture weights: `alphas`, and `betas` with edge normalisation. */
  get archVariables(): tf.Variable[] {
    return this.betas === undefined ? [this.alphas] : [this.alphas, this.betas]
  }

  /** The names of {@link weights}, in their order. */
  get weightNames(): string[] {
    return [...this.params.keys()]
  }

  /** The network weights (not the architecture weights), in creation order. */
  get weights(): tf.Variable[] {
    return [...this.params.values()]
  }

  protected p(name: string): tf.Tensor {
    this.assertAlive()
    const v = this.params.get(name)
    if (v === undefined) throw new NasError({ code: 'INTERNAL', message: `no weight '${name}'` })
    return v
  }

  protected assertAlive(): void {
    if (this.disposed) {
      throw new NasError({ code: 'INPUT_INVALID', message: `this ${this.kindName} was disposed` })
    }
  }

  /** Every network weight and the architecture weights, as plain arrays (a checkpoint). */
  state(): NamedArray[] {
    this.assertAlive()
    return [...this.params, ...this.archEntries()].map(([name, v]) => ({
      name,
      shape: [...v.shape],
      values: new Float32Array(v.dataSync()),
    }))
  }

  /** Loads a {@link state} of a supernet of the same config; `CONFIG_INVALID` when it does not fit. */
  load(state: readonly NamedArray[]): void {
    this.assertAlive()
    const byName = new Map(state.map((s) => [s.name, s]))
    for (const [name, v] of [...this.params, ...this.archEntries()]) {
      const s = byName.get(name)
      if (s === undefined || s.shape.join('x') !== v.shape.join('x')) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `the saved ${this.kindName} does not fit this config: '${name}' is ${s === undefined ? 'missing' : `[${s.shape.join(', ')}]`}, expected [${v.shape.join(', ')}]`,
          value: s?.shape ?? name,
          allowed: [v.shape],
        })
      }
      tf.tidy(() => v.assign(tf.tensor(s.values, v.shape as number[])))
    }
  }

  private archEntries(): [string, tf.Variable][] {
    return this.betas === undefined
      ? [['alphas', this.alphas]]
      : [
          ['alphas', this.alphas],
          ['betas', this.betas],
        ]
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    tf.dispose([...this.params.values(), ...this.archVariables])
  }
}

/**
 * The NAS-Bench-201 search network with a mixed operation on every edge (Dong and Yang 2020; the
 * reference is the `TinyNetworkDarts` / `SearchCell` of the NAS-Bench-201 code): a 3x3 convolution
 * stem with BatchNorm, three stages of cells (channels, 2x, 4x) joined by residual reduction blocks,
 * BatchNorm, ReLU, global average pooling and a linear head. In a cell, node j sums the mixed edges
 * from the earlier nodes; an edge's operations are `none` (zero), `skip_connect`, ReLU-Conv1x1-BN,
 * ReLU-Conv3x3-BN and a 3x3 average pooling (padding not counted). As in the reference's search
 * setting, the cells' BatchNorms have no scale or shift (`affine=False`) and every BatchNorm
 * normalises with the batch's statistics (`track_running_stats=False`). The architecture weights
 * (`alphas`, 6 edges x 5 operations, shared by all cells) are a variable apart from the network
 * weights (`weights`), so each has its own optimizer.
 * @since 0.2.0
 * @category one-shot
 */
export class CellSupernet extends MixedOpWeights implements OneShotSupernet<Nb201Arch> {
  readonly config: CellSupernetShape

  constructor(config: CellSupernetConfig = {}) {
    const c = parseConfig(CellSupernetConfig, config, 'cell supernet option')
    const rng = new Rng(c.seed)
    const params = new Map<string, tf.Variable>()
    const he = (name: string, shape: [number, number, number, number]) => {
      // He (Kaiming) normal by fan-out, as the reference's conv init; drawn from the seed
      const n = shape[0] * shape[1] * shape[3]
      const std = Math.sqrt(2 / n)
      const values = new Float32Array(shape.reduce((p, d) => p * d, 1))
      for (let i = 0; i < values.length; i++) values[i] = rng.normal(0, std)
      params.set(
        name,
        tf.tidy(() => tf.variable(tf.tensor4d(values, shape), true)),
      )
    }
    const bn = (name: string, ch: number) => {
      params.set(
        `${name}/gamma`,
        tf.tidy(() => tf.variable(tf.ones([ch]), true)),
      )
      params.set(
        `${name}/beta`,
        tf.tidy(() => tf.variable(tf.zeros([ch]), true)),
      )
    }
    const [, , cin] = c.inputShape
    he('stem/conv', [3, 3, cin, c.channels])
    bn('stem/bn', c.channels)
    for (let s = 0; s < 3; s++) {
      const ch = c.channels << s
      if (s > 0) {
        he(`reduce${s}/conv_a`, [3, 3, ch / 2, ch])
        bn(`reduce${s}/bn_a`, ch)
        he(`reduce${s}/conv_b`, [3, 3, ch, ch])
        bn(`reduce${s}/bn_b`, ch)
        he(`reduce${s}/shortcut`, [1, 1, ch / 2, ch])
      }
      for (let n = 0; n < c.cellsPerStage; n++) {
        for (let e = 0; e < EDGES.length; e++) {
          const part = ch / c.partialChannels
          he(`s${s}c${n}e${e}/conv1x1`, [1, 1, part, part])
          he(`s${s}c${n}e${e}/conv3x3`, [3, 3, part, part])
        }
      }
    }
    const last = c.channels << 2
    bn('head/bn', last)
    const bound = 1 / Math.sqrt(last)
    const w = new Float32Array(last * c.classes).map(() => rng.uniformIn(-bound, bound))
    params.set(
      'head/kernel',
      tf.tidy(() => tf.variable(tf.tensor2d(w, [last, c.classes]), true)),
    )
    const b = new Float32Array(c.classes).map(() => rng.uniformIn(-bound, bound))
    params.set(
      'head/bias',
      tf.tidy(() => tf.variable(tf.tensor1d(b), true)),
    )
    // 1e-3 * N(0, 1), as the reference initialises the architecture parameters
    const a = new Float32Array(EDGES.length * CELL_OPS.length).map(() => 1e-3 * rng.normal())
    const alphas = tf.tidy(() => tf.variable(tf.tensor2d(a, [EDGES.length, CELL_OPS.length]), true))
    const b2 = new Float32Array(EDGES.length).map(() => 1e-3 * rng.normal())
    const betas = c.edgeNormalization ? tf.tidy(() => tf.variable(tf.tensor1d(b2), true)) : undefined
    super('cell supernet', params, alphas, betas)
    this.config = c
  }

  /** The cell space: `nb201`. */
  get spaceId(): string {
    return 'nb201'
  }

  /**
   * Throws `CONFIG_INVALID` unless a checkpoint made with supernet shape `saved` resumes here: the
   * same shape, and this supernet's operation mask the same as the checkpoint's or narrower (a
   * sub-supernet of a few-shot split continues its parent's run).
   */
  checkCheckpointShape(saved: unknown): void {
    const shape = CellSupernetConfig.safeParse(saved)
    const { opMask: savedMask, ...saved0 } = shape.success ? shape.data : { opMask: undefined }
    const { opMask: mask, ...now } = this.config
    if (!shape.success || JSON.stringify(saved0) !== JSON.stringify(now))
      throw resumeError('it was made with another supernet config', saved)
    if (
      mask === undefined
        ? savedMask !== undefined
        : mask.some((r, e) => r.some((b, k) => b && savedMask?.[e]![k] === false))
    )
      throw resumeError("this supernet's operation mask is not the checkpoint's or narrower", savedMask)
  }

  /** Logits of a batch of images (NHWC) with each edge mixed as `mixing` says. */
  forward(x: tf.Tensor4D, mixing: EdgeMixing = { kind: 'softmax' }): tf.Tensor2D {
    this.assertAlive()
    const c = this.config
    if (x.shape.slice(1).join('x') !== c.inputShape.join('x')) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `the cell supernet takes images of ${c.inputShape.join('x')}, got ${x.shape.slice(1).join('x')}`,
        value: x.shape,
        allowed: [c.inputShape],
      })
    }
    const arch = mixing.kind === 'arch' ? nb201.validate(mixing.arch) : undefined
    if (
      mixing.kind === 'hard' &&
      (mixing.weights.shape.join('x') !== this.alphas.shape.join('x') ||
        mixing.index.length !== EDGES.length ||
        mixing.index.some((k) => !Number.isInteger(k) || k < 0 || k >= CELL_OPS.length))
    ) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `hard edge mixing needs weights of shape [${this.alphas.shape.join(', ')}] and one operation index in 0..${CELL_OPS.length - 1} per edge`,
        value: { weights: mixing.weights.shape, index: mixing.index },
      })
    }
    if (mixing.kind === 'weights' && mixing.weights.shape.join('x') !== this.alphas.shape.join('x')) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `edge weights must have shape [${this.alphas.shape.join(', ')}], got [${mixing.weights.shape.join(', ')}]`,
        value: mixing.weights.shape,
      })
    }
    const skip = mixing.kind === 'weights' && mixing.all !== true ? mixing.weights.arraySync() : undefined
    return tf.tidy(() => {
      const bn = (y: tf.Tensor4D, name?: string): tf.Tensor4D => {
        const { mean, variance } = tf.moments(y, [0, 1, 2])
        if (name === undefined) {
          // no scale or shift: (y - mean) / sqrt(variance + eps) (the fused op records an
          // undefined scale for its gradient)
          return tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, BN_EPS)))
        }
        return tf.batchNorm<tf.Rank.R4>(
          y,
          mean as tf.Tensor1D,
          variance as tf.Tensor1D,
          this.p(`${name}/beta`) as tf.Tensor1D,
          this.p(`${name}/gamma`) as tf.Tensor1D,
          BN_EPS,
        )
      }
      const relu = (y: tf.Tensor4D) => tf.relu(y)
      const conv = (y: tf.Tensor4D, w: string, stride = 1): tf.Tensor4D => {
        const k = this.p(w) as tf.Tensor4D
        if (stride === 1) return tf.conv2d(y, k, 1, 'same')
        const p = Math.floor(k.shape[0] / 2)
        const padded = tf.pad(y, [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ])
        return tf.conv2d(padded, k, stride, 'valid')
      }
      const weights =
        mixing.kind === 'softmax'
          ? this.softmaxWeights()
          : mixing.kind === 'weights'
            ? mixing.weights
            : undefined
      const rows = weights === undefined ? undefined : tf.unstack(weights)
      const hardRows = mixing.kind === 'hard' ? tf.unstack(mixing.weights) : undefined
      const opOut = (op: number, h: tf.Tensor4D, prefix: string): tf.Tensor4D | undefined => {
        switch (CELL_OPS[op]) {
          case 'none':
            return undefined
          case 'skip_connect':
            return h
          case 'nor_conv_1x1':
            return bn(conv(relu(h), `${prefix}/conv1x1`))
          case 'nor_conv_3x3':
            return bn(conv(relu(h), `${prefix}/conv3x3`))
          default:
            return tf.avgPool<tf.Tensor4D>(h, 3, 1, 'same')
        }
      }
      const edge = (e: number, h: tf.Tensor4D, prefix: string): tf.Tensor4D | undefined => {
        if (arch !== undefined) return opOut(CELL_OPS.indexOf(arch[e]!), h, prefix)
        const row = (hardRows ?? rows)![e]!
        return mixOperations(
          CELL_OPS.length,
          row,
          (k) => opOut(k, h, prefix),
          () => tf.zerosLike(h),
          mixing.kind === 'hard' ? mixing.index[e] : undefined,
          (i) => skip?.[e]![i] === 0 || (mixing.kind === 'softmax' && c.opMask?.[e]![i] === false),
        )
      }
      const K = c.partialChannels
      /** PC-DARTS: the first 1/K of the channels through the edge, the rest by it, then shuffled. */
      const partialEdge = (e: number, h: tf.Tensor4D, prefix: string): tf.Tensor4D | undefined => {
        if (K === 1) return edge(e, h, prefix)
        return partialChannelEdge(
          h,
          K,
          (x) => edge(e, x, prefix),
          (x) => tf.zerosLike(x),
        )
      }
      const betaRows = this.betas === undefined ? undefined : this.betas
      const cell = (h: tf.Tensor4D, prefix: string): tf.Tensor4D => {
        const nodes: tf.Tensor4D[] = [h]
        for (let j = 1; j <= 3; j++) {
          let sum: tf.Tensor | undefined
          const incoming = EDGES.flatMap(([to], e) => (to === j ? [e] : []))
          // edge normalisation: softmax of beta over the node's incoming edges
          const norm =
            betaRows === undefined || arch !== undefined
              ? undefined
              : tf.softmax(tf.gather(betaRows, incoming))
          incoming.forEach((e, i) => {
            const from = EDGES[e]![1]
            let out: tf.Tensor | undefined = partialEdge(e, nodes[from]!, `${prefix}e${e}`)
            if (out === undefined) return
            if (norm !== undefined) out = tf.mul(out, tf.squeeze(tf.slice(norm, [i], [1])))
            sum = sum === undefined ? out : tf.add(sum, out)
          })
          nodes.push((sum ?? tf.zerosLike(h)) as tf.Tensor4D)
        }
        return nodes[3]!
      }
      let h = bn(conv(x, 'stem/conv'), 'stem/bn')
      for (let s = 0; s < 3; s++) {
        if (s > 0) {
          const r = `reduce${s}`
          const a = bn(conv(relu(h), `${r}/conv_a`, 2), `${r}/bn_a`)
          const b = bn(conv(relu(a), `${r}/conv_b`), `${r}/bn_b`)
          const shortcut = conv(tf.avgPool<tf.Tensor4D>(h, 2, 2, 'valid'), `${r}/shortcut`)
          h = tf.add(shortcut, b)
        }
        for (let n = 0; n < c.cellsPerStage; n++) h = cell(h, `s${s}c${n}`)
      }
      const f = tf.mean<tf.Tensor2D>(relu(bn(h, 'head/bn')), [1, 2])
      return tf.add(tf.matMul(f, this.p('head/kernel') as tf.Tensor2D), this.p('head/bias'))
    })
  }

  /** softmax(alpha) per edge, as plain rows (6 x 5); an operation the `opMask` leaves out has 0. */
  opWeights(): number[][] {
    this.assertAlive()
    return tf.tidy(() => this.softmaxWeights().arraySync())
  }

  /**
   * softmax(alpha) over each edge's operations, those `opMask` leaves out at exactly 0 (with no
   * gradient), in a tensor (6 x 5).
   */
  softmaxWeights(): tf.Tensor2D {
    const mask = this.config.opMask
    if (mask === undefined) return tf.softmax(this.alphas)
    return tf.tidy(() =>
      tf.softmax(tf.add(this.alphas, tf.tensor2d(mask.map((r) => r.map((b) => (b ? 0 : -1e9)))))),
    )
  }

  /**
   * The cell of the largest architecture weight on every edge (`none` included, as the reference's
   * `genotype()`).
   */
  derive(): Nb201Arch {
    return this.opWeights().map((row) => CELL_OPS[row.indexOf(Math.max(...row))]!) as unknown as Nb201Arch
  }
}

/** The `CONFIG_INVALID` error of a checkpoint that cannot resume a one-shot search. @internal */
export function resumeError(why: string, value: unknown): NasError {
  return new NasError({
    code: 'CONFIG_INVALID',
    message: `cannot resume this one-shot search from the checkpoint: ${why}`,
    value,
  })
}

/**
 * One edge's mixed output: with `hard` (GDAS), operation `hard` alone scaled by its weight (1 in
 * value) plus the other weights of the row (0 in value, so every architecture weight of the edge
 * gets its gradient); otherwise the sum of every operation's output times its weight, leaving out
 * the operations `skip` names and those that output nothing (`none`). Undefined when nothing adds.
 * @internal
 */
export function mixOperations(
  ops: number,
  row: tf.Tensor,
  run: (k: number) => tf.Tensor4D | undefined,
  zeros: () => tf.Tensor4D,
  hard?: number,
  skip?: (k: number) => boolean,
): tf.Tensor4D | undefined {
  const w = (i: number) => tf.squeeze<tf.Scalar>(tf.slice(row, [i], [1]))
  if (hard !== undefined) {
    const out = run(hard)
    let sum: tf.Tensor = out === undefined ? zeros() : tf.mul(out, w(hard))
    for (let i = 0; i < ops; i++) if (i !== hard) sum = tf.add(sum, w(i))
    return sum as tf.Tensor4D
  }
  let sum: tf.Tensor | undefined
  for (let i = 0; i < ops; i++) {
    if (skip?.(i) === true) continue
    const out = run(i)
    if (out === undefined) continue
    const term = tf.mul(out, w(i))
    sum = sum === undefined ? term : tf.add(sum, term)
  }
  return sum as tf.Tensor4D | undefined
}

/**
 * PC-DARTS's partial channel connection: the first 1/K of `h`'s channels through `edge` (zeros
 * when it adds nothing), the rest past it (through `bypass`, e.g. max pooling on a strided edge),
 * joined and shuffled in K groups. @internal
 */
export function partialChannelEdge(
  h: tf.Tensor4D,
  K: number,
  edge: (x: tf.Tensor4D) => tf.Tensor4D | undefined,
  zeros: (x: tf.Tensor4D) => tf.Tensor4D,
  bypass: (x: tf.Tensor4D) => tf.Tensor4D = (x) => x,
): tf.Tensor4D {
  const [n, hh, ww, ch] = h.shape
  const part = ch / K
  const through = tf.slice(h, [0, 0, 0, 0], [n, hh, ww, part])
  const by = bypass(tf.slice(h, [0, 0, 0, part], [n, hh, ww, ch - part]))
  const joined = tf.concat([edge(through) ?? zeros(through), by], 3)
  const [n2, h2, w2] = joined.shape
  // channel shuffle with K groups: (K, C/K) -> (C/K, K)
  return tf.reshape(tf.transpose(tf.reshape(joined, [n2, h2, w2, K, part]), [0, 1, 2, 4, 3]), [
    n2,
    h2,
    w2,
    ch,
  ])
}
