import { NasError, Rng } from '@nasjs/core'
import type { MbNetwork } from '@nasjs/models'
import type { DslSpace } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

/** PyTorch's BatchNorm epsilon and momentum (OFA's `bn_eps`, `bn_momentum`). */
export const BN_EPS = 1e-5
const BN_MOMENTUM = 0.1

/**
 * BatchNorm statistics of one subnet, by BatchNorm name (what `recalibrate` measures): the mean and
 * the (biased) variance of each of its channels.
 * @since 0.1.0
 */
export type BnStats = ReadonlyMap<string, { readonly mean: Float32Array; readonly variance: Float32Array }>

/** A named tensor of a supernet's state (weights and BatchNorm running statistics). */
export interface NamedArray {
  readonly name: string
  readonly shape: readonly number[]
  readonly values: Float32Array
}

/**
 * How BatchNorm and dropout run in a supernet's forward pass (the options every elastic supernet's
 * `forward` takes).
 * @since 0.2.0
 */
export interface BatchNormOptions {
  /**
   * BatchNorm normalises with the batch's statistics (and the running statistics are updated,
   * unless `onBatchStats` takes them), and dropout applies; otherwise BatchNorm uses `bn` or the
   * running statistics.
   */
  readonly training?: boolean
  /** Dropout rate before the classifier while training (the config's by default; 0 for none). */
  readonly dropout?: number
  /** Seed of the dropout mask. */
  readonly seed?: number
  /** A subnet's own BatchNorm statistics (recalibrated), used when not training. */
  readonly bn?: BnStats
  /** Receives each BatchNorm's batch mean and variance while training (and they update nothing). */
  readonly onBatchStats?: (name: string, mean: tf.Tensor1D, variance: tf.Tensor1D) => void
}

/**
 * What the subnet tools (`recalibrate`, `evaluateSubnet`, `exportSubnet`, `supernetEvaluator`,
 * `trainSupernet`'s sandwich rule) need of a weight-sharing supernet whose subnets are architectures
 * `A` of its `space`: {@link ElasticMbv3} (`ofa-mbv3`) and {@link ElasticFbnet} (`fbnet`) are two.
 * @since 0.2.0
 */
export interface ElasticSupernet<A> {
  readonly config: { readonly inputChannels: number; readonly classes: number }
  /** The space of the subnets. */
  readonly space: DslSpace<A>
  /** Trainable weights by name, in creation order. */
  readonly params: ReadonlyMap<string, tf.Variable>
  readonly trainable: tf.Variable[]
  /** The input side of subnet `arch` (its resolution). */
  resolutionOf(arch: A): number
  /** The logits of subnet `arch` for images `x` at its resolution. */
  forward(arch: A, x: tf.Tensor4D, options?: BatchNormOptions): tf.Tensor2D
  /** The layer-by-layer description of subnet `arch` (what `buildMbNetwork` builds). */
  network(arch: A): MbNetwork
  /** Exact parameters and FLOPs (multiply-accumulates) of subnet `arch`. */
  cost(arch: A): { params: number; flops: number }
  /** The subnet's weights in the order `buildMbNetwork(network(arch))`'s layers hold them. */
  subnetWeights(arch: A, bn?: BnStats): tf.Tensor[]
  updateRunningStats(): void
  discardRunningStats(): void
  state(): NamedArray[]
  load(state: readonly NamedArray[]): void
  dispose(): void
}

interface PendingStats {
  name: string
  mean: tf.Tensor1D
  variance: tf.Tensor1D
  n: number
}

/**
 * The weights, BatchNorm statistics and their bookkeeping that every elastic supernet has: weights and
 * running statistics by name in TF.js variables, BatchNorm over any leading slice of its channels (as
 * OFA's `DynamicBatchNorm2d`), running-statistic updates, checkpoints as named arrays.
 * @internal
 */
export abstract class SupernetWeights {
  /** Trainable weights by name, in creation order. */
  readonly params: ReadonlyMap<string, tf.Variable>
  /** BatchNorm running means and variances (`<bn>/mean`, `<bn>/variance`). */
  readonly buffers: ReadonlyMap<string, tf.Variable>
  protected disposed = false
  private pendingStats: PendingStats[] = []
  private readonly paramsW = new Map<string, tf.Variable>()
  private readonly buffersW = new Map<string, tf.Variable>()
  private readonly rng: Rng

  protected constructor(seed: number) {
    this.params = this.paramsW
    this.buffers = this.buffersW
    this.rng = new Rng(seed)
  }

  /** The trainable variables, in a fixed order (the optimizer's slots follow it). */
  get trainable(): tf.Variable[] {
    return [...this.params.values()]
  }

