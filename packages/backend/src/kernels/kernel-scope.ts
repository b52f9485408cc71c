import { getKernel } from '@tensorflow/tfjs-core'
import type {
  DataType,
  KernelBackend,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core'
import { NasError } from '@nasjs/core'

/** Explicit zero padding of the two spatial axes: `[top, bottom, left, right]` (may be negative: a crop). */
export type SpatialPads = readonly [number, number, number, number]

/**
 * Runs other kernels of the same backend from inside a kernel and owns every intermediate it creates:
 * {@link KernelScope.dispose} frees them all (through `backend.disposeData`, which honours the
 * reference counts that `Reshape` and `Identity` share), except the ones handed out with
 * {@link KernelScope.keep}. All tensors are `NHWC`.
 *
 * @internal
 */
export class KernelScope {
  private readonly owned = new Set<TensorInfo>()

  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs kernel `name` of this scope's backend; the output is owned by the scope. */
  run(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(name, this.backendName)
    if (config === undefined) {
      throw new NasError({
        code: 'BACKEND',
        message: `kernel '${name}' is not registered for backend '${this.backendName}'`,
        value: name,
      })
    }
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend })
    if (Array.isArray(out)) {
      throw new NasError({ code: 'INTERNAL', message: `kernel '${name}' returned several outputs` })
    }
    this.owned.add(out)
    return out
  }

  /** Writes `values` as a new tensor owned by the scope. */
  tensor(values: Float32Array | Int32Array, shape: readonly number[], dtype: DataType): TensorInfo {
    const dataId = this.backend.write(values, [...shape], dtype)
    const info: TensorInfo = { dataId, shape: [...shape], dtype }
    this.owned.add(info)
    return info
  }

  /** Takes ownership of `t`, a tensor made outside {@link KernelScope.run}, and returns it. */
  adopt(t: TensorInfo): TensorInfo {
    this.owned.add(t)
    return t
  }

  /** Whether `t` is an intermediate created by this scope. */
  owns(t: TensorInfo): boolean {
    return this.owned.has(t)
  }

  /** Stops owning `t` (the caller returns it to the engine) and returns it. */
  keep(t: TensorInfo): TensorInfo {
    this.owned.delete(t)
    return t
  }

  /** Frees every intermediate still owned. */
  dispose(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId)
    this.owned.clear()
  }

  reshape(x: TensorInfo, shape: readonly number[]): TensorInfo {
    if (sameShape(x.shape, shape)) return x
    return this.run('Reshape', { x }, { shape: [...shape] })
  }

  /**
   * Transpose, with runs of axes that stay adjacent merged first (wasm's transposes get much slower
   * with rank), e.g. `[N, H, W, C]` by `[1, 2, 0, 3]` runs as `[N, H*W, C]` by `[1, 0, 2]`.
   */
  transpose(x: TensorInfo, perm: readonly number[]): TensorInfo {
    if (perm.every((p, i) => p === i)) return x
    const groups: number[][] = []
    for (const p of perm) {
      const last = groups[groups.length - 1]
      if (last !== undefined && last[last.length - 1]! + 1 === p) last.push(p)
      else groups.push([p])
    }
    const outShape = perm.map((p) => x.shape[p]!)
    if (groups.length === perm.length) return this.run('Transpose', { x }, { perm: [...perm] })
    // Merged axes in input order, and the permutation of the merged axes.
    const byStart = [...groups].sort((a, b) => a[0]! - b[0]!)
    const merged = byStart.map((g) => g.reduce((acc, a) => acc * x.shape[a]!, 1))
    const mergedPerm = groups.map((g) => byStart.indexOf(g))
    const t = this.run('Transpose', { x: this.reshape(x, merged) }, { perm: mergedPerm })
    return this.reshape(t, outShape)
  }

  /**
   * `Slice`. On wasm the copy is done here, straight between heap views in runs as long as the
   * layout allows: the shipped kernel first copies the WHOLE input out of the heap and then copies
   * element by element when the innermost axis is short, which made slicing the slowest step of
   * im2col and the strided views.
   */
  slice(x: TensorInfo, begin: readonly number[], size: readonly number[]): TensorInfo {
    if (begin.every((b) => b === 0) && sameShape(x.shape, size)) return x
    const heap = this.backend as unknown as Partial<WasmHeapBackend>
    if (
      typeof heap.makeOutput !== 'function' ||
      typeof heap.typedArrayFromHeap !== 'function' ||
      (x.dtype !== 'float32' && x.dtype !== 'int32')
    ) {
      return this.run('Slice', { x }, { begin: [...begin], size: [...size] })
    }
    const out = heap.makeOutput([...size], x.dtype)
    this.owned.add(out)
    if (size.some((d) => d === 0)) return out
    // Views after the allocation (it may grow the heap and detach older views).
    const src = heap.typedArrayFromHeap(x)
    const dst = heap.typedArrayFromHeap(out)
    copySlice(src, x.shape, dst, begin, size)
    return out
  }

  /**
   * `x[:, top + sh*i, left + sw*j, :]` for `i < rows`, `j < cols` of an NHWC tensor with at least
   * `top + sh*rows` rows and `left + sw*cols` columns, from contiguous slices of reshaped views
   * (wasm's `StridedSlice` is a per-element index loop, tens of times slower).
   */
  spatialStride(
    x: TensorInfo,
    top: number,
    left: number,
    rows: number,
    cols: number,
    sh: number,
    sw: number,
  ) {
    const [n, , w, c] = x.shape as [number, number, number, number]
    let t = this.slice(x, [0, top, 0, 0], [n, rows * sh, w, c])
    if (sh > 1) t = this.slice(this.reshape(t, [n * rows, sh, w * c]), [0, 0, 0], [n * rows, 1, w * c])
    t = this.slice(this.reshape(t, [n * rows, w, c]), [0, left, 0], [n * rows, cols * sw, c])
    if (sw > 1) t = this.slice(this.reshape(t, [n * rows * cols, sw, c]), [0, 0, 0], [n * rows * cols, 1, c])
    return this.reshape(t, [n, rows, cols, c])
  }

  stridedSlice(x: TensorInfo, begin: readonly number[], end: readonly number[], strides: readonly number[]) {
    return this.run(
      'StridedSlice',
      { x },
      {
        begin: [...begin],
        end: [...end],
        strides: [...strides],
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      },
    )
  }

  concat(xs: readonly TensorInfo[], axis: number): TensorInfo {
    if (xs.length === 1) return xs[0]!
    // TF.js's Concat kernels take the inputs as an array.
    return this.run('Concat', xs as unknown as NamedTensorInfoMap, { axis })
  }

  pad(x: TensorInfo, paddings: readonly (readonly [number, number])[]): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x
    return this.run('PadV2', { x }, { paddings: paddings.map((p) => [...p]), constantValue: 0 })
  }

  reverse(x: TensorInfo, dims: readonly number[]): TensorInfo {
    const real = dims.filter((d) => x.shape[d]! > 1)
    if (real.length === 0) return x
    return this.run('Reverse', { x }, { dims: real })
  }

  sum(x: TensorInfo, axis: number): TensorInfo {
    if (x.shape[axis] === 1) {
      return this.reshape(
        x,
        x.shape.filter((_, i) => i !== axis),
      )
    }
    return this.run('Sum', { x }, { axis: [axis], keepDims: false })
  }

  zeros(shape: readonly number[], dtype: DataType = 'float32'): TensorInfo {
    return this.run('Fill', {}, { shape: [...shape], value: 0, dtype })
  }

  /**
   * A 2-D convolution (`depthwise`: `DepthwiseConv2dNative`, else `Conv2D`) with explicit padding.
   * Negative pads crop the input first, so callers can ask for any output window.
   */
  conv(
    x: TensorInfo,
    filter: TensorInfo,
    opts: {
      strides: readonly [number, number]
      dilations: readonly [number, number]
      pads: SpatialPads
      depthwise: boolean
    },
  ): TensorInfo {
    const [n, h, w, c] = x.shape as [number, number, number, number]
    const [kh, kw, , mult] = filter.shape as [number, number, number, number]
    const [sh, sw] = opts.strides
    const [dh, dw] = opts.dilations
    let [top, bottom, left, right] = opts.pads
    const outC = opts.depthwise ? c * mult : mult
    const outH = Math.floor((h + top + bottom - ((kh - 1) * dh + 1)) / sh) + 1
    const outW = Math.floor((w + left + right - ((kw - 1) * dw + 1)) / sw) + 1
    if (outH <= 0 || outW <= 0) {
      throw new NasError({ code: 'INTERNAL', message: `empty convolution output ${outH}x${outW}` })
    }
    const cropTop = Math.max(0, -top)
    const cropBottom = Math.max(0, -bottom)
    const cropLeft = Math.max(0, -left)
    const cropRight = Math.max(0, -right)
    const hc = h - cropTop - cropBottom
    const wc = w - cropLeft - cropRight
    if (hc <= 0 || wc <= 0) return this.zeros([n, outH, outW, outC])
    const xc = this.slice(x, [0, cropTop, cropLeft, 0], [n, hc, wc, c])
    top = Math.max(0, top)
    bottom = Math.max(0, bottom)
    left = Math.max(0, left)
    right = Math.max(0, right)
    const attrs = {
      strides: [sh, sw],
      dilations: [dh, dw],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    }
    const out = this.run(opts.depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', { x: xc, filter }, attrs)
    if (out.shape[1] !== outH || out.shape[2] !== outW) {
      throw new NasError({
        code: 'INTERNAL',
        message: `convolution gave ${out.shape.join('x')}, expected ${outH}x${outW} spatially`,
      })
    }
    return out
  }
}

