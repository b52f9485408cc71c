import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

/**
 * The benchmark CNN: three 3x3 convolutions (32, 64 stride 2, 64 stride 2, ReLU) on 28x28x1 inputs,
 * then a dense softmax layer over 10 classes. `bench/torch_train.py` builds the same network.
 */
export function smallCnn(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 32,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  })
}

/** Depthwise separable block: 3x3 depthwise + BN + ReLU6, 1x1 pointwise + BN + ReLU6. */
function separableBlock(layers: tfl.layers.Layer[], filters: number, strides: number) {
  layers.push(
    tfl.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false }),
    tfl.layers.batchNormalization(),
    tfl.layers.activation({ activation: 'relu6' }),
    tfl.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false }),
    tfl.layers.batchNormalization(),
    tfl.layers.activation({ activation: 'relu6' }),
  )
}

/**
 * The benchmark MobileNet-style network (Howard et al. 2017): a 3x3 stride-2 stem (16) + BN +
 * ReLU6, depthwise separable blocks 32, 64 (stride 2), 64, 128 (stride 2), global average pooling,
 * dense softmax over 10 classes, on 28x28x1 inputs.
 */
export function mobileNetLike(): tfl.Sequential {
  const layers: tfl.layers.Layer[] = [
    tfl.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
    }),
    tfl.layers.batchNormalization(),
    tfl.layers.activation({ activation: 'relu6' }),
  ]
  separableBlock(layers, 32, 1)
  separableBlock(layers, 64, 2)
  separableBlock(layers, 64, 1)
  separableBlock(layers, 128, 2)
  layers.push(tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({ units: 10, activation: 'softmax' }))
  return tfl.sequential({ layers })
}

/** A seeded batch of `n` images `[n, 28, 28, 1]` in [0, 1) and one-hot labels `[n, 10]`. */
export function syntheticBatch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomUniform<tf.Rank.R4>([n, 28, 28, 1], 0, 1, 'float32', seed)
    const labels = tf.randomUniform<tf.Rank.R1>([n], 0, 10, 'int32', seed + 1)
    return { x, y: tf.cast(tf.oneHot(labels, 10), 'float32') as tf.Tensor2D }
  })
}

/**
 * Overwrites every kernel of `model` with seeded Glorot-uniform values (biases, batch-norm
 * parameters and statistics keep their initial zeros and ones), so the same model is built on every
 * run. Parity tests need this: with unseeded weights about one draw in thirty puts a pre-activation
 * within float32 rounding of a ReLU kink, where two correct backends route the gradient differently.
 */
export function seedWeights(model: tfl.LayersModel, seed: number): void {
  model.weights.forEach((w, k) => {
    if (!/kernel$/.test(w.originalName)) return
    const values = tfl.initializers.glorotUniform({ seed: seed * 1000 + k }).apply(w.shape)
    w.write(values)
    values.dispose()
  })
}
