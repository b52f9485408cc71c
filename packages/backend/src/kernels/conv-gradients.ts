import type { TensorInfo } from '@tensorflow/tfjs-core'
import { filterGradAxis, inputGradAxis, type InputGradPhase } from './conv-geometry.js'
import type { KernelScope } from './kernel-scope.js'

/** Geometry of a forward 2-D convolution, all spatial sizes in NHWC terms. */
export interface ConvGeometry {
  readonly batch: number
  readonly inHeight: number
  readonly inWidth: number
  readonly inChannels: number
  readonly outHeight: number
  readonly outWidth: number
  readonly filterHeight: number
  readonly filterWidth: number
  readonly strideHeight: number
  readonly strideWidth: number
  readonly dilationHeight: number
  readonly dilationWidth: number
  readonly padTop: number
  readonly padLeft: number
}

/**
 * Gradient of a regular convolution with respect to its filter, `[kh, kw, inC, outC]`, as ONE
 * forward convolution: the input transposed to `[inC, H, W, N]` (the batch becomes the channels
 * that are summed over) convolved with `dy` transposed to `[Ho, Wo, N, outC]`, with stride = the
 * forward dilation and dilation = the forward stride.
 */
export function conv2dFilterGrad(s: KernelScope, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const outC = dy.shape[3]!
  const rows = filterGradAxis(
    g.inHeight,
    g.outHeight,
    g.filterHeight,
    g.strideHeight,
    g.dilationHeight,
    g.padTop,
  )
  const cols = filterGradAxis(g.inWidth, g.outWidth, g.filterWidth, g.strideWidth, g.dilationWidth, g.padLeft)
  if (rows.used === 0 || cols.used === 0) {
    return s.zeros([g.filterHeight, g.filterWidth, g.inChannels, outC])
  }
  const xc = s.slice(x, [0, 0, 0, 0], [g.batch, rows.used, cols.used, g.inChannels])
  const unitStride = g.strideHeight === 1 && g.strideWidth === 1
  if (unitStride && g.inChannels * g.filterHeight * g.filterWidth <= IM2COL_MAX_ROWS) {
    return filterGradIm2col(s, xc, dy, g, rows, cols)
  }
  // [N, H, W, C] -> [C, H, W, N] as two cheap transposes: [N, HWC] -> [HWC, N], then
  // [HW, C, N] -> [C, HW, N].
  const hw = rows.used * cols.used
  const flipped = s.transpose(s.reshape(xc, [g.batch, hw * g.inChannels]), [1, 0])
  const xt = s.reshape(s.transpose(s.reshape(flipped, [hw, g.inChannels, g.batch]), [1, 0, 2]), [
    g.inChannels,
    rows.used,
    cols.used,
    g.batch,
  ])
  const dyt = s.transpose(dy, [1, 2, 0, 3])
  const out = s.conv(xt, dyt, {
    strides: [g.dilationHeight, g.dilationWidth],
    dilations: [g.strideHeight, g.strideWidth],
    pads: [rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter],
    depthwise: false,
  })
  return s.transpose(out, [1, 2, 0, 3])
}

/**
 * Up to this many `kh * kw * inC` rows a stride-1 filter gradient is im2col + matmul (the convolution
 * form would pack a whole `[H, W, N, outC]` gradient as its filter for a tiny output); strided ones
 * stay convolutions, whose `dy` filter is then small.
 */
const IM2COL_MAX_ROWS = 32

/**
 * Filter gradient of a convolution with few input channels (a network's first layer): the
 * `kh * kw * inC` input patches as the rows of `[kh*kw*inC, N*Ho*Wo]` (one strided slice per tap of the
 * zero-padded, channel-first input) times `dy` as `[N*Ho*Wo, outC]`, one XNNPACK matrix product.
 */
