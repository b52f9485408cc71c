import { NasError, Rng } from '@nasjs/core'
import type { Dataset } from '@nasjs/models'
import type * as tfl from '@tensorflow/tfjs-layers'
import type { ProxyBatch, ProxyDefinition } from './types.js'

/**
 * `n` examples of a dataset drawn without replacement by `rng` (the minibatch a proxy scores on),
 * with their labels.
 * @since 0.1.0
 * @category data
 */
export function sampleBatch(data: Dataset, n: number, rng: Rng): ProxyBatch {
  const total = data.y.length
  if (!Number.isInteger(n) || n < 2 || n > total) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a proxy batch needs 2..${total} examples of ${data.name}, got ${n}`,
      value: n,
      allowed: [`2..${total}`],
    })
  }
  const size = data.shape.reduce((p, s) => p * s, 1)
  const idx = rng.shuffle(Array.from({ length: total }, (_, i) => i)).slice(0, n)
  const xs = new Float32Array(n * size)
  const ys = new Int32Array(n)
  idx.forEach((j, i) => {
    xs.set(data.x.subarray(j * size, (j + 1) * size), i * size)
    ys[i] = data.y[j]!
  })
  return { n, shape: data.shape, xs, ys }
}

/**
 * A batch of standard-normal inputs with uniformly random labels, for scoring without a dataset
 * (`--data random`).
 * @since 0.1.0
 * @category data
 */
export function randomBatch(shape: readonly number[], n: number, classes: number, rng: Rng): ProxyBatch {
  const size = shape.reduce((p, s) => p * s, 1)
  const xs = new Float32Array(n * size)
  for (let i = 0; i < xs.length; i++) xs[i] = rng.normal()
  const ys = Int32Array.from({ length: n }, () => rng.int(classes))
  return { n, shape, xs, ys }
}

/**
 * One proxy's result: its score (NaN when the network gives none, e.g. a cell with no path), the
 * seconds it took, and what it was computed from.
 * @since 0.1.0
 * @category proxies
 */
export interface ProxyScore {
  readonly proxy: string
  readonly score: number
  readonly seconds: number
  readonly source: 'computed' | 'table'
}

/**
 * Scores `model` with each proxy in turn on the same batch; the model's weights are the same before
 * and after. Proxies that share a computation share it (one loss-gradient pass for `snip`, `plain`
 * and `grad_norm`; one input Jacobian for `jacov` and `epe_nas`): the first of them carries its
 * seconds. Each proxy gets its own stream split from `rng`, so adding a proxy does not change the
 * others' scores.
 * @since 0.1.0
 * @category proxies
 */
export async function scoreProxies(
  model: tfl.LayersModel,
  proxies: readonly ProxyDefinition[],
  batch: ProxyBatch | undefined,
  rng: Rng,
): Promise<ProxyScore[]> {
  const out: ProxyScore[] = []
  const base = rng.int(2 ** 31)
  const cache = new Map<string, unknown>()
  for (const p of proxies) {
    const t0 = performance.now()
    const score = await p.score(model, batch, { rng: new Rng(`${base}:${p.name}`), cache })
    out.push({ proxy: p.name, score, seconds: (performance.now() - t0) / 1000, source: 'computed' })
  }
  return out
}

/**
 * A dataset of greyscale or colour images brought to another image shape, so that a network built
 * for one dataset can be scored on the images of another (Fashion-MNIST in the CIFAR-10 network):
 * each image centred on a zero canvas of the new height and width (cropped where it is larger),
 * grey copied to every channel (or colour averaged to grey), then standardised with the mean and
 * deviation of all its values.
 * @since 0.1.0
 * @category data
 */
export function fitToShape(d: Dataset, shape: readonly [number, number, number]): Dataset {
  if (d.shape.length !== 3) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `only image datasets can be fitted to an image shape; ${d.name} has examples of shape [${d.shape.join(', ')}]`,
      value: d.shape,
    })
  }
  const [h0, w0, c0] = d.shape as [number, number, number]
  const [h, w, c] = shape
  const n = d.y.length
  const x = new Float32Array(n * h * w * c)
  const top = Math.floor((h - h0) / 2)
  const left = Math.floor((w - w0) / 2)
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      const sr = r - top
      if (sr < 0 || sr >= h0) continue
      for (let col = 0; col < w; col++) {
        const sc = col - left
        if (sc < 0 || sc >= w0) continue
        const src = ((i * h0 + sr) * w0 + sc) * c0
        const dst = ((i * h + r) * w + col) * c
        if (c0 === c) for (let k = 0; k < c; k++) x[dst + k] = d.x[src + k]!
        else {
          let grey = 0
          for (let k = 0; k < c0; k++) grey += d.x[src + k]!
          grey /= c0
          for (let k = 0; k < c; k++) x[dst + k] = grey
        }
      }
    }
  }
  let sum = 0
  let sq = 0
  for (const v of x) {
    sum += v
    sq += v * v
  }
  const mean = sum / x.length
  const std = Math.sqrt(Math.max(sq / x.length - mean * mean, 1e-12))
  for (let i = 0; i < x.length; i++) x[i] = (x[i]! - mean) / std
  return { ...d, shape: [h, w, c], x }
}
