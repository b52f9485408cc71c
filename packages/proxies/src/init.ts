import { NasError, type Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'

/**
 * Weight initialisations a proxy study may want the network to start from.
 * - `pytorch`: PyTorch's defaults, as the NAS-Bench-Suite-Zero networks started: every convolution
 *   and dense kernel and bias uniform in +-1/sqrt(fan_in) (`kaiming_uniform_(a=sqrt(5))`), BatchNorm
 *   scale 1 and shift 0, moving mean 0 and variance 1.
 * @since 0.1.0
 * @category proxies
 */
export type Initialisation = 'pytorch'

/**
 * Re-initialises `model` in place (see {@link Initialisation}), drawing from `rng`: proxies that read
 * the weights' scale (`l2_norm`, and through the head every loss-gradient proxy) depend on it.
 * @since 0.1.0
 * @category proxies
 */
export function reinitialize(model: tfl.LayersModel, scheme: Initialisation, rng: Rng): void {
  if (scheme !== 'pytorch') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `unknown initialisation '${String(scheme)}'`,
      value: scheme,
      allowed: ['pytorch'],
    })
  }
  for (const layer of model.layers) {
    const cls = layer.getClassName()
    const kernels = layer.weights.filter((w) => /kernel$/.test(w.originalName))
    const fanIn = (shape: number[]) =>
      cls === 'DepthwiseConv2D' ||
      cls === 'NasDilatedDepthwiseConv2d' ||
      /depthwise_kernel$/.test(kernels[0]?.originalName ?? '')
        ? shape[0]! * shape[1]!
        : shape.slice(0, -1).reduce((p, d) => p * d, 1)
    let lastFanIn = 1
    for (const w of layer.weights) {
      const name = w.originalName.split('/').pop()!
      const shape = w.shape.map((d) => d ?? 1)
      let value: tf.Tensor | undefined
      if (/kernel$/.test(name)) {
        const f = /pointwise_kernel$/.test(name)
          ? shape.slice(0, -1).reduce((p, d) => p * d, 1)
          : fanIn(shape)
        lastFanIn = f
        const bound = 1 / Math.sqrt(f)
        value = tf.randomUniform(shape, -bound, bound, 'float32', rng.int(2 ** 31))
      } else if (name === 'bias') {
        const bound = 1 / Math.sqrt(lastFanIn)
        value = tf.randomUniform(shape, -bound, bound, 'float32', rng.int(2 ** 31))
      } else if (name === 'gamma' || name === 'moving_variance') value = tf.ones(shape)
      else if (name === 'beta' || name === 'moving_mean') value = tf.zeros(shape)
      if (value) {
        w.write(value)
        value.dispose()
      }
    }
  }
}
