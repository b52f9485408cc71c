import type { TensorInfo } from '@tensorflow/tfjs-core'
import type { KernelScope } from './kernel-scope.js'

/** Below this many elements in the kept inner block the shipped `Sum` (innermost-axis reduction) is used. */
const MIN_INNER = 8

/** The wasm backend's heap access (not part of TF.js's public `KernelBackend`). */
interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array
}

/**
 * `Sum` of a float32 tensor over a contiguous run of axes followed by a kept block of at least
 * {@link MIN_INNER} elements, e.g. a bias gradient (`[N, H, W, C]` over `N, H, W`): viewed as
 * `[outer, reduced, inner]`, accumulated in float64 row by row straight from the wasm heap. The
 * shipped kernel transposes the reduced axes innermost first, a full copy that costs more than the
 * sum itself. Returns `undefined` (the caller falls back) for other axes or backends.
 *
 * @internal
 */
export function sumOverMiddleAxes(
  s: KernelScope,
  x: TensorInfo,
  axes: readonly number[],
  keepDims: boolean,
): TensorInfo | undefined {
  const heap = s.backend as unknown as Partial<WasmHeap>
  if (x.dtype !== 'float32' || typeof heap.makeOutput !== 'function') return undefined
  if (typeof heap.typedArrayFromHeap !== 'function') return undefined
  const rank = x.shape.length
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b)
  if (sorted.length === 0) return undefined
  const first = sorted[0]!
  const last = sorted[sorted.length - 1]!
  if (first < 0 || last >= rank || last - first + 1 !== sorted.length) return undefined
  const prod = (from: number, to: number) => x.shape.slice(from, to).reduce((a, b) => a * b, 1)
  const outer = prod(0, first)
  const reduced = prod(first, last + 1)
  const inner = prod(last + 1, rank)
  if (inner < MIN_INNER || reduced === 0) return undefined
  const outShape = keepDims
    ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
    : x.shape.filter((_, i) => i < first || i > last)
  const out = heap.makeOutput(outShape, 'float32')
  const owned = s.adopt(out)
  // Views after the allocation (it may grow the heap and detach older views).
  const src = heap.typedArrayFromHeap(x)
  const dst = heap.typedArrayFromHeap(owned)
  const acc = new Float64Array(inner)
  for (let o = 0; o < outer; o++) {
    sumRows(src, o * reduced * inner, reduced, inner, acc)
    dst.set(acc, o * inner)
  }
  return owned
}

/** `acc[i] = sum over r < rows of src[start + r * width + i]`, four rows per pass (twice as fast). */
function sumRows(src: Float32Array, start: number, rows: number, width: number, acc: Float64Array): void {
  acc.fill(0)
  let b = start
  let r = 0
  for (; r + 4 <= rows; r += 4, b += 4 * width) {
    const b1 = b + width
    const b2 = b1 + width
    const b3 = b2 + width
    for (let i = 0; i < width; i++) acc[i]! += src[b + i]! + src[b1 + i]! + src[b2 + i]! + src[b3 + i]!
  }
  for (; r < rows; r++, b += width) for (let i = 0; i < width; i++) acc[i]! += src[b + i]!
}

/**
 * The operands of a `BatchMatMul` with `transposeA`/`transposeB` applied as explicit (rank-3, cheap)
 * transposes, for the untransposed product: wasm's kernel runs transposed operands through a scalar
 * loop, about four times slower than transpose + XNNPACK for a dense layer's gradients.
 *
 * @internal
 */
export function untransposedOperands(
  s: KernelScope,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): { a: TensorInfo; b: TensorInfo } {
  const flip = (t: TensorInfo) => {
    const rank = t.shape.length
    const batch = t.shape.slice(0, rank - 2).reduce((p, d) => p * d, 1)
    const r = t.shape[rank - 2]!
    const c = t.shape[rank - 1]!
    const flipped = s.transpose(s.reshape(t, [batch, r, c]), [0, 2, 1])
    return s.reshape(flipped, [...t.shape.slice(0, rank - 2), c, r])
  }
  return { a: transposeA ? flip(a) : a, b: transposeB ? flip(b) : b }
}
