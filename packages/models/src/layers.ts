import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'

/**
 * The `none` operation of a cell: zeros shaped like its input (NAS-Bench-201's `Zero`). Registered
 * with `tf.serialization`, so a saved model loads with `tf.loadLayersModel` once this module is
 * imported.
 * @since 0.1.0
 * @category layers
 */
export class Zero extends tfl.layers.Layer {
  static readonly className = 'NasZero'

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs
    return tf.zerosLike(x)
  }
}
tf.serialization.registerClass(Zero)

/**
 * Passes its first input through and ignores the others. A cell node whose result no later node
 * uses is still computed in NAS-Bench-201 (its parameters count, its FLOPs run); a functional TF.js
 * model drops layers its output does not depend on, so the cell output is routed through this layer
 * with such nodes as extra inputs.
 * @since 0.1.0
 * @category layers
 */
export class KeepFirst extends tfl.layers.Layer {
  static readonly className = 'NasKeepFirst'

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return Array.isArray(inputShape[0]) ? inputShape[0] : inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs
    return tf.clone(x)
  }
}
tf.serialization.registerClass(KeepFirst)
