import { backend_util, util } from '@tensorflow/tfjs-core'
import type {
  AvgPoolGradAttrs,
  BatchMatMulAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInputAttrs,
  KernelBackend,
  KernelConfig,
  MaxPoolGradAttrs,
  ResizeNearestNeighborGradAttrs,
  SumAttrs,
  TileAttrs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
  UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core'
import { NasError } from '@nasjs/core'
import { conv2dFilterGrad, convInputGrad, depthwiseFilterGrad, type ConvGeometry } from './conv-gradients.js'
import { KernelScope, withScope } from './kernel-scope.js'
import { avgPoolGrad, maxPoolGrad, resizeNearestGrad } from './pool-gradients.js'
import { sumOverMiddleAxes, untransposedOperands } from './reductions.js'
import { tileByBroadcast } from './tile.js'

/**
 * Names of the kernels {@link trainingKernelConfigs} provides.
 *
 * @since 0.1.0
 * @category kernels
 */
export const TRAINING_KERNEL_NAMES = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'MaxPoolGrad',
  'AvgPoolGrad',
  'ResizeNearestNeighborGrad',
  'Tile',
  'Sum',
  'BatchMatMul',
] as const

/**
 * One of {@link TRAINING_KERNEL_NAMES}.
 *
 * @since 0.1.0
 */
export type TrainingKernelName = (typeof TRAINING_KERNEL_NAMES)[number]

type Args = { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }

function geometry(info: backend_util.Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  }
}

function input(inputs: NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name]
  if (t === undefined)
    throw new NasError({ code: 'INPUT_INVALID', message: `${kernel}: missing input '${name}'` })
  return t
}

