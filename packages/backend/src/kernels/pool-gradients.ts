import { backend_util } from '@tensorflow/tfjs-core'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import { convInputGrad, type ConvGeometry } from './conv-gradients.js'
import type { KernelScope } from './kernel-scope.js'

const cache = new Map<string, Int32Array | Float32Array>()

/** Host-side index tables are cached by shape (a handful of shapes recur every training step). */
function cached<T extends Int32Array | Float32Array>(key: string, make: () => T): T {
  let v = cache.get(key) as T | undefined
  if (v === undefined) {
    if (cache.size >= 32) cache.delete(cache.keys().next().value!)
    v = make()
    cache.set(key, v)
  }
  return v
}

/**
 * Gradient of a 2-D max pool. For every output the window position of its maximum is found tap by
 * tap (`Equal` of a strided slice of the input with the pooled output, `Select` keeps the FIRST tap
 * that matches, as TensorFlow does), turned into a flat input index, and `ScatterNd` adds `dy` there
 * (overlapping windows accumulate). Replaces wasm's shipped `MaxPoolGrad`, which starts its running
 * maximum at the smallest positive float and so routes the gradient of all-negative windows to the
 * wrong element.
 */
export function maxPoolGrad(
  s: KernelScope,
  dy: TensorInfo,
  x: TensorInfo,
  y: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const outShape = [n, ho, wo, c]
  // Enough rows and columns for every tap's window of ho * sh rows and wo * sw columns.
  const bottom = Math.max(0, kh - 1 + ho * sh - top - h)
  const right = Math.max(0, kw - 1 + wo * sw - left - w)
  const padded =
    top === 0 && left === 0 && bottom === 0 && right === 0
      ? x
      : s.run(
          'PadV2',
          { x },
          {
            paddings: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
            constantValue: Number.NEGATIVE_INFINITY,
          },
        )
  const tapOffset = (a: number, b: number) => (a * w + b) * c
  let offset: TensorInfo | undefined
  for (let t = kh * kw - 1; t >= 0; t--) {
    const a = Math.floor(t / kw)
    const b = t % kw
    const fill = s.run('Fill', {}, { shape: outShape, value: tapOffset(a, b), dtype: 'int32' })
    if (offset === undefined) {
      offset = fill
      continue
    }
    const tap = s.spatialStride(padded, a, b, ho, wo, sh, sw)
    const hit = s.run('Equal', { a: tap, b: y })
    offset = s.run('Select', { condition: hit, t: fill, e: offset })
  }
  const base = cached(`max/${n}/${h}/${w}/${c}/${ho}/${wo}/${sh}/${sw}/${top}/${left}`, () => {
    const out = new Int32Array(n * ho * wo * c)
    let k = 0
    for (let b = 0; b < n; b++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          const origin = ((b * h + i * sh - top) * w + j * sw - left) * c
          for (let ch = 0; ch < c; ch++) out[k++] = origin + ch
        }
    return out
  })
  const size = n * ho * wo * c
  const index = s.run('Add', { a: s.tensor(base, outShape, 'int32'), b: offset! })
  const summed = s.run(
    'ScatterNd',
    { indices: s.reshape(index, [size, 1]), updates: s.reshape(dy, [size]) },
    { shape: [n * h * w * c] },
  )
  return s.reshape(summed, [n, h, w, c])
}

/** Source row (or column) of every output row of TF.js's nearest-neighbour resize. */
function nearestSources(
  oldSize: number,
  newSize: number,
  alignCorners: boolean,
  halfPixel: boolean,
): number[] {
  const aligned = alignCorners && newSize > 1
  const ratio = (aligned ? oldSize - 1 : oldSize) / (aligned ? newSize - 1 : newSize)
  return Array.from({ length: newSize }, (_, r) => {
    const frac = halfPixel ? ratio * (r + 0.5) : ratio * r
    const nearest = Math.min(oldSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac))
    return halfPixel ? Math.max(0, nearest) : nearest
  })
}

/**
 * Gradient of the nearest-neighbour resize: the exact adjoint of the forward mapping, `ScatterNd`
 * adding every output pixel's gradient to its source pixel. Replaces wasm's shipped
 * `ResizeNearestNeighborGrad`, which is not the adjoint of the resize with `halfPixelCenters`.
 */
export function resizeNearestGrad(
  s: KernelScope,
  images: TensorInfo,
  dy: TensorInfo,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): TensorInfo {
  const [n, h, w, c] = images.shape as [number, number, number, number]
  const [, h2, w2] = dy.shape as [number, number, number, number]
  const table = cached(`nn/${n}/${h}/${w}/${h2}/${w2}/${alignCorners}/${halfPixelCenters}`, () => {
    const rows = nearestSources(h, h2, alignCorners, halfPixelCenters)
    const cols = nearestSources(w, w2, alignCorners, halfPixelCenters)
    const out = new Int32Array(n * h2 * w2)
    let k = 0
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h2; i++) for (let j = 0; j < w2; j++) out[k++] = (b * h + rows[i]!) * w + cols[j]!
    return out
  })
  const indices = s.tensor(table, [n * h2 * w2, 1], 'int32')
  const summed = s.run(
    'ScatterNd',
    { indices, updates: s.reshape(dy, [n * h2 * w2, c]) },
    { shape: [n * h * w, c] },
  )
  return s.reshape(summed, [n, h, w, c])
}

/**
 * How many input elements each output window of a pool covers (padding excluded), per output row
 * and column: the divisor of TensorFlow's average pooling.
 */
function windowCounts(info: backend_util.Conv2DInfo): Float32Array {
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = info
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info
  const axis = (o: number, s: number, k: number, pad: number, size: number) => {
    const start = o * s - pad
    return Math.min(start + k, size) - Math.max(start, 0)
  }
  const out = new Float32Array(ho * wo)
  for (let i = 0; i < ho; i++) {
    const rows = axis(i, sh, kh, info.padInfo.top, h)
    for (let j = 0; j < wo; j++) out[i * wo + j] = rows * axis(j, sw, kw, info.padInfo.left, w)
  }
  return out
}

/**
 * Gradient of a 2-D average pool: `dx[i] = sum over the windows o that hold i of dy[o] / count(o)`,
 * count(o) the number of input elements of window o (padding excluded, the divisor of the forward
 * pool). `dy / count` is spread back by the input gradient of a depthwise convolution with a filter
 * of ones. Replaces the shipped `AvgPoolGrad` of TF.js's wasm (and cpu) backends, which divide by
 * the full window size everywhere and so disagree with their own forward pool wherever a window
 * reaches into the padding (every `same` pool: NAS-Bench-201's and DARTS' 3x3 average pooling).
 */
export function avgPoolGrad(
  s: KernelScope,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  geometry: ConvGeometry,
): TensorInfo {
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw, inChannels: c } = info
  const { inHeight: h, inWidth: w, strideHeight: sh, strideWidth: sw } = info
  const { top, left } = info.padInfo
  // every number the table depends on, the output size included ('same' and 'valid' can share pads)
  const key = `avg/${h}/${w}/${ho}/${wo}/${kh}/${kw}/${sh}/${sw}/${top}/${left}`
  const inverse = cached(key, () => windowCounts(info).map((v) => 1 / v))
  const scale = s.tensor(inverse, [1, ho, wo, 1], 'float32')
  const scaled = s.run('Multiply', { a: dy, b: scale })
  const ones = s.tensor(new Float32Array(kh * kw * c).fill(1), [kh, kw, c, 1], 'float32')
  return convInputGrad(s, scaled, ones, geometry, true)
}
