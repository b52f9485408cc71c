import { Rng } from '@nasjs/core'
import type { Dataset } from '@nasjs/models'
import { mbNetworkCost } from '@nasjs/models'
import * as tf from '@tensorflow/tfjs-core'
import { expect } from 'vitest'
import type { BnStats, ElasticSupernet } from '../base.js'
import { exportSubnet } from '../subnet.js'
import type { SupernetConfig } from '../config.js'
import type { FbnetSupernetConfig } from '../fbnet.js'

/** A supernet small enough for unit tests: a few milliseconds per subnet on 16x16 images. */
export const TINY: SupernetConfig = {
  widths: [8, 8, 8, 8, 16, 16, 16, 32, 32],
  resolutions: [12, 16],
  inputChannels: 1,
  classes: 4,
}

/** An FBNet supernet small enough for unit tests: 16x16 grey images, 4 classes, CIFAR strides. */
export const TINY_FBNET: FbnetSupernetConfig = {
  macro: 'cifar',
  widths: [4, 4, 6, 8, 8, 12, 16, 16, 24],
  resolution: 16,
  inputChannels: 1,
  classes: 4,
}

/** A cell supernet small enough for unit tests (the quadrants' 16x16 grey images, 4 classes). */
export const TINY_CELL = {
  channels: 4,
  cellsPerStage: 1,
  inputShape: [16, 16, 1] as [number, number, number],
  classes: 4,
}

/** `n` 16x16 grey images of 4 classes, each class a bright quadrant plus noise. */
export function quadrants(n: number, seed = 0): Dataset {
  const rng = new Rng(seed)
  const x = new Float32Array(n * 256)
  const y = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const c = i % 4
    y[i] = c
    for (let r = 0; r < 16; r++) {
      for (let q = 0; q < 16; q++) {
        const inside = (r < 8 ? 0 : 2) + (q < 8 ? 0 : 1) === c
        x[i * 256 + r * 16 + q] = (inside ? 1 : 0) + 0.3 * rng.normal()
      }
    }
  }
  return { name: 'quadrants', shape: [16, 16, 1], classes: 4, x, y }
}

/** What `f` throws (undefined when it returns). */
export function caught(f: () => unknown): unknown {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

/**
 * Checks that subnet `arch` exported as a standalone model (`exportSubnet`) has the subnet's
 * parameter count and gives the supernet's outputs on `x` to 1e-5, and that nothing leaks.
 */
export function expectExportMatches<A>(
  net: ElasticSupernet<A>,
  arch: A,
  x: tf.Tensor4D,
  bn?: BnStats,
  label: unknown = arch,
): void {
  const before = tf.memory().numTensors
  const y = net.forward(arch, x, bn === undefined ? {} : { bn })
  const model = exportSubnet(net, arch, bn)
  const z = model.predict(x) as tf.Tensor
  expect(mbNetworkCost(net.network(arch)).params).toBe(
    model.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0),
  )
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, z))).dataSync()[0]!)
  expect([label, diff < 1e-5]).toEqual([label, true])
  tf.dispose([y, z])
  model.dispose()
  expect([label, tf.memory().numTensors - before]).toEqual([label, 0])
}