  /** Adds weight `name` with the values of `init` (disposed). */
  protected add(name: string, init: tf.Tensor): void {
    this.paramsW.set(name, tf.variable(init, true))
    init.dispose()
  }

  /** Adds BatchNorm `name` over `channels`: scale `gamma`, shift 0, running mean 0 and variance 1. */
  protected addBn(name: string, channels: number, gamma = 1): void {
    this.add(`${name}/gamma`, tf.fill([channels], gamma))
    this.add(`${name}/beta`, tf.zeros([channels]))
    this.buffersW.set(
      `${name}/mean`,
      tf.tidy(() => tf.variable(tf.zeros([channels]), false)),
    )
    this.buffersW.set(
      `${name}/variance`,
      tf.tidy(() => tf.variable(tf.ones([channels]), false)),
    )
  }

  /** He normal by fan-out (OFA's and PyTorch's convolution init), seeded from the config's seed. */
  protected heFanOut(shape: number[]): tf.Tensor {
    return tfl.initializers
      .varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: this.rng.int(2 ** 31) })
      .apply(shape)
  }

  /** Glorot uniform, seeded from the config's seed. */
  protected glorot(shape: number[]): tf.Tensor {
    return tfl.initializers.glorotUniform({ seed: this.rng.int(2 ** 31) }).apply(shape)
  }

  protected p(name: string): tf.Variable {
    const v = this.params.get(name)
    if (v === undefined) throw new Error(`no supernet weight '${name}'`)
    return v
  }

  protected assertAlive(): void {
    if (this.disposed) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: 'this supernet has been disposed',
        value: 'disposed',
      })
    }
  }

  /**
   * A BatchNorm function for one forward pass: BatchNorm `name` over the channels of `y` (its first
   * ones), with the batch's statistics when training (handed to `onBatchStats`, or kept for
   * {@link updateRunningStats} once {@link keepBatchStats} is called), else with the subnet's own
   * statistics `bn` or the running ones.
   */
  protected batchNorm(options: BatchNormOptions): {
    bn: (name: string, y: tf.Tensor4D) => tf.Tensor4D
    keepBatchStats: () => void
  } {
    const training = options.training === true
    const collected: PendingStats[] = []
    const bn = (name: string, y: tf.Tensor4D): tf.Tensor4D => {
      const ch = y.shape[3]
      const gamma = slice1(this.p(`${name}/gamma`), ch)
      const beta = slice1(this.p(`${name}/beta`), ch)
      let mean: tf.Tensor1D
      let variance: tf.Tensor1D
      if (training) {
        const m = tf.moments(y, [0, 1, 2])
        mean = m.mean as tf.Tensor1D
        variance = m.variance as tf.Tensor1D
        if (options.onBatchStats !== undefined) options.onBatchStats(name, mean, variance)
        else collected.push({ name, mean: tf.keep(mean), variance: tf.keep(variance), n: y.size / ch })
      } else {
        const own = options.bn?.get(name)
        if (own !== undefined && own.mean.length === ch) {
          mean = tf.tensor1d(own.mean)
          variance = tf.tensor1d(own.variance)
        } else {
          mean = slice1(this.buffers.get(`${name}/mean`)!, ch)
          variance = slice1(this.buffers.get(`${name}/variance`)!, ch)
        }
      }
      return tf.batchNorm(y, mean, variance, beta, gamma, BN_EPS)
    }
    return {
      bn,
      keepBatchStats: () => {
        if (collected.length > 0) this.pendingStats.push(...collected)
      },
    }
  }

  /**
   * The weights of BatchNorm `name` over its first `ch` channels for a standalone model: scale,
   * shift, and the mean and variance from `bn` when it has them, else the running statistics.
   */
  protected bnWeights(name: string, ch: number, bn: BnStats | undefined): tf.Tensor[] {
    const out = [leading(this.p(`${name}/gamma`), [ch]), leading(this.p(`${name}/beta`), [ch])]
    const own = bn?.get(name)
    if (own !== undefined && own.mean.length === ch) {
      out.push(tf.tensor1d(own.mean), tf.tensor1d(own.variance))
    } else {
      out.push(
        leading(this.buffers.get(`${name}/mean`)!, [ch]),
        leading(this.buffers.get(`${name}/variance`)!, [ch]),
      )
    }
    return out
  }

  /**
   * Folds the batch statistics of the training forwards since the last call into the running
   * statistics (momentum 0.1, the unbiased variance, as PyTorch's BatchNorm; a slice updates only
   * its channels, as OFA's `DynamicBatchNorm2d`). The trainer calls it after each step, outside the
   * gradient computation.
   */
  updateRunningStats(): void {
    const pending = this.pendingStats
    this.pendingStats = []
    tf.tidy(() => {
      for (const s of pending) {
        const ch = s.mean.shape[0]
        const unbiased = tf.mul(s.variance, s.n / Math.max(1, s.n - 1))
        for (const [key, batch] of [
          ['mean', s.mean],
          ['variance', unbiased],
        ] as const) {
          const v = this.buffers.get(`${s.name}/${key}`)!
          const total = v.shape[0]
          const head = ch === total ? v : tf.slice(v, [0], [ch])
          const next = tf.add(tf.mul(head, 1 - BN_MOMENTUM), tf.mul(batch, BN_MOMENTUM))
          v.assign(ch === total ? next : tf.concat([next, tf.slice(v, [ch], [total - ch])]))
        }
      }
    })
    tf.dispose(pending.flatMap((s) => [s.mean, s.variance]))
  }

  /** Drops batch statistics collected by training forwards that will not be applied. */
  discardRunningStats(): void {
    tf.dispose(this.pendingStats.flatMap((s) => [s.mean, s.variance]))
    this.pendingStats = []
  }

  /**
   * Every weight and running statistic, by name (weights first, in {@link trainable} order), as
   * plain arrays: a checkpoint.
   */
  state(): NamedArray[] {
    const out: NamedArray[] = []
    for (const [name, v] of [...this.params, ...this.buffers]) {
      out.push({ name, shape: [...v.shape], values: new Float32Array(v.dataSync()) })
    }
    return out
  }

  /** Loads a {@link state}: every name must be present with its shape, else a `CONFIG_INVALID` error. */
  load(state: readonly NamedArray[]): void {
    const byName = new Map(state.map((s) => [s.name, s]))
    for (const [name, v] of [...this.params, ...this.buffers]) {
      const s = byName.get(name)
      if (s === undefined || s.shape.join('x') !== v.shape.join('x')) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `the saved supernet does not fit this config: '${name}' is ${s === undefined ? 'missing' : `[${s.shape.join(', ')}]`}, expected [${v.shape.join(', ')}]`,
          value: s?.shape ?? name,
          allowed: [v.shape],
        })
      }
      tf.tidy(() => v.assign(tf.tensor(s.values, v.shape)))
    }
  }

  /** Frees every variable. */
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.discardRunningStats()
    this.disposeExtra()
    tf.dispose([...this.params.values(), ...this.buffers.values()])
  }

  /** Frees what a subclass holds besides the variables. */
  protected disposeExtra(): void {}
}

