import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'

/**
 * A BatchNorm's inference parameters (per channel).
 * @since 0.2.0
 */
export interface BatchNormParams {
  readonly gamma?: tf.Tensor1D
  readonly beta?: tf.Tensor1D
  readonly mean: tf.Tensor1D
  readonly variance: tf.Tensor1D
  readonly epsilon?: number
}

/**
 * Folds an inference BatchNorm into the convolution or dense layer before it, as integer inference
 * runs them: with k = gamma / sqrt(variance + epsilon) per output channel, kernel' = kernel * k (the
 * last axis, TF.js's output channels of `[kh, kw, in, out]` and `[in, out]` kernels) and bias' =
 * beta + (bias - mean) * k. The folded layer computes what the layer and the BatchNorm computed
 * together (tested); quantizing the folded kernel is what an integer runtime does.
 * @since 0.2.0
 * @category post-training quantization
 */
export function foldBatchNorm<K extends tf.Tensor2D | tf.Tensor4D>(
  kernel: K,
  bias: tf.Tensor1D | undefined,
  bn: BatchNormParams,
): { kernel: K; bias: tf.Tensor1D } {
  const out = kernel.shape[kernel.rank - 1]!
  for (const [name, t] of Object.entries({
    gamma: bn.gamma,
    beta: bn.beta,
    mean: bn.mean,
    variance: bn.variance,
    bias,
  })) {
    if (t !== undefined && t.size !== out) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `the BatchNorm's ${name} has ${t.size} channels, the kernel ${out} output channels`,
        value: { [name]: t.size, kernel: kernel.shape },
      })
    }
  }
  return tf.tidy(() => {
    const k = tf.div(bn.gamma ?? tf.onesLike(bn.mean), tf.sqrt(tf.add(bn.variance, bn.epsilon ?? 1e-3)))
    const folded = tf.mul<K>(kernel, k)
    const b = tf.add(
      bn.beta ?? tf.zerosLike(bn.mean),
      tf.mul(tf.sub(bias ?? tf.zerosLike(bn.mean), bn.mean), k),
    )
    return { kernel: folded, bias: b as tf.Tensor1D }
  })
}
