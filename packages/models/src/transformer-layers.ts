import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

/**
 * How a {@link NasMultiHeadAttention} layer mixes the tokens: scaled dot-product self-attention
 * (`sdp`), weighted multiplicative self-attention (`wma`: `q W k^T` with a trainable `W` per head),
 * a fixed linear transform along the sequence (`dft`: the real part of the orthonormal discrete
 * Fourier transform; `dct`: the orthonormal DCT-II), or a dynamic convolution along the sequence
 * (`conv`: each head's kernel of `kernel` taps is predicted from the token and softmax-normalised).
 * @since 0.1.0
 */
export type NasAttentionMode = 'sdp' | 'wma' | 'dft' | 'dct' | 'conv'

/** @since 0.1.0 */
export interface NasMultiHeadAttentionArgs {
  heads: number
  headDim: number
  mode?: NasAttentionMode
  /** taps of the `conv` mode (odd) */
  kernel?: number
  seed?: number
  name?: string
}

type Kernel = tfl.LayerVariable

/**
 * Multi-head token mixing of a `[batch, tokens, dim]` sequence with its own heads and head size:
 * query, key, value and output projections with biases (the value and output projections only for
 * the transform modes; value, output and kernel-generator projections for `conv`). The output has
 * the input's dim. Registered as `NasMultiHeadAttention` (import `@nasjs/models` before loading a
 * saved model that uses it).
 * @since 0.1.0
 * @category layers
 */
export class NasMultiHeadAttention extends tfl.layers.Layer {
  static readonly className = 'NasMultiHeadAttention'
  readonly heads: number
  readonly headDim: number
  readonly mode: NasAttentionMode
  readonly kernel: number
  readonly seed: number
  private w: Record<string, Kernel> = {}

  constructor(args: NasMultiHeadAttentionArgs) {
    super(args.name === undefined ? {} : { name: args.name })
    this.heads = args.heads
    this.headDim = args.headDim
    this.mode = args.mode ?? 'sdp'
    this.kernel = args.kernel ?? 1
    this.seed = args.seed ?? 0
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const d = s[s.length - 1]!
    const inner = this.heads * this.headDim
    let n = 0
    const glorot = () => tfl.initializers.glorotUniform({ seed: this.seed + n++ })
    const zeros = tfl.initializers.zeros()
    const dense = (name: string, cin: number, cout: number) => {
      this.w[`${name}Kernel`] = this.addWeight(`${name}_kernel`, [cin, cout], 'float32', glorot())
      this.w[`${name}Bias`] = this.addWeight(`${name}_bias`, [cout], 'float32', zeros)
    }
    if (this.mode === 'sdp' || this.mode === 'wma') {
      dense('query', d, inner)
      dense('key', d, inner)
    }
    dense('value', d, inner)
    if (this.mode === 'wma') {
      this.w.similarity = this.addWeight(
        'similarity',
        [this.heads, this.headDim, this.headDim],
        'float32',
        glorot(),
      )
    }
    if (this.mode === 'conv') dense('gate', d, this.heads * this.kernel)
    dense('output', inner, d)
    this.built = true
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return Array.isArray(inputShape[0]) ? inputShape[0] : inputShape
  }

  private lin(x: tf.Tensor3D, name: string): tf.Tensor3D {
    const k = this.w[`${name}Kernel`]!.read() as tf.Tensor2D
    const b = this.w[`${name}Bias`]!.read()
    const [bs, n, d] = x.shape
    return tf.reshape(tf.add(tf.matMul(tf.reshape(x, [bs * n, d]), k), b), [bs, n, k.shape[1]])
  }

