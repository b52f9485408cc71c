import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'

/** Shared checks of the builder tests (not published: `testing-internal` is left out of the package). */

export const size = (shape: readonly (number | null)[]): number =>
  shape.reduce<number>((p, d) => p * (d ?? 1), 1)

/** Trainable parameters of a built model (BatchNorm's moving statistics left out). */
export const trainableCount = (m: tfl.LayersModel): number =>
  m.trainableWeights.reduce((s, w) => s + size(w.shape), 0)

/** The largest absolute difference between two tensors. */
export const maxDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

/** The NasError code `f` throws, a description of another error, or undefined when it throws nothing. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    return e instanceof NasError ? e.code : `not a NasError: ${String(e)}`
  }
  return undefined
}

/** The NasError `f` throws (anything else is rethrown; no error fails). */
export function errorOf(f: () => unknown): NasError {
  try {
    f()
  } catch (e) {
    if (e instanceof NasError) return e
    throw e
  }
  throw new Error('no error')
}

/** Multiply-accumulates of a built model's convolutions and dense layers, read off its layers. */
export function modelMacs(m: tfl.LayersModel): number {
  let total = 0
  for (const layer of m.layers) {
    const weights = layer.trainableWeights.reduce((s, w) => s + size(w.shape), 0)
    const cls = layer.getClassName()
    if (cls === 'Dense') total += weights
    else if (['Conv2D', 'SeparableConv2D', 'NasDilatedDepthwiseConv2d'].includes(cls)) {
      const [, h, w] = layer.outputShape as number[]
      total += h! * w! * weights
    }
  }
  return total
}
