import { NasError } from '@nasjs/core'
import type { Evaluator, EvaluatorContext, EvaluatorInfo, Metrics } from '@nasjs/core'
import { buildMbNetwork, evaluateLogits, mbNetworkParts, type Dataset } from '@nasjs/models'
import {
  defineSpaceAs,
  formatQuantPolicy,
  parseQuantPolicy,
  product,
  quantPolicyDef,
  space,
  type DslSpace,
  type OfaArch,
  type QuantFormat,
  type SearchSpace,
  type QuantPolicy,
} from '@nasjs/search-space'
import {
  checkCounts,
  checkSupernetData,
  evaluateSubnet,
  exportSubnet,
  recalibrate,
  resizedSplits,
  type BnStats,
  type ElasticMbv3,
} from '@nasjs/supernet'
import type * as tfl from '@tensorflow/tfjs-layers'
import { networkQuantLayers, quantCosts } from './cost.js'
import { numberFormat } from './formats.js'
import { quantizeNetwork, type PtqConfig } from './ptq.js'

/**
 * A subnet of a supernet and its quantization policy: one `{ weights, activations }` format per
 * block slot of the supernet's deepest layout (stage by stage, slot `s x maxDepth + p` for block
 * `p` of stage `s`; the slots of blocks a shallower subnet leaves out are unused).
 * @since 0.2.0
 */
export type QuantSubnet = [OfaArch, QuantPolicy]

/** The separator of a {@link QuantSubnet}'s text form: `<subnet> | <policy>`. */
const SEP = ' | '

/**
 * What the joint space needs of a supernet: its subnets' space and its depths (an `ElasticMbv3`, or
 * `{ space: supernetSpace(shape), config: parseSupernetConfig(shape) }` without weights).
 * @since 0.2.0
 */
export interface SupernetLayout {
  readonly space: SearchSpace<OfaArch>
  readonly config: { readonly depths: readonly number[] }
}

/** Block slots of a supernet: 5 stages of its largest depth. */
const slotsOf = (net: SupernetLayout) => 5 * net.config.depths.at(-1)!

/** The slots of a subnet's blocks, in order. */
const activeSlots = (net: SupernetLayout, arch: OfaArch) => {
  const maxDepth = net.config.depths.at(-1)!
  return arch.stages.flatMap((blocks, s) => blocks.map((_, p) => s * maxDepth + p))
}

/**
 * The joint space of a supernet's subnets and their quantization policies (SimQ-NAS): the product of
 * `net.space` and a `quant-policy` of one format pair per block slot, each chosen among `formats`
 * (int4 and int8 by default). Its text form is the subnet's, ` | `, then the policy's
 * (`int8:int8 int4:int8 ...`). Every strategy searches it as any other space.
 * @since 0.2.0
 * @category search
 */
export function quantSubnetSpace(
  net: SupernetLayout,
  formats: readonly QuantFormat[] = ['int4', 'int8'],
): DslSpace<QuantSubnet> {
  const slots = slotsOf(net)
  return defineSpaceAs<QuantSubnet>(
    `${net.space.id}*quant-policy`,
    product(space(net.space), quantPolicyDef(slots, formats)),
    {
      title: `subnets of a supernet x per-block formats (${formats.join(', ')})`,
      format: ([arch, policy]) => `${net.space.format(arch)}${SEP}${formatQuantPolicy(policy)}`,
      // functionally equal: the same subnet, the same formats in the slots of its blocks (the
      // slots of blocks it leaves out do not change the network)
      hash: ([arch, policy]) =>
        `${net.space.hash(arch)}${SEP}${activeSlots(net, arch)
          .map((i) => `${policy[i]!.weights}:${policy[i]!.activations}`)
          .join(' ')}`,
      parse: (text) => {
        const at = String(text).lastIndexOf(SEP.trim())
        if (at < 0) {
          throw new NasError({
            code: 'ARCH_INVALID',
            message: `a quantized subnet is written '<subnet> | <policy>'; got no '|' in ${JSON.stringify(text)}`,
            value: text,
          })
        }
        return [net.space.parse(text.slice(0, at).trim()), parseQuantPolicy(text.slice(at + 1), slots)]
      },
    },
  )
}

/**
 * The uniform policy of a supernet's {@link quantSubnetSpace}: `format` (`'int8:int8'`, weights then
 * activations) in every block slot.
 * @since 0.2.0
 * @category search
 */
export function uniformPolicy(net: SupernetLayout, format: string): QuantPolicy {
  const [p] = parseQuantPolicy(format, 1)
  return Array.from({ length: slotsOf(net) }, () => ({ ...p! }))
}

/**
 * The per-layer policy (`quantizeNetwork`'s `layers`, `quantCosts`' policy) of subnet `arch`'s
 * standalone model (`exportSubnet`, or `buildMbNetwork(net.network(arch))`): each block's layers
 * take its slot's formats; the stem, the first (fixed) block and the head take `edges`.
 * @since 0.2.0
 * @category search
 */