/** The wasm backend's heap access (not part of TF.js's public `KernelBackend`). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array
}

/** Copies the block `begin .. begin + size` of a row-major `shape` array into `dst`, in maximal runs. */
export function copySlice(
  src: Float32Array | Int32Array,
  shape: readonly number[],
  dst: Float32Array | Int32Array,
  begin: readonly number[],
  size: readonly number[],
): void {
  const rank = shape.length
  // Axes after `last` are taken whole, so one run covers size[last] * (their product) elements.
  let last = rank - 1
  while (last > 0 && size[last] === shape[last] && begin[last] === 0) last--
  const strides = new Array<number>(rank).fill(1)
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!
  const run = size[last]! * strides[last]!
  const index = new Array<number>(last).fill(0)
  let base = 0
  for (let i = 0; i <= last; i++) base += begin[i]! * strides[i]!
  let out = 0
  const total = dst.length
  while (out < total) {
    let offset = base
    for (let i = 0; i < last; i++) offset += index[i]! * strides[i]!
    dst.set(src.subarray(offset, offset + run), out)
    out += run
    for (let i = last - 1; i >= 0; i--) {
      if (++index[i]! < size[i]!) break
      index[i] = 0
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/**
 * Runs `body` with a fresh scope and frees every intermediate afterwards, also when `body` throws;
 * the returned tensor is kept.
 *
 * @internal
 */
export function withScope(
  backend: KernelBackend,
  backendName: string,
  body: (s: KernelScope) => TensorInfo,
): TensorInfo {
  const scope = new KernelScope(backend, backendName)
  try {
    let result = body(scope)
    // An input returned unchanged must become a tensor of its own before the engine takes it.
    if (!scope.owns(result)) result = scope.run('Identity', { x: result })
    return scope.keep(result)
  } finally {
    scope.dispose()
  }
}