function filterGradIm2col(
  s: KernelScope,
  xc: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
  rows: { padBefore: number; padAfter: number },
  cols: { padBefore: number; padAfter: number },
): TensorInfo {
  const [n, h, w, c] = xc.shape as [number, number, number, number]
  const outC = dy.shape[3]!
  const positions = n * g.outHeight * g.outWidth
  const grad = s.reshape(dy, [1, positions, outC])
  const direct = patchesOnHeap(s, xc, g, rows.padBefore, cols.padBefore)
  if (direct !== undefined) {
    const dw = s.run('BatchMatMul', { a: direct, b: grad }, { transposeA: false, transposeB: false })
    return s.reshape(dw, [g.filterHeight, g.filterWidth, c, outC])
  }
  // Channel-first, as [C*N, H, W, 1] so each tap is a spatial (strided) window; stride - 1 extra rows
  // and columns of zeros let every window take whole stride blocks.
  const channelsFirst = s.reshape(s.transpose(xc, [3, 0, 1, 2]), [c * n, h, w, 1])
  const padded = s.pad(channelsFirst, [
    [0, 0],
    [rows.padBefore, rows.padAfter + g.strideHeight - 1],
    [cols.padBefore, cols.padAfter + g.strideWidth - 1],
    [0, 0],
  ])
  const taps: TensorInfo[] = []
  for (let a = 0; a < g.filterHeight; a++) {
    for (let b = 0; b < g.filterWidth; b++) {
      const tap = s.spatialStride(
        padded,
        a * g.dilationHeight,
        b * g.dilationWidth,
        g.outHeight,
        g.outWidth,
        g.strideHeight,
        g.strideWidth,
      )
      taps.push(s.reshape(tap, [1, c * positions]))
    }
  }
  const patches = s.reshape(s.concat(taps, 0), [1, g.filterHeight * g.filterWidth * c, positions])
  const dw = s.run('BatchMatMul', { a: patches, b: grad }, { transposeA: false, transposeB: false })
  return s.reshape(dw, [g.filterHeight, g.filterWidth, c, outC])
}

/** The wasm backend's heap access (not part of TF.js's public `KernelBackend`). */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array
}

const onHeap = (s: KernelScope): boolean => {
  const heap = s.backend as unknown as Partial<WasmHeap>
  return typeof heap.makeOutput === 'function' && typeof heap.typedArrayFromHeap === 'function'
}

/**
 * The im2col patches `[1, kh*kw*inC, N*Ho*Wo]` of {@link filterGradIm2col} written in one pass straight
 * from the wasm heap (row `(a, b, c)`, column `(n, i, j)` holds `x[n, i*sh + a*dh - top, j*sw + b*dw -
 * left, c]`, zero outside), instead of a transpose, a pad, strided slices per tap and a concat.
 * `undefined` on backends without heap access.
 */
function patchesOnHeap(
  s: KernelScope,
  xc: TensorInfo,
  g: ConvGeometry,
  top: number,
  left: number,
): TensorInfo | undefined {
  if (!onHeap(s)) return undefined
  const heap = s.backend as unknown as WasmHeap
  const [n, h, w, c] = xc.shape as [number, number, number, number]
  const oh = g.outHeight
  const ow = g.outWidth
  const out = s.adopt(heap.makeOutput([1, g.filterHeight * g.filterWidth * c, n * oh * ow], 'float32'))
  // Views after the allocation (it may grow the heap and detach older views).
  const src = heap.typedArrayFromHeap(xc)
  const dst = heap.typedArrayFromHeap(out)
  const positions = n * oh * ow
  const sw = g.strideWidth
  for (let a = 0; a < g.filterHeight; a++) {
    for (let b = 0; b < g.filterWidth; b++) {
      const tapRow = (a * g.filterWidth + b) * c
      const colBase = b * g.dilationWidth - left
      // Output columns j whose input column is inside the image: jLo <= j < jHi.
      const jLo = Math.min(ow, Math.max(0, Math.ceil(-colBase / sw)))
      const jHi = Math.max(jLo, Math.min(ow, Math.ceil((w - colBase) / sw)))
      for (let bn = 0; bn < n; bn++) {
        for (let i = 0; i < oh; i++) {
          const r = i * g.strideHeight + a * g.dilationHeight - top
          const p0 = (bn * oh + i) * ow
          // One input row (w * c values) serves all c patch rows of this tap: it stays in cache.
          for (let ci = 0; ci < c; ci++) {
            const o = (tapRow + ci) * positions + p0
            if (r < 0 || r >= h) {
              dst.fill(0, o, o + ow)
              continue
            }
            if (jLo > 0) dst.fill(0, o, o + jLo)
            if (jHi < ow) dst.fill(0, o + jHi, o + ow)
            let at = (bn * h + r) * w * c + (jLo * sw + colBase) * c + ci
            const step = sw * c
            for (let j = jLo; j < jHi; j++, at += step) dst[o + j] = src[at]!
          }
        }
      }
    }
  }
  return out
}