export function subnetLayerPolicy(
  net: ElasticMbv3,
  model: tfl.LayersModel,
  arch: OfaArch,
  policy: QuantPolicy,
  edges: { readonly weights: string; readonly activations: string },
): { weights: string; activations: string }[] {
  const parts = mbNetworkParts(model)
  const slots = activeSlots(net, arch)
  // stem, the fixed first block, the active blocks, the head
  if (parts === undefined || parts.length !== slots.length + 3) {
    throw new NasError({
      code: 'INTERNAL',
      message: `the model is not subnet ${net.space.format(arch)}'s standalone network (exportSubnet builds one)`,
    })
  }
  if (policy.length !== slotsOf(net)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the policy has ${policy.length} block formats; this supernet has ${slotsOf(net)} block slots`,
      value: policy.length,
      allowed: [slotsOf(net)],
    })
  }
  return applySlots(layerSlots(model, parts, slots), policy, edges)
}

/** The block slot of each quantizable layer of a subnet's model, -1 for the stem, first block and head. */
function layerSlots(
  model: tfl.LayersModel,
  parts: readonly (readonly string[])[],
  slots: readonly number[],
): number[] {
  const partOf = new Map<string, number>()
  parts.forEach((names, i) => names.forEach((n) => partOf.set(n, i)))
  return networkQuantLayers(model).map((l) => {
    const part = partOf.get(l.name)!
    return part < 2 || part === parts.length - 1 ? -1 : slots[part - 2]!
  })
}

/** A per-layer policy from each layer's slot (-1: `edges`). */
const applySlots = (
  layerSlot: readonly number[],
  policy: QuantPolicy,
  edges: { readonly weights: string; readonly activations: string },
) =>
  layerSlot.map((i) =>
    i < 0 ? { weights: edges.weights, activations: edges.activations } : { ...policy[i]! },
  )

/**
 * Options of {@link quantSubnetEvaluator}.
 * @since 0.2.0
 */
export interface QuantSubnetEvaluatorOptions {
  /** A trained supernet (`loadSupernet` of `@nasjs/supernet/node`). */
  readonly net: ElasticMbv3
  readonly data: {
    /** Training images: BatchNorm recalibration, then the activation ranges' calibration. */
    readonly calibration: Dataset
    /** Held-out images: `acc`, the search signal. */
    readonly valid: Dataset
    /** Reported as `test_acc`, never searched on. */
    readonly test?: Dataset
  }
  /** The formats each slot chooses among (int4 and int8). */
  readonly formats?: readonly QuantFormat[]
  /** The formats of the stem, the first block and the head (`'int8:int8'`: 8 bits, as usual). */
  readonly edges?: string
  /** Images BatchNorm is recalibrated on (500). */
  readonly calibrationImages?: number
  /** Images the activation ranges are calibrated on (256). */
  readonly rangeImages?: number
  /** How ranges are calibrated, and the weights' granularity (`quantizeNetwork`'s options). */
  readonly ptq?: Pick<PtqConfig, 'calibration' | 'percentile' | 'weightsPerChannel' | 'activationsSymmetric'>
  /** At most this many held-out images per evaluation (all of `valid`). */
  readonly validImages?: number
  /** Images per forward pass (250). */
  readonly batchSize?: number
}

/**
 * The metrics of a quantized-subnet evaluation: `acc` (% of the held-out images, quantized),
 * `float_acc` (the same subnet in float32), `test_acc` (quantized, with a test split), `bytes` (the
 * deployed weights: each kernel at its format, folded biases and unfolded BatchNorms at 32 bits, as
 * `quantizeNetwork` counts them), and the cheap `bitops`, `peak_act_bytes` (`quantCosts`),
 * `params` and `flops`.
 * @since 0.2.0
 */
export const QUANT_SUBNET_METRICS = [
  'acc',
  'float_acc',
  'test_acc',
  'bytes',
  'bitops',
  'peak_act_bytes',
  'params',
  'flops',
] as const

/**
 * An evaluator over a supernet's subnets and their quantization policies together (SimQ-NAS): the subnet's BatchNorm is recalibrated, its standalone model exported with the
 * supernet's weights, then quantized after training with the policy (`quantizeNetwork` with one
 * format pair per layer: each block's slot, `edges` for the stem, the first block and the head) and
 * its accuracy measured on the held-out images. Nothing is assumed: every pair's accuracy is
 * measured. The space is {@link quantSubnetSpace}; pair it with LINAS (`@nasjs/predictors`) as
 * SimQ-NAS does, or any strategy. The last few subnets' recalibrated models are kept, so policies
 * of the same subnet skip the recalibration. Same pair, same result.
 * @since 0.2.0
 * @category search
 */
export function quantSubnetEvaluator(options: QuantSubnetEvaluatorOptions): {
  space: DslSpace<QuantSubnet>
  evaluator: Evaluator<QuantSubnet>
  info: EvaluatorInfo
  cheapMetrics: (a: QuantSubnet) => Metrics
  /** Frees the kept models. */
  dispose(): void
} {
  const { net, data } = options
  for (const d of [data.calibration, data.valid, ...(data.test === undefined ? [] : [data.test])])
    checkSupernetData(net, d)
  const formats = options.formats ?? ['int4', 'int8']
  const [edges] = parseQuantPolicy(options.edges ?? 'int8:int8', 1)
  const calibrationImages = options.calibrationImages ?? 500
  const rangeImages = options.rangeImages ?? 256
  const batchSize = options.batchSize ?? 250
  checkCounts({ calibrationImages, rangeImages, batchSize, validImages: options.validImages ?? 1 })
  for (const f of [edges!.weights, edges!.activations]) numberFormat(f)
  const space = quantSubnetSpace(net, formats)
  const at = resizedSplits()
  // the recalibrated standalone models of the last few subnets (a search tries several policies of one)
  const kept = new Map<string, { model: tfl.LayersModel; bn: BnStats; floatAcc: number }>()
  const KEEP = 4
  const subnet = (arch: OfaArch) => {
    const key = net.space.format(arch)
    const hit = kept.get(key)
    if (hit !== undefined) {
      kept.delete(key)
      kept.set(key, hit)
      return hit
    }
    const r = arch.resolution
    const bn = recalibrate(net, arch, at(data.calibration, 'calibration', r, calibrationImages), {
      images: calibrationImages,
      batchSize: Math.min(batchSize, 256),
    })
    const floatAcc =
      100 * evaluateSubnet(net, arch, at(data.valid, 'valid', r, options.validImages), { bn, batchSize }).acc
    const entry = { model: exportSubnet(net, arch, bn), bn, floatAcc }
    kept.set(key, entry)
    if (kept.size > KEEP) {
      const [oldest] = kept.keys()
      kept.get(oldest!)!.model.dispose()
      kept.delete(oldest!)
    }
    return entry
  }
  const costsOf = (model: tfl.LayersModel, arch: OfaArch, policy: QuantPolicy) => {
    const layers = subnetLayerPolicy(net, model, arch, policy, edges!)
    return { layers, costs: quantCosts(networkQuantLayers(model), layers) }
  }
  // a subnet's layer shapes and slots, built once: cheap metrics are asked for many candidates
  const shapes = new Map<string, { layers: ReturnType<typeof networkQuantLayers>; slots: number[] }>()
  const shapesOf = (arch: OfaArch) => {
    const key = net.space.format(arch)
    let e = shapes.get(key)
    if (e === undefined) {
      const model = buildMbNetwork(net.network(arch), 0)
      try {
        const parts = mbNetworkParts(model)!
        e = { layers: networkQuantLayers(model), slots: layerSlots(model, parts, activeSlots(net, arch)) }
      } finally {
        model.dispose()
      }
      if (shapes.size >= 1024) shapes.delete(shapes.keys().next().value!)
      shapes.set(key, e)
    }
    return e
  }
  const cheapMetrics = ([arch, policy]: QuantSubnet): Metrics => {
    const { layers, slots } = shapesOf(arch)
    const costs = quantCosts(layers, applySlots(slots, policy, edges!))
    return { ...net.cost(arch), bitops: costs.bitOps, peak_act_bytes: costs.peakActivationBytes }
  }
  const evaluator = async ([arch, policy]: QuantSubnet, ctx: EvaluatorContext): Promise<Metrics> => {
    if (ctx.signal.aborted) {
      throw new NasError({ code: 'ABORTED', message: 'the evaluation was aborted before it started' })
    }
    const r = arch.resolution
    const { model, floatAcc } = subnet(arch)
    const { layers, costs } = costsOf(model, arch, policy)
    const q = quantizeNetwork(model, at(data.calibration, 'calibration', r, calibrationImages), {
      ...options.ptq,
      layers,
      calibrationImages: rangeImages,
      batchSize,
    })
    try {
      const accOf = (d: Dataset) => 100 * evaluateLogits(d, (x) => q.predict(x) as never, batchSize).acc
      const out: Metrics = {
        acc: accOf(at(data.valid, 'valid', r, options.validImages)),
        float_acc: floatAcc,
        bytes: q.weightBytes,
        bitops: costs.bitOps,
        peak_act_bytes: costs.peakActivationBytes,
        ...net.cost(arch),
      }
      if (data.test !== undefined) out.test_acc = accOf(at(data.test, 'test', r))
      await new Promise((resolve) => setTimeout(resolve, 0))
      return out
    } finally {
      q.dispose()
    }
  }
  const info: EvaluatorInfo = {
    metrics: QUANT_SUBNET_METRICS.filter((m) => m !== 'test_acc' || data.test !== undefined),
    cheapMetrics: ['bitops', 'peak_act_bytes', 'params', 'flops'],
    // the space's hash leaves out the formats of unused slots, which change nothing measured
    functionalCache: true,
  }
  return {
    space,
    evaluator,
    info,
    cheapMetrics,
    dispose: () => {
      for (const e of kept.values()) e.model.dispose()
      kept.clear()
    },
  }
}