/** The first `n` entries of a vector (the vector itself when it has `n`). */
export function slice1(v: tf.Tensor, n: number): tf.Tensor1D {
  return (v.shape[0] === n ? v : tf.slice(v, [0], [n])) as tf.Tensor1D
}

/** A copy of the leading `size` block of `v` (every axis from 0). */
export function leading(v: tf.Tensor, size: readonly number[]): tf.Tensor {
  return v.shape.every((d, i) => d === size[i])
    ? v.clone()
    : tf.slice(
        v,
        v.shape.map(() => 0),
        [...size],
      )
}

type T4 = tf.Tensor4D

/** Zero padding k // 2 on every side before a strided convolution, as PyTorch pads. */
function padded(x: T4, kernel: number, stride: number): [T4, 'same' | 'valid'] {
  const p = Math.floor(kernel / 2)
  if (stride === 1) return [x, 'same']
  return [
    tf.pad(x, [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ]),
    'valid',
  ]
}

/** A convolution with PyTorch's padding (k // 2). */
export function conv(x: T4, w: T4, stride: number): T4 {
  const [input, padding] = padded(x, w.shape[0], stride)
  return tf.conv2d(input, w, stride, padding)
}

/** A depthwise convolution with PyTorch's padding (k // 2). */
export function depthwise(x: T4, w: T4, stride: number): T4 {
  const [input, padding] = padded(x, w.shape[0], stride)
  return tf.depthwiseConv2d(input, w, stride, padding)
}

/**
 * The centre `small` x `small` of a depthwise kernel `w` (`[size, size, channels, 1]`), times the
 * learned `small`^2 x `small`^2 transformation matrix `transform` when given (OFA's
 * `get_active_filter`: each channel's k^2 values times the transposed matrix).
 */
export function centreKernel(w: T4, small: number, transform?: tf.Tensor): T4 {
  const size = w.shape[0]
  const mid = w.shape[2]
  const start = (size - small) / 2
  let out = tf.slice(w, [start, start, 0, 0], [small, small, mid, 1])
  if (transform !== undefined) {
    const flat = tf.reshape(tf.transpose(out, [2, 3, 0, 1]), [mid, small * small])
    const moved = tf.matMul(flat, transform, false, true)
    out = tf.transpose(tf.reshape(moved, [mid, 1, small, small]), [2, 3, 0, 1])
  }
  return out
}