/**
 * Gradient of a depthwise convolution with respect to its filter, `[kh, kw, inC, mult]`: the batch is
 * folded into the channels (`[1, H, W, N*inC]`, filter `[Ho, Wo, N*inC, mult]` from `dy`), one
 * depthwise convolution gives every (sample, channel) product, and a sum over the batch finishes.
 */
export function depthwiseFilterGrad(
  s: KernelScope,
  x: TensorInfo,
  dy: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const mult = dy.shape[3]! / g.inChannels
  const rows = filterGradAxis(
    g.inHeight,
    g.outHeight,
    g.filterHeight,
    g.strideHeight,
    g.dilationHeight,
    g.padTop,
  )
  const cols = filterGradAxis(g.inWidth, g.outWidth, g.filterWidth, g.strideWidth, g.dilationWidth, g.padLeft)
  if (rows.used === 0 || cols.used === 0) {
    return s.zeros([g.filterHeight, g.filterWidth, g.inChannels, mult])
  }
  const n = g.batch
  const c = g.inChannels
  const xc = s.slice(x, [0, 0, 0, 0], [n, rows.used, cols.used, c])
  const xt = s.reshape(s.transpose(xc, [1, 2, 0, 3]), [1, rows.used, cols.used, n * c])
  const dyt = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [g.outHeight, g.outWidth, n * c, mult])
  const out = s.conv(xt, dyt, {
    strides: [g.dilationHeight, g.dilationWidth],
    dilations: [g.strideHeight, g.strideWidth],
    pads: [rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter],
    depthwise: true,
  })
  const perSample = s.reshape(out, [g.filterHeight * g.filterWidth, n, c * mult])
  return s.reshape(s.sum(perSample, 1), [g.filterHeight, g.filterWidth, c, mult])
}

/** Inserts `factor - 1` zero rows (axis 1) or columns (axis 2) between the entries of `x`. */
function upsample(s: KernelScope, x: TensorInfo, axis: 1 | 2, factor: number): TensorInfo {
  const [n, h, w, c] = x.shape as [number, number, number, number]
  const size = axis === 1 ? h : w
  const expanded = axis === 1 ? [n, h, 1, w, c] : [n, h, w, 1, c]
  const paddings: [number, number][] = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ]
  paddings[axis + 1] = [0, factor - 1]
  const padded = s.pad(s.reshape(x, expanded), paddings)
  const flat = axis === 1 ? [n, h * factor, w, c] : [n, h, w * factor, c]
  const kept = (size - 1) * factor + 1
  return s.slice(s.reshape(padded, flat), [0, 0, 0, 0], axis === 1 ? [n, kept, w, c] : [n, h, kept, c])
}

/**
 * Gradient of a regular (`depthwise = false`, filter `[kh, kw, inC, outC]`) or depthwise (filter
 * `[kh, kw, inC, mult]`) convolution with respect to its input, `[N, H, W, inC]`. Each output phase
 * of a strided convolution is a stride-1 convolution of `dy` with a reversed subset of the taps,
 * and the phases are interleaved with a concat + reshape; no multiply by inserted zeros.
 */
