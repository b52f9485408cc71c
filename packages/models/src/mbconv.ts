import { Rng } from '@nasjs/core'
import * as tfl from '@tensorflow/tfjs-layers'
import type { LatencyBlockSpec } from './hardware/block-spec.js'

/**
 * `v` rounded to the nearest multiple of `divisor` (at least `divisor`), one step up if that loses
 * more than 10 %: the `make_divisible` of the TF-Slim MobileNet code, which Once-for-All uses for
 * every width.
 * @since 0.1.0
 * @category models
 */
export function makeDivisible(v: number, divisor = 8): number {
  const r = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor)
  return r < 0.9 * v ? r + divisor : r
}

/** `relu`, or `h_swish` (x relu6(x + 3) / 6, Howard et al. 2019). @since 0.1.0 */
export type MbActivation = 'relu' | 'h_swish'

/**
 * One layer of an MBConv network.
 *
 * `mbconv`: an inverted-residual block (Sandler et al. 2018): a 1x1 expansion to `mid` channels with
 * BatchNorm and the activation (left out when `expand` is false, then `mid` equals `cin`); a
 * channel shuffle when `groups` > 1; a `kernel` x `kernel` depthwise convolution with `stride`,
 * BatchNorm and the activation; a squeeze-and-excitation with `se` reduced channels when `se` > 0;
 * a 1x1 projection to `cout` with BatchNorm and no activation; the input added when `stride` is 1 and
 * `cin` equals `cout`. Both 1x1 convolutions have `groups` groups.
 *
 * `conv`: a convolution with BatchNorm and the activation (FBNet's `skip` where the shape changes).
 * @since 0.1.0
 */
export type MbLayer =
  | {
      readonly kind: 'mbconv'
      readonly cin: number
      readonly cout: number
      readonly mid: number
      readonly kernel: number
      readonly stride: number
      readonly act: MbActivation
      readonly expand: boolean
      readonly se: number
      readonly groups: number
    }
  | {
      readonly kind: 'conv'
      readonly cin: number
      readonly cout: number
      readonly kernel: number
      readonly stride: number
      readonly act: MbActivation
    }

/**
 * A whole MBConv network: a stem convolution (BatchNorm, activation), the layers, a 1x1 head
 * convolution (BatchNorm, activation), global average pooling, optionally a feature mix (a 1x1
 * convolution on the pooled features without bias or BatchNorm, then the activation), dropout and a
 * linear classifier.
 * @since 0.1.0
 */
export interface MbNetwork {
  readonly name: string
  readonly inputShape: readonly [number, number, number]
  readonly stem: {
    readonly cout: number
    readonly kernel: number
    readonly stride: number
    readonly act: MbActivation
  }
  readonly layers: readonly MbLayer[]
  readonly head: { readonly cout: number; readonly act: MbActivation }
  readonly mix?: { readonly cout: number; readonly act: MbActivation }
  readonly dropout: number
  readonly classes: number
}

/** Output side of a convolution with PyTorch's symmetric padding k // 2. */
const outSide = (n: number, kernel: number, stride: number) =>
  Math.floor((n + 2 * Math.floor(kernel / 2) - kernel) / stride) + 1

/**
 * Exact parameters and FLOPs of {@link buildMbNetwork}'s model. Parameters are the trainable weights:
 * convolution kernels, BatchNorm scales and shifts, the squeeze-and-excitation and classifier weights
 * and biases. FLOPs are multiply-accumulates of convolutions and linear layers, a bias counting one
 * per output (as `nb201Cost` counts them), nothing for BatchNorm, activations, pooling or additions.
 * @since 0.1.0
 * @category models
 */
