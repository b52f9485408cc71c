import { NasError } from '@nasjs/core'
import type { Evaluator, EvaluatorContext, EvaluatorInfo, Metrics } from '@nasjs/core'
import type { Dataset, HardwareMetricsOptions } from '@nasjs/models'
import { buildMbNetwork, hardwareMetrics } from '@nasjs/models'
import type { OfaArch } from '@nasjs/search-space'
import type { ElasticSupernet } from './base.js'
import { checkCounts, checkData, evaluateSubnet, recalibrate, resizedSplits } from './subnet.js'

/**
 * Options of {@link supernetEvaluator}.
 * @since 0.1.0
 */
export interface SupernetEvaluatorOptions<A = OfaArch> {
  /** A trained supernet (`loadSupernet` of `@nasjs/supernet/node` reads one from its directory). */
  readonly net: ElasticSupernet<A>
  readonly data: {
    /** Training images BatchNorm is recalibrated on, per subnet (the first `calibrationImages`). */
    readonly calibration: Dataset
    /** Held-out images: `acc`, the search signal. */
    readonly valid: Dataset
    /** Reported as `test_acc`, never searched on. */
    readonly test?: Dataset
  }
  /** Images BatchNorm is recalibrated on (500; OFA uses 2,000 on ImageNet). */
  readonly calibrationImages?: number
  /** At most this many held-out images per subnet (all of `valid` by default). */
  readonly validImages?: number
  /** Images per forward pass (500). */
  readonly batchSize?: number
  /**
   * Hardware metrics measured on the subnet's standalone model (`latency.tfjs-wasm`, `memory.peak`,
   * `size.bytes`, or `latency.lut` / `latency.help` with their table or predictor): the options of
   * `hardwareMetrics` of `@nasjs/models` but the space and the builder, which come from the supernet.
   */
  readonly hardware?: Omit<HardwareMetricsOptions<A>, 'space' | 'build' | 'network'>
}

/**
 * The metrics a supernet evaluation returns: `acc` (% of the held-out images), `test_acc` (% of the
 * test images, with a test split), and the subnet's exact `params` and `flops`.
 * @since 0.1.0
 */
export const SUPERNET_METRICS = ['acc', 'test_acc', 'params', 'flops'] as const

/**
 * An evaluator for the search driver over the subnets of a trained supernet: each subnet's BatchNorm
 * statistics are recalibrated on a few hundred training images (OFA's practice), then its accuracy
 * is measured on the held-out images with the supernet's shared weights, nothing trained. The space
 * is the supernet's (`net.space`), so every strategy searches it as any other; `params` and `flops`
 * are cheap metrics (known before the evaluation, for constraints). Same subnet, same result.
 * @example
 * ```ts
 * const { evaluator, info, cheapMetrics } = supernetEvaluator({ net, data: { calibration: train, valid } })
 * await runSearch({ space: net.space, strategy, evaluator, cheapMetrics, objectives: ['acc:max', 'flops:min'], budget: { trials: 1000 } })
 * ```
 * @since 0.1.0
 * @category evaluators
 */
export function supernetEvaluator<A = OfaArch>(
  options: SupernetEvaluatorOptions<A>,
): {
  evaluator: Evaluator<A>
  info: EvaluatorInfo
  cheapMetrics: (arch: A) => Metrics
} {
  const { net, data } = options
  checkData(net, data.calibration)
  checkData(net, data.valid)
  if (data.test !== undefined) checkData(net, data.test)
  const calibrationImages = options.calibrationImages ?? 500
  const batchSize = options.batchSize ?? 500
  checkCounts({ calibrationImages, batchSize, validImages: options.validImages ?? 1 })
  // every split resized once per resolution, the first time a subnet at it comes
  const at = resizedSplits()
  const hardware =
    options.hardware === undefined
      ? undefined
      : hardwareMetrics<A>({
          ...options.hardware,
          space: net.space,
          build: (arch) => buildMbNetwork(net.network(arch), 0),
        })
  const cheapMetrics = (arch: A): Metrics => ({ ...net.cost(arch), ...(hardware?.cheapOf(arch) ?? {}) })
  const evaluator = async (arch: A, ctx: EvaluatorContext): Promise<Metrics> => {
    if (ctx.signal.aborted) {
      throw new NasError({
        code: 'ABORTED',
        message: 'the supernet evaluation was aborted before it started',
      })
    }
    const r = net.resolutionOf(arch)
    const calibration = at(data.calibration, 'calibration', r, calibrationImages)
    const bn = recalibrate(net, arch, calibration, {
      images: calibrationImages,
      batchSize: Math.min(batchSize, 256),
    })
    const out: Metrics = {
      acc:
        100 *
        evaluateSubnet(net, arch, at(data.valid, 'valid', r, options.validImages), { bn, batchSize }).acc,
      ...net.cost(arch),
    }
    if (data.test !== undefined) {
      out.test_acc = 100 * evaluateSubnet(net, arch, at(data.test, 'test', r), { bn, batchSize }).acc
    }
    // let the driver's timers and signals run between evaluations
    await new Promise((resolve) => setTimeout(resolve, 0))
    return hardware === undefined ? out : { ...out, ...(await hardware.measure(arch)) }
  }
  const metrics = SUPERNET_METRICS.filter((m) => m !== 'test_acc' || data.test !== undefined)
  const info: EvaluatorInfo = {
    metrics: [...metrics, ...(hardware?.metrics.filter((m) => !hardware.cheap.includes(m)) ?? [])],
    cheapMetrics: ['params', 'flops', ...(hardware?.cheap ?? [])],
    functionalCache: false,
  }
  return { evaluator, info, cheapMetrics }
}