  /** `[batch, tokens, heads*headDim]` -> `[batch, heads, tokens, headDim]` */
  private split(x: tf.Tensor3D): tf.Tensor4D {
    const [b, n] = x.shape
    return tf.transpose(tf.reshape(x, [b, n, this.heads, this.headDim]), [0, 2, 1, 3])
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D
      const [b, n] = x.shape
      const inner = this.heads * this.headDim
      const v = this.lin(x, 'value')
      let mixed: tf.Tensor3D
      if (this.mode === 'sdp' || this.mode === 'wma') {
        let q = this.split(this.lin(x, 'query'))
        const k = this.split(this.lin(x, 'key'))
        if (this.mode === 'wma') {
          // per head: q W, as [heads, batch*tokens, headDim] x [heads, headDim, headDim]
          const qh = tf.reshape(tf.transpose(q, [1, 0, 2, 3]), [this.heads, b * n, this.headDim])
          const qw = tf.matMul(qh, this.w.similarity!.read())
          q = tf.transpose(tf.reshape(qw, [this.heads, b, n, this.headDim]), [1, 0, 2, 3])
        }
        const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(this.headDim))
        const att = tf.matMul(tf.softmax(scores), this.split(v)) // [b, h, n, hd]
        mixed = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [b, n, inner])
      } else if (this.mode === 'dft' || this.mode === 'dct') {
        // the same transform of every channel along the sequence: T [n, n] x v as [n, b*inner]
        const t = tf.tensor2d(sequenceTransform(this.mode, n), [n, n])
        const vt = tf.reshape(tf.transpose(v, [1, 0, 2]), [n, b * inner])
        mixed = tf.transpose(tf.reshape(tf.matMul(t, vt), [n, b, inner]), [1, 0, 2])
      } else {
        const k = this.kernel
        const half = (k - 1) / 2
        const g = tf.softmax(tf.reshape(this.lin(x, 'gate'), [b, n, this.heads, k])) // over the taps
        const padded = tf.pad(v, [
          [0, 0],
          [half, half],
          [0, 0],
        ])
        const taps = tf.stack(
          Array.from({ length: k }, (_, j) => tf.slice(padded, [0, j, 0], [b, n, inner])),
          2,
        ) // [b, n, k, inner]
        const t5 = tf.reshape(taps, [b, n, k, this.heads, this.headDim])
        const g5 = tf.expandDims(tf.transpose(g, [0, 1, 3, 2]), 4) // [b, n, k, heads, 1]
        mixed = tf.reshape(tf.sum(tf.mul(t5, g5), 2), [b, n, inner])
      }
      return this.lin(mixed, 'output')
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      heads: this.heads,
      headDim: this.headDim,
      mode: this.mode,
      kernel: this.kernel,
      seed: this.seed,
    }
  }
}
tf.serialization.registerClass(NasMultiHeadAttention)

/**
 * The `n x n` matrix of the `dft` mode (the real part of the orthonormal DFT: `cos(2 pi j k / n) /
 * sqrt(n)`) or the `dct` mode (the orthonormal DCT-II), row-major.
 * @internal
 */
export function sequenceTransform(mode: 'dft' | 'dct', n: number): Float32Array {
  const t = new Float32Array(n * n)
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) {
      t[j * n + k] =
        mode === 'dft'
          ? Math.cos((2 * Math.PI * j * k) / n) / Math.sqrt(n)
          : Math.sqrt((j === 0 ? 1 : 2) / n) * Math.cos((Math.PI * (2 * k + 1) * j) / (2 * n))
    }
  }
  return t
}

/** @since 0.1.0 */
export interface NasTokenEmbeddingArgs {
  /** prepend a trainable class token */
  classToken?: boolean
  seed?: number
  name?: string
}

/**
 * Prepends a trainable class token (optional) to a `[batch, tokens, dim]` sequence and adds a learned
 * position embedding (one per token, the class token's included); both start from a normal
 * distribution of standard deviation 0.02 truncated at two deviations. Registered as
 * `NasTokenEmbedding`.
 * @since 0.1.0
 * @category layers
 */
export class NasTokenEmbedding extends tfl.layers.Layer {
  static readonly className = 'NasTokenEmbedding'
  readonly classToken: boolean
  readonly seed: number
  private cls?: Kernel
  private pos?: Kernel

  constructor(args: NasTokenEmbeddingArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name })
    this.classToken = args.classToken ?? false
    this.seed = args.seed ?? 0
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const [n, d] = [s[1]!, s[2]!]
    const init = (seed: number) => tfl.initializers.truncatedNormal({ stddev: 0.02, seed })
    if (this.classToken) this.cls = this.addWeight('class_token', [1, 1, d], 'float32', init(this.seed))
    this.pos = this.addWeight(
      'position_embedding',
      [1, n + (this.classToken ? 1 : 0), d],
      'float32',
      init(this.seed + 1),
    )
    this.built = true
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    return [s[0]!, s[1]! + (this.classToken ? 1 : 0), s[2]!]
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D
      if (this.cls) {
        const c = tf.tile(this.cls.read(), [x.shape[0], 1, 1])
        x = tf.concat([c as tf.Tensor3D, x], 1)
      }
      return tf.add(x, this.pos!.read())
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), classToken: this.classToken, seed: this.seed }
  }
}
tf.serialization.registerClass(NasTokenEmbedding)

/**
 * The first token of a `[batch, tokens, dim]` sequence, `[batch, dim]` (the class token). Registered
 * as `NasFirstToken`.
 * @since 0.1.0
 * @category layers
 */
export class NasFirstToken extends tfl.layers.Layer {
  static readonly className = 'NasFirstToken'

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    return [s[0]!, s[2]!]
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D
      return tf.reshape(tf.slice(x, [0, 0, 0], [x.shape[0], 1, x.shape[2]]), [x.shape[0], x.shape[2]])
    })
  }
}
tf.serialization.registerClass(NasFirstToken)