export function mbNetworkCost(net: MbNetwork): { params: number; flops: number } {
  let [h, w] = net.inputShape
  let params = 0
  let flops = 0
  /** a convolution of `pixels` outputs, then BatchNorm */
  const convBn = (cin: number, cout: number, kernel: number, groups: number, pixels: number) => {
    const weights = ((kernel * kernel * cin) / groups) * cout
    params += weights + 2 * cout
    flops += pixels * weights
  }
  const dense = (cin: number, cout: number, bias: boolean) => {
    params += cin * cout + (bias ? cout : 0)
    flops += cin * cout + (bias ? cout : 0)
  }
  const s = net.stem
  let c = net.inputShape[2]
  ;[h, w] = [outSide(h, s.kernel, s.stride), outSide(w, s.kernel, s.stride)]
  convBn(c, s.cout, s.kernel, 1, h * w)
  c = s.cout
  for (const l of net.layers) {
    const [ho, wo] = [outSide(h, l.kernel, l.stride), outSide(w, l.kernel, l.stride)]
    if (l.kind === 'conv') convBn(l.cin, l.cout, l.kernel, 1, ho * wo)
    else {
      if (l.expand) convBn(l.cin, l.mid, 1, l.groups, h * w)
      convBn(l.mid, l.mid, l.kernel, l.mid, ho * wo)
      if (l.se > 0) {
        dense(l.mid, l.se, true)
        dense(l.se, l.mid, true)
      }
      convBn(l.mid, l.cout, 1, l.groups, ho * wo)
    }
    ;[h, w, c] = [ho, wo, l.cout]
  }
  convBn(c, net.head.cout, 1, 1, h * w)
  c = net.head.cout
  if (net.mix !== undefined) {
    dense(c, net.mix.cout, false)
    c = net.mix.cout
  }
  dense(c, net.classes, true)
  return { params, flops }
}

type T = tfl.SymbolicTensor
const ap = (layer: tfl.layers.Layer, x: T | T[]) => layer.apply(x) as T

/** He-normal initial weights with the fan-out, as OFA's `he_fout` (for a depthwise kernel: k x k). */
const heFanOut = (seed: number) =>
  tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed })

/** Symmetric zero padding k // 2 for a strided convolution ('same' is symmetric at stride 1, odd k). */
function padFor(x: T, kernel: number, stride: number): [T, 'same' | 'valid'] {
  const p = Math.floor(kernel / 2)
  if (stride === 1 || p === 0) return [x, stride === 1 ? 'same' : 'valid']
  const padding: [[number, number], [number, number]] = [
    [p, p],
    [p, p],
  ]
  return [ap(tfl.layers.zeroPadding2d({ padding }), x), 'valid']
}

/** A depthwise `kernel` x `kernel` convolution without bias, `multiplier` outputs per channel. */
function depthwise(x: T, kernel: number, stride: number, seed: number, multiplier = 1): T {
  const [input, padding] = padFor(x, kernel, stride)
  return ap(
    tfl.layers.depthwiseConv2d({
      kernelSize: kernel,
      strides: stride,
      padding,
      depthMultiplier: multiplier,
      useBias: false,
      depthwiseInitializer: heFanOut(seed),
    }),
    input,
  )
}

/**
 * A 1x1 convolution without bias from `x`'s channels to `cout` in `groups` groups, output channels
 * group-major as PyTorch's `Conv2d(cin, cout, 1, groups=groups)`. With groups, a depthwise
 * convolution with multiplier m = cout / groups gives x_i K[i, j] at channel i m + j; summing i over
 * each group's cin / groups inputs (reshape, average pooling, rescaling) gives output channel
 * group m + j. Its kernel, [1, 1, cin, m], has the grouped convolution's parameters.
 * @internal
 */
export function groupedPointwise(x: T, cout: number, groups: number, seed: number): T {
  const [h, w, cin] = [x.shape[1]!, x.shape[2]!, x.shape[3]!]
  if (groups === 1)
    return ap(
      tfl.layers.conv2d({ filters: cout, kernelSize: 1, useBias: false, kernelInitializer: heFanOut(seed) }),
      x,
    )
  const [n, m] = [cin / groups, cout / groups]
  const products = ap(
    tfl.layers.reshape({ targetShape: [h * w * groups, n, m] }),
    depthwise(x, 1, 1, seed, m),
  )
  const mean = ap(
    tfl.layers.averagePooling2d({ poolSize: [1, n], strides: [1, n], padding: 'valid' }),
    products,
  )
  return ap(tfl.layers.reshape({ targetShape: [h, w, cout] }), ap(tfl.layers.rescaling({ scale: n }), mean))
}

/**
 * ShuffleNet's channel shuffle (Zhang et al. 2018): channel g (c / groups) + j moves to j groups + g,
 * as PyTorch's `x.view(n, groups, c // groups, h, w).transpose(1, 2)`.
 * @internal
 */