function requireFloat(t: TensorInfo, kernel: string): void {
  if (t.dtype !== 'float32') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${kernel} on the wasm training kernels takes float32 tensors, got ${t.dtype}`,
      value: t.dtype,
      allowed: ['float32'],
    })
  }
}

const setUp = new WeakMap<KernelConfig, WeakSet<KernelBackend>>()

/**
 * A replaced kernel may never have been set up (TF.js runs `setupFunc` when the backend initialises,
 * and ours may have replaced it before that): set it up on first use.
 */
function setUpOnce(config: KernelConfig, backend: KernelBackend): void {
  if (config.setupFunc === undefined) return
  let done = setUp.get(config)
  if (done === undefined) setUp.set(config, (done = new WeakSet()))
  if (done.has(backend)) return
  config.setupFunc(backend)
  done.add(backend)
}

const toNhwc = (s: KernelScope, t: TensorInfo, channelsFirst: boolean) =>
  channelsFirst ? s.transpose(t, [0, 2, 3, 1]) : t

/**
 * Kernel configs of the gradient kernels that training needs, for backend `backendName`, built only
 * from that backend's own `Conv2D`, `DepthwiseConv2dNative`, `BatchMatMul`, `Transpose`, `Slice`,
 * `StridedSlice`, `Concat`, `PadV2`, `Sum`, `Fill`, `Equal`, `Select`, `Add`, `GatherV2` and `ScatterNd`
 * kernels (so on wasm every convolution FLOP runs in XNNPACK). `MaxPoolGrad`, `AvgPoolGrad` and
 * `ResizeNearestNeighborGrad` replace wasm's shipped versions, which give wrong gradients (all-negative
 * pooling windows; windows that reach into `same` padding; half-pixel centres). Every intermediate is freed before the kernel returns.
 *
 * `fallback(name)` returns the backend's shipped kernel of that name, used where ours does not apply
 * (`Tile` of `bool`/`string` tensors, or when its broadcast view would exceed rank 6).
 *
 * @since 0.1.0
 * @category kernels
 */
export function trainingKernelConfigs(
  backendName: string,
  fallback: (name: string) => KernelConfig | undefined = () => undefined,
): KernelConfig[] {
  const scoped = (args: Args, body: (s: KernelScope) => TensorInfo) =>
    withScope(args.backend, backendName, body)
  /** Two named float inputs of a kernel. */
  const floatPair = (args: Args, kernel: string, a: string, b: string): [TensorInfo, TensorInfo] => {
    const ta = input(args.inputs, a, kernel)
    const tb = input(args.inputs, b, kernel)
    requireFloat(ta, kernel)
    requireFloat(tb, kernel)
    return [ta, tb]
  }
  /** The convolution geometry of a backprop kernel from its input and filter shapes and attributes. */
  const convInfo = (
    inShape: readonly number[],
    filterShape: readonly number[],
    attrs: {
      strides: number | [number, number]
      pad: Conv2DBackpropFilterAttrs['pad']
      dimRoundingMode?: Conv2DBackpropFilterAttrs['dimRoundingMode']
      dilations?: number | [number, number]
    },
    depthwise: boolean,
    format: 'channelsFirst' | 'channelsLast' = 'channelsLast',
  ) =>
    backend_util.computeConv2DInfo(
      inShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      depthwise,
      format,
    )

  const conv2dBackpropFilter = (args: Args) => {
    const [x, dy] = floatPair(args, 'Conv2DBackpropFilter', 'x', 'dy')
    const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs
    const format = backend_util.convertConv2DDataFormat(attrs.dataFormat)
    const info = convInfo(x.shape, attrs.filterShape, { ...attrs, dilations: 1 }, false, format)
    const first = format === 'channelsFirst'
    return scoped(args, (s) => conv2dFilterGrad(s, toNhwc(s, x, first), toNhwc(s, dy, first), geometry(info)))
  }

  const conv2dBackpropInput = (args: Args) => {
    const [dy, filter] = floatPair(args, 'Conv2DBackpropInput', 'dy', 'filter')
    const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs
    const format = backend_util.convertConv2DDataFormat(attrs.dataFormat)
    const info = convInfo(attrs.inputShape, filter.shape, { ...attrs, dilations: 1 }, false, format)
    const first = format === 'channelsFirst'
    return scoped(args, (s) => {
      const dx = convInputGrad(s, toNhwc(s, dy, first), filter, geometry(info), false)
      return first ? s.transpose(dx, [0, 3, 1, 2]) : dx
    })
  }

  const depthwiseBackpropFilter = (args: Args) => {
    const [x, dy] = floatPair(args, 'DepthwiseConv2dNativeBackpropFilter', 'x', 'dy')
    const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs
    const info = convInfo(x.shape, attrs.filterShape, attrs, true)
    return scoped(args, (s) => depthwiseFilterGrad(s, x, dy, geometry(info)))
  }

  const depthwiseBackpropInput = (args: Args) => {
    const [dy, filter] = floatPair(args, 'DepthwiseConv2dNativeBackpropInput', 'dy', 'filter')
    const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs
    const info = convInfo(attrs.inputShape, filter.shape, attrs, true)
    return scoped(args, (s) => convInputGrad(s, dy, filter, geometry(info), true))
  }

  const unsortedSegmentSum = (args: Args) => {
    const x = input(args.inputs, 'x', 'UnsortedSegmentSum')
    const segmentIds = input(args.inputs, 'segmentIds', 'UnsortedSegmentSum')
    const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs
    return scoped(args, (s) => segmentSum(s, x, segmentIds, numSegments))
  }

  const maxPoolGradient = (args: Args) => {
    const dy = input(args.inputs, 'dy', 'MaxPoolGrad')
    const x = input(args.inputs, 'input', 'MaxPoolGrad')
    const y = input(args.inputs, 'output', 'MaxPoolGrad')
    requireFloat(x, 'MaxPoolGrad')
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs
    const info = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    )
    return scoped(args, (s) => maxPoolGrad(s, dy, x, y, info))
  }

  const avgPoolGradient = (args: Args) => {
    const dy = input(args.inputs, 'dy', 'AvgPoolGrad')
    const x = input(args.inputs, 'input', 'AvgPoolGrad')
    requireFloat(dy, 'AvgPoolGrad')
    const { filterSize, strides, pad } = args.attrs as unknown as AvgPoolGradAttrs
    const info = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
    )
    return scoped(args, (s) => avgPoolGrad(s, dy, info, geometry(info)))
  }

  const resizeNearestNeighborGrad = (args: Args) => {
    const images = input(args.inputs, 'images', 'ResizeNearestNeighborGrad')
    const dy = input(args.inputs, 'dy', 'ResizeNearestNeighborGrad')
    requireFloat(dy, 'ResizeNearestNeighborGrad')
    const { alignCorners, halfPixelCenters } = args.attrs as unknown as ResizeNearestNeighborGradAttrs
    return scoped(args, (s) => resizeNearestGrad(s, images, dy, alignCorners, halfPixelCenters))
  }

  const tile = (args: Args) => {
    const x = input(args.inputs, 'x', 'Tile')
    const { reps } = args.attrs as unknown as TileAttrs
    const s0 = new KernelScope(args.backend, backendName)
    let fast: TensorInfo | undefined
    try {
      fast = tileByBroadcast(s0, x, reps)
      if (fast !== undefined) s0.keep(fast)
    } finally {
      s0.dispose()
    }
    if (fast !== undefined) return fast
    const shipped = fallback('Tile')
    if (shipped === undefined) {
      throw new NasError({
        code: 'BACKEND',
        message: `Tile of ${x.dtype} with reps ${reps.join(',')} is not supported`,
      })
    }
    setUpOnce(shipped, args.backend)
    return shipped.kernelFunc(args) as TensorInfo
  }

  /** The backend's shipped kernel `name`, set up; a `BACKEND` error when there is none. */
  const shippedKernel = (name: string, backend: KernelBackend): KernelConfig => {
    const shipped = fallback(name)
    if (shipped === undefined) {
      throw new NasError({
        code: 'BACKEND',
        message: `the shipped '${name}' kernel of backend '${backendName}' is missing`,
        value: name,
      })
    }
    setUpOnce(shipped, backend)
    return shipped
  }

  const sum = (args: Args) => {
    const x = input(args.inputs, 'x', 'Sum')
    const { axis, keepDims } = args.attrs as unknown as SumAttrs
    // `axis` may be missing (all axes) or negative.
    const given = axis as number | number[] | null | undefined
    const axes = given == null ? x.shape.map((_, i) => i) : util.parseAxisParam(given, x.shape)
    const s0 = new KernelScope(args.backend, backendName)
    let fast: TensorInfo | undefined
    try {
      fast = sumOverMiddleAxes(s0, x, axes, keepDims)
      if (fast !== undefined) s0.keep(fast)
    } finally {
      s0.dispose()
    }
    return fast ?? (shippedKernel('Sum', args.backend).kernelFunc(args) as TensorInfo)
  }

  const batchMatMul = (args: Args) => {
    const a = input(args.inputs, 'a', 'BatchMatMul')
    const b = input(args.inputs, 'b', 'BatchMatMul')
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs
    const shipped = shippedKernel('BatchMatMul', args.backend)
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return shipped.kernelFunc(args) as TensorInfo
    }
    const s0 = new KernelScope(args.backend, backendName)
    try {
      const inputs = untransposedOperands(s0, a, b, transposeA, transposeB)
      return shipped.kernelFunc({
        ...args,
        inputs,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      }) as TensorInfo
    } finally {
      s0.dispose()
    }
  }

  const config = (kernelName: TrainingKernelName, kernelFunc: (args: Args) => TensorInfo): KernelConfig => ({
    kernelName,
    backendName,
    kernelFunc: kernelFunc as KernelConfig['kernelFunc'],
  })
  return [
    config('Conv2DBackpropFilter', conv2dBackpropFilter),
    config('Conv2DBackpropInput', conv2dBackpropInput),
    config('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter),
    config('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput),
    config('UnsortedSegmentSum', unsortedSegmentSum),
    config('MaxPoolGrad', maxPoolGradient),
    config('AvgPoolGrad', avgPoolGradient),
    config('ResizeNearestNeighborGrad', resizeNearestNeighborGrad),
    config('Tile', tile),
    config('Sum', sum),
    config('BatchMatMul', batchMatMul),
  ]
}

/**
 * `out[k, ...] = sum of x[i, ...] over the positions i whose segment id is k` (ids outside
 * `[0, numSegments)` are dropped, as in TensorFlow): the ids are read (they are small), the rows with
 * valid ids are gathered when some are invalid, and `ScatterNd` accumulates them.
 */
function segmentSum(s: KernelScope, x: TensorInfo, segmentIds: TensorInfo, numSegments: number): TensorInfo {
  const idRank = segmentIds.shape.length
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1)
  const inner = x.shape.slice(idRank)
  const innerSize = inner.reduce((a, b) => a * b, 1)
  const outShape = [numSegments, ...inner]
  const ids = s.backend.readSync(segmentIds.dataId) as Int32Array | Float32Array
  const valid: number[] = []
  for (let i = 0; i < rows; i++) {
    const id = ids[i]!
    if (id >= 0 && id < numSegments) valid.push(i)
  }
  if (valid.length === 0 || innerSize === 0) return s.zeros(outShape, x.dtype)
  let updates = s.reshape(x, [rows, innerSize])
  let idx: Int32Array
  if (valid.length === rows) {
    idx = Int32Array.from(ids)
  } else {
    const keep = s.tensor(Int32Array.from(valid), [valid.length], 'int32')
    updates = s.run('GatherV2', { x: updates, indices: keep }, { axis: 0, batchDims: 0 })
    idx = Int32Array.from(valid, (i) => ids[i]!)
  }
  const indices = s.tensor(idx, [idx.length, 1], 'int32')
  const summed = s.run('ScatterNd', { indices, updates }, { shape: [numSegments, innerSize] })
  return s.reshape(summed, outShape)
}
