import { Rng } from '@nasjs/core'
import type { Dataset } from '@nasjs/models'
import type { SupernetConfig } from '../config.js'

/** A supernet small enough for unit tests: a few milliseconds per subnet on 16x16 images. */
export const TINY: SupernetConfig = {
  widths: [8, 8, 8, 8, 16, 16, 16, 32, 32],
  resolutions: [12, 16],
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