export function channelShuffle(x: T, groups: number): T {
  const [h, w, c] = [x.shape[1]!, x.shape[2]!, x.shape[3]!]
  const split = ap(tfl.layers.reshape({ targetShape: [h * w, groups, c / groups] }), x)
  const swapped = ap(tfl.layers.permute({ dims: [1, 3, 2] }), split)
  return ap(tfl.layers.reshape({ targetShape: [h, w, c] }), swapped)
}

/** x times ReLU(maximum 1) of x / 6 + 0.5 (the hard sigmoid relu6(x + 3) / 6), or ReLU. */
function activation(x: T, a: MbActivation): T {
  return a === 'relu' ? ap(tfl.layers.reLU(), x) : ap(tfl.layers.multiply(), [x, hardSigmoid(x)])
}

function hardSigmoid(x: T): T {
  return ap(tfl.layers.reLU({ maxValue: 1 }), ap(tfl.layers.rescaling({ scale: 1 / 6, offset: 0.5 }), x))
}

/**
 * The TF.js functional model of `net` (logits out), from standard TF.js layers only, so it saves,
 * loads and exports (`exportArtifacts`) like any Keras-format model. Stride-2 convolutions pad k // 2
 * zeros on every side first, as PyTorch does (TF's `same` pads more at the bottom and right);
 * h-swish is x times ReLU(maximum 1) of x / 6 + 0.5, the hard sigmoid; a 1x1 convolution with groups
 * is a depthwise convolution with multiplier cout / groups whose products are summed per group
 * (reshape, average pooling, rescaling), with the parameters of the grouped convolution; channel
 * shuffle is a reshape, permute and reshape. BatchNorm has PyTorch's defaults (momentum 0.1, that is
 * TF.js momentum 0.9, epsilon 1e-5); convolutions have He-normal (fan-out) initial weights, linear
 * layers Glorot-uniform ones, seeded by `seed`.
 * @since 0.1.0
 * @category models
 */
export function buildMbNetwork(net: MbNetwork, seed: number): tfl.LayersModel {
  const p = mbParts(seed)
  const input = tfl.input({ shape: [...net.inputShape] })
  let x = p.stem(input, net.stem)
  const ends = [x]
  for (const l of net.layers) ends.push((x = p.layer(x, l)))
  const logits = p.head(x, net)
  ends.push(logits)
  const model = tfl.model({ inputs: input, outputs: logits, name: net.name })
  PARTS.set(model, partsOf(ends))
  return model
}

/** The layers of each part of the models {@link buildMbNetwork} built. */
const PARTS = new WeakMap<tfl.LayersModel, readonly (readonly string[])[]>()

/**
 * The names of the layers each part ends with: part k holds the layers its output depends on that no
 * earlier part holds (the input layer goes with the stem).
 */
function partsOf(ends: readonly T[]): string[][] {
  const seen = new Set<tfl.layers.Layer>()
  return ends.map((end) => {
    const names: string[] = []
    const stack = [end.sourceLayer]
    while (stack.length > 0) {
      const layer = stack.pop()!
      if (seen.has(layer)) continue
      seen.add(layer)
      names.push(layer.name)
      for (const node of layer.inboundNodes) stack.push(...node.inboundLayers)
    }
    return names
  })
}

/**
 * The parts of a model {@link buildMbNetwork} built, in order: the stem, each of `net.layers`, then
 * the head (head convolution to logits), each as the names of its layers (the input layer with the
 * stem). A per-block choice, such as a quantization format per MBConv block, is applied to a part's
 * layers. `undefined` for a model built elsewhere (or loaded from files).
 * @since 0.2.0
 * @category models
 */
export function mbNetworkParts(model: tfl.LayersModel): readonly (readonly string[])[] | undefined {
  return PARTS.get(model)
}

/**
 * The builders of an MBConv network's parts, drawing their initialisers' seeds in network order from
 * one stream, so parts applied in order build exactly {@link buildMbNetwork}'s model.
 */
