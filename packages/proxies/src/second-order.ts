import * as tf from '@tensorflow/tfjs-core'

type Attrs = Record<string, unknown>

/**
 * Gradients TF.js does not register for two backward kernels, so that a gradient can be
 * differentiated again (GraSP's Hessian-gradient product through convolutions and average pooling).
 * Both kernels are linear in each input, so their gradients are the forward and transposed ops:
 * `Conv2DBackpropFilter(x, dy)` gives `conv2dTranspose(dy, ddw)` for x and `conv2d(x, ddw)` for dy;
 * `AvgPoolGrad(dy, input)` gives `avgPool(ddx)` for dy and nothing for the input. Registered once,
 * on first use, for the whole TF.js instance (TF.js itself has no gradient for these kernels).
 */
let registered = false
export function registerSecondOrderGradients(): void {
  if (registered) return
  registered = true
  if (tf.getGradient('Conv2DBackpropFilter') === undefined) {
    tf.registerGradient({
      kernelName: 'Conv2DBackpropFilter',
      inputsToSave: ['x', 'dy'],
      gradFunc: (ddw: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: Attrs) => {
        const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D]
        const g = ddw as tf.Tensor4D
        const strides = attrs.strides as [number, number]
        const pad = attrs.pad as 'valid' | 'same'
        return {
          x: () => tf.conv2dTranspose(dy, g, x.shape, strides, pad),
          dy: () => tf.conv2d(x, g, strides, pad),
        }
      },
    })
  }
  if (tf.getGradient('AvgPoolGrad') === undefined) {
    tf.registerGradient({
      kernelName: 'AvgPoolGrad',
      inputsToSave: ['input'],
      gradFunc: (ddx: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: Attrs) => ({
        dy: () =>
          tf.avgPool(
            ddx as tf.Tensor4D,
            attrs.filterSize as [number, number],
            attrs.strides as [number, number],
            attrs.pad as 'valid' | 'same',
          ),
        input: () => tf.zerosLike(saved[0]!),
      }),
    })
  }
}