export function convInputGrad(
  s: KernelScope,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  depthwise: boolean,
): TensorInfo {
  const [kh, kw, inC, last] = filter.shape as [number, number, number, number]
  const n = g.batch
  let strideH = g.strideHeight
  let strideW = g.strideWidth
  let grad = dy
  // Stride and dilation both > 1 on an axis: spread dy out so the stride becomes 1.
  if (strideH > 1 && g.dilationHeight > 1) {
    grad = upsample(s, grad, 1, strideH)
    strideH = 1
  }
  if (strideW > 1 && g.dilationWidth > 1) {
    grad = upsample(s, grad, 2, strideW)
    strideW = 1
  }
  const outH = grad.shape[1]!
  const outW = grad.shape[2]!
  const rows = inputGradAxis(g.inHeight, outH, kh, strideH, g.dilationHeight, g.padTop)
  const cols = inputGradAxis(g.inWidth, outW, kw, strideW, g.dilationWidth, g.padLeft)
  const phaseC = depthwise ? inC * last : inC
  const weights = phaseFilters(s, filter, rows.phases, cols.phases, strideH, strideW, depthwise)
  const phaseOut = (pr: InputGradPhase, pc: InputGradPhase, f: TensorInfo | undefined): TensorInfo =>
    f === undefined
      ? s.zeros([n, rows.rows, cols.rows, phaseC])
      : s.conv(grad, f, {
          strides: [1, 1],
          dilations: [rows.dilation, cols.dilation],
          pads: [pr.padBefore, pr.padAfter, pc.padBefore, pc.padAfter],
          depthwise,
        })
  const sh = rows.phases.length
  const sw = cols.phases.length
  // Phase (r, c) holds output rows r, r + sh, ... and columns c, c + sw, ...: interleave the column
  // phases of each row phase, then the row phases. Each step stacks the phases on a leading axis
  // (a plain copy) and moves that axis inwards with a rank-3 transpose; wasm's transposes above rank
  // 4 and concats along inner axes are far slower.
  const weave = (parts: TensorInfo[], outer: number, inner: number) => {
    const flat = parts.map((t) => s.reshape(t, [1, outer * inner]))
    const stacked = s.reshape(s.concat(flat, 0), [parts.length, outer, inner])
    return s.transpose(stacked, [1, 0, 2])
  }
  const rowPhases = rows.phases.map((pr, i) => {
    const colPhases = cols.phases.map((pc, j) => phaseOut(pr, pc, weights[i * sw + j]))
    if (sw === 1) return colPhases[0]!
    return s.reshape(weave(colPhases, n * rows.rows * cols.rows, phaseC), [
      n,
      rows.rows,
      cols.rows * sw,
      phaseC,
    ])
  })
  let dx =
    sh === 1
      ? rowPhases[0]!
      : s.reshape(weave(rowPhases, n * rows.rows, cols.rows * sw * phaseC), [
          n,
          rows.rows * sh,
          cols.rows * sw,
          phaseC,
        ])
  dx = s.slice(dx, [0, 0, 0, 0], [n, g.inHeight, g.inWidth, phaseC])
  if (depthwise && last > 1) {
    dx = s.sum(s.reshape(dx, [n, g.inHeight, g.inWidth, inC, last]), 4)
  }
  return dx
}

/**
 * The filter of every phase convolution, `[taps_h, taps_w, outC, inC]` (regular) or
 * `[taps_h, taps_w, inC * mult, 1]` (depthwise): taps `a0, a0 + s, ...` of the forward filter,
 * reversed in both spatial axes. Filters are small, so this gathers on the host (one read of the
 * filter, one write per phase) instead of running three tiny kernels per phase.
 */
function phaseFilters(
  s: KernelScope,
  filter: TensorInfo,
  rowPhases: readonly InputGradPhase[],
  colPhases: readonly InputGradPhase[],
  strideH: number,
  strideW: number,
  depthwise: boolean,
): (TensorInfo | undefined)[] {
  const [, kw, inC, last] = filter.shape as [number, number, number, number]
  const w = s.backend.readSync(filter.dataId) as Float32Array
  const out: (TensorInfo | undefined)[] = []
  for (const pr of rowPhases) {
    for (const pc of colPhases) {
      if (pr.taps === 0 || pc.taps === 0) {
        out.push(undefined)
        continue
      }
      const th = pr.taps
      const tw = pc.taps
      const block = inC * last
      const values = new Float32Array(th * tw * block)
      for (let t = 0; t < th; t++) {
        const a = pr.a0 + (th - 1 - t) * strideH
        for (let u = 0; u < tw; u++) {
          const b = pc.a0 + (tw - 1 - u) * strideW
          const src = (a * kw + b) * block
          const dst = (t * tw + u) * block
          if (depthwise) {
            values.set(w.subarray(src, src + block), dst)
          } else {
            // [inC, outC] -> [outC, inC]
            for (let i = 0; i < inC; i++)
              for (let o = 0; o < last; o++) values[dst + o * inC + i] = w[src + i * last + o]!
          }
        }
      }
      out.push(s.tensor(values, depthwise ? [th, tw, block, 1] : [th, tw, last, inC], 'float32'))
    }
  }
  return out
}
