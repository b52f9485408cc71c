import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>

/** Options of {@link DilatedDepthwiseConv2d}. @since 0.1.0 */
export interface DilatedDepthwiseConv2dArgs extends LayerArgs {
  /** Height and width of the kernel (its weights, before dilation). */
  kernelSize: number
  /** Spacing of the kernel taps; 1 is an ordinary depthwise convolution. */
  dilation: number
  /** Step of the convolution. */
  strides?: number
  /** Zeros added on every side of the input first, as PyTorch's `padding`. */
  padding?: number
  /** Seed of the He-normal initialiser of the kernel. */
  seed?: number
}

/**
 * A depthwise convolution (one `kernelSize` x `kernelSize` filter per channel, no bias) with dilated
 * taps, symmetric zero padding and any stride, as PyTorch's `Conv2d(C, C, k, stride, padding,
 * dilation, groups=C)`. TF.js has no gradient for a dilated depthwise convolution, nor a dilated one
 * with a stride, so this layer spreads its k x k kernel into a (dilation (k - 1) + 1)-wide kernel of
 * zeros (a differentiable reshape and pad) and runs an undilated convolution: the outputs, the
 * parameters (k x k per channel) and the gradients are the dilated convolution's. Registered with
 * `tf.serialization` (class name `NasDilatedDepthwiseConv2d`).
 * @since 0.1.0
 * @category layers
 */
export class DilatedDepthwiseConv2d extends tfl.layers.Layer {
  static readonly className = 'NasDilatedDepthwiseConv2d'
  readonly kernelSize: number
  readonly dilation: number
  readonly strides: number
  readonly padding: number
  readonly seed: number | undefined
  private kernel: tfl.LayerVariable | undefined

  constructor(args: DilatedDepthwiseConv2dArgs) {
    super(args)
    this.kernelSize = args.kernelSize
    this.dilation = args.dilation
    this.strides = args.strides ?? 1
    this.padding = args.padding ?? 0
    this.seed = args.seed
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const k = this.kernelSize
    this.kernel = this.addWeight(
      'depthwise_kernel',
      [k, k, shape[3]!, 1],
      'float32',
      tfl.initializers.heNormal(this.seed === undefined ? {} : { seed: this.seed }),
    )
    this.built = true
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const span = this.dilation * (this.kernelSize - 1) + 1
    const out = (n: number | null) =>
      n === null ? null : Math.floor((n + 2 * this.padding - span) / this.strides) + 1
    return [shape[0]!, out(shape[1]!), out(shape[2]!), shape[3]!]
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D
      const k = this.kernelSize
      const d = this.dilation
      const c = x.shape[3]
      const span = d * (k - 1) + 1
      // tap (i, j) of the kernel moves to (d i, d j); the rows and columns between are zeros
      const spread = tf.pad(tf.reshape(this.kernel!.read(), [k, 1, k, 1, c]), [
        [0, 0],
        [0, d - 1],
        [0, 0],
        [0, d - 1],
        [0, 0],
      ])
      const dilated = tf.slice(tf.reshape(spread, [k * d, k * d, c, 1]), [0, 0, 0, 0], [span, span, c, 1])
      const p = this.padding
      const padded =
        p === 0
          ? x
          : tf.pad(x, [
              [0, 0],
              [p, p],
              [p, p],
              [0, 0],
            ])
      return tf.depthwiseConv2d(padded, dilated as tf.Tensor4D, this.strides, 'valid')
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      kernelSize: this.kernelSize,
      dilation: this.dilation,
      strides: this.strides,
      padding: this.padding,
    }
    if (this.seed !== undefined) config.seed = this.seed
    return config
  }
}
tf.serialization.registerClass(DilatedDepthwiseConv2d)

/** Options of {@link DropPath}. @since 0.1.0 */
export interface DropPathArgs extends LayerArgs {
  /** Probability of zeroing a sample's whole input, in [0, 1). */
  rate: number
  /** Seed of the masks: the n-th training call draws with `seed + n`. */
  seed?: number
}

/**
 * Drop-path (Larsson et al. 2017, _FractalNet_; as in the DARTS code): in training, each sample's
 * input is zeroed with probability `rate` and otherwise scaled by 1 / (1 - rate); at inference it is
 * the identity. `rate` may be changed between steps (the DARTS recipe raises it linearly from 0 over
 * the epochs). Registered with `tf.serialization` (class name `NasDropPath`).
 * @since 0.1.0
 * @category layers
 */
export class DropPath extends tfl.layers.Layer {
  static readonly className = 'NasDropPath'
  /** Probability of dropping a sample's path in a training call. */
  rate: number
  readonly seed: number | undefined
  private calls = 0

  constructor(args: DropPathArgs) {
    super(args)
    this.rate = args.rate
    this.seed = args.seed
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return Array.isArray(inputShape[0]) ? inputShape[0] : inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs
    if (kwargs.training !== true || this.rate <= 0) return tf.clone(x)
    const keep = 1 - this.rate
    const seed = this.seed === undefined ? undefined : this.seed + this.calls
    this.calls++
    return tf.tidy(() => {
      const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)]
      const mask = tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep))
      return tf.mul(x, tf.div(mask, keep))
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), rate: this.rate }
    if (this.seed !== undefined) config.seed = this.seed
    return config
  }
}
tf.serialization.registerClass(DropPath)