function mbParts(seed: number) {
  const rng = new Rng(seed)
  const nextSeed = () => rng.int(2 ** 31)
  const bn = (x: T) => ap(tfl.layers.batchNormalization({ axis: 3, momentum: 0.9, epsilon: 1e-5 }), x)
  const conv = (x: T, filters: number, kernel: number, stride: number) => {
    const [input, padding] = padFor(x, kernel, stride)
    return ap(
      tfl.layers.conv2d({
        filters,
        kernelSize: kernel,
        strides: stride,
        padding,
        useBias: false,
        kernelInitializer: heFanOut(nextSeed()),
      }),
      input,
    )
  }
  const dense = (x: T, units: number, useBias: boolean, relu = false) =>
    ap(
      tfl.layers.dense({
        units,
        useBias,
        ...(relu ? { activation: 'relu' as const } : {}),
        kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }),
      }),
      x,
    )
  const squeezeExcite = (x: T, c: number, reduced: number) => {
    const pooled = ap(tfl.layers.globalAveragePooling2d({}), x)
    const gate = hardSigmoid(dense(dense(pooled, reduced, true, true), c, true))
    return ap(tfl.layers.multiply(), [x, ap(tfl.layers.reshape({ targetShape: [1, 1, c] }), gate)])
  }
  return {
    stem: (x: T, s: MbNetwork['stem']) => activation(bn(conv(x, s.cout, s.kernel, s.stride)), s.act),
    layer(x: T, l: MbLayer): T {
      if (l.kind === 'conv') return activation(bn(conv(x, l.cout, l.kernel, l.stride)), l.act)
      let y = x
      if (l.expand) y = activation(bn(groupedPointwise(y, l.mid, l.groups, nextSeed())), l.act)
      if (l.groups > 1) y = channelShuffle(y, l.groups)
      y = activation(bn(depthwise(y, l.kernel, l.stride, nextSeed())), l.act)
      if (l.se > 0) y = squeezeExcite(y, l.mid, l.se)
      y = bn(groupedPointwise(y, l.cout, l.groups, nextSeed()))
      return l.stride === 1 && l.cin === l.cout ? ap(tfl.layers.add(), [x, y]) : y
    },
    /** Head convolution, pooling, feature mix, dropout and classifier: the logits. */
    head(x: T, net: MbNetwork): T {
      let y = activation(bn(conv(x, net.head.cout, 1, 1)), net.head.act)
      y = ap(tfl.layers.globalAveragePooling2d({}), y)
      if (net.mix !== undefined) y = activation(dense(y, net.mix.cout, false), net.mix.act)
      if (net.dropout > 0) y = ap(tfl.layers.dropout({ rate: net.dropout, seed: nextSeed() }), y)
      return dense(y, net.classes, true)
    },
  }
}

/**
 * The stem, every layer and the head of `net` (head convolution to logits), in order, each as a
 * latency block with the input it sees (count 1 each). The key names the part and its context (kind,
 * channels, kernel, stride, activation, input size), so equal keys are equal computations.
 * @internal
 */
export function mbSegments(net: MbNetwork): LatencyBlockSpec[] {
  let [h, w, c] = net.inputShape
  const out: LatencyBlockSpec[] = []
  const put = (
    key: string,
    shape: readonly [number, number, number],
    part: (p: ReturnType<typeof mbParts>, x: T) => T,
  ) => out.push({ key, inputShape: shape, count: 1, apply: (x, seed) => part(mbParts(seed), x) })
  const s = net.stem
  put(`stem:${h}x${w}x${c}>${s.cout}:k${s.kernel}:s${s.stride}:${s.act}`, [h, w, c], (p, x) => p.stem(x, s))
  ;[h, w, c] = [outSide(h, s.kernel, s.stride), outSide(w, s.kernel, s.stride), s.cout]
  for (const l of net.layers) {
    const ctx = `${h}x${w}x${l.cin}>${l.cout}:k${l.kernel}:s${l.stride}:${l.act}`
    const key =
      l.kind === 'conv'
        ? `conv:${ctx}`
        : `mbconv:${ctx}:m${l.mid}:se${l.se}:g${l.groups}${l.expand ? '' : ':noexpand'}`
    put(key, [h, w, c], (p, x) => p.layer(x, l))
    ;[h, w, c] = [outSide(h, l.kernel, l.stride), outSide(w, l.kernel, l.stride), l.cout]
  }
  const mix = net.mix === undefined ? '' : `:mix${net.mix.cout}:${net.mix.act}`
  put(`head:${h}x${w}x${c}>${net.head.cout}:${net.head.act}${mix}>${net.classes}`, [h, w, c], (p, x) =>
    p.head(x, net),
  )
  return out
}
