import {
  HARDWARE_METRICS,
  NasError,
  isHardwareMetric,
  type Evaluator,
  type EvaluatorInfo,
  type LatencyTable,
  type Metrics,
} from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { buildModel, type NetworkOptions } from '../build.js'
import { predictLatency, warmUpBackend } from './lut.js'
import { measureLatency, measureMemory, quietGate, weightBytes, type QuietGate } from './measure.js'

/**
 * Options of {@link hardwareMetrics}.
 * @since 0.1.0
 */
export interface HardwareMetricsOptions<A> {
  readonly space: SearchSpace<A>
  /** The hardware metrics wanted (see {@link isHardwareMetric}). */
  readonly metrics: readonly string[]
  /** Builder options of the network measured (the one the evaluator scores: its input size, width). */
  readonly network?: NetworkOptions
  /** The table `latency.lut` is predicted from. */
  readonly table?: LatencyTable
  /**
   * The predictor of `latency.help`: milliseconds of an architecture on the device it was adapted
   * to (`@nasjs/predictors`' `adaptHelp`).
   */
  readonly help?: (arch: A) => number
  /**
   * Builds the network measured, for a space without a builder of `buildModel` (a supernet's
   * subnets: their exported standalone model).
   */
  readonly build?: (arch: A) => tfl.LayersModel
  /** Examples per inference (1). */
  readonly batch?: number
  /** Timed inferences per measurement (30, in 3 passes whose lowest median counts) and untimed ones first (10). */
  readonly runs?: number
  readonly warmup?: number
  /** Seconds of random networks run before the first latency is timed (3; see `warmUpBackend`). */
  readonly warmupSeconds?: number
  /** The guard against a busy machine (a new `quietGate()` by default). */
  readonly gate?: QuietGate
}

/**
 * Hardware metrics of architectures, for objectives and constraints: `cheap` ones (`latency.lut`,
 * `latency.help`) are
 * computed without building anything, the others build the network once and measure it on the
 * current backend. Measurements run one at a time, so two never time each other (evaluations running
 * alongside, such as training in worker threads, still share the machine: search with concurrency 1
 * for clean latencies);
 * the first waits for a warm-up of the JavaScript engine (`warmUpBackend`), and each is timed in
 * three passes (the lowest median counts) between two probes of the machine's speed (`quietGate`).
 * @example
 * ```ts
 * const hw = hardwareMetrics({ space: nb201, metrics: ['latency.tfjs-wasm', 'size.bytes'] })
 * await hw.measure(arch) // { 'latency.tfjs-wasm': 4.2, 'size.bytes': 5_000_000 }
 * ```
 * @since 0.1.0
 * @category hardware
 */
export function hardwareMetrics<A>(opts: HardwareMetricsOptions<A>): {
  readonly metrics: readonly string[]
  /** The metrics computed without building the network. */
  readonly cheap: readonly string[]
  cheapOf(arch: A): Metrics
  measure(arch: A): Promise<Metrics>
} {
  const backend = tf.getBackend()
  for (const m of opts.metrics) {
    if (!isHardwareMetric(m)) {
      throw new NasError({
        code: 'METRIC_MISSING',
        message: `'${m}' is not a hardware metric; they are ${HARDWARE_METRICS.join(', ')}`,
        value: m,
        allowed: HARDWARE_METRICS,
      })
    }
    if (m.startsWith('latency.tfjs-') && m !== `latency.tfjs-${backend}`) {
      throw new NasError({
        code: 'METRIC_MISSING',
        message: `'${m}' is measured on the TF.js backend in use, which is ${backend}: ask for latency.tfjs-${backend}, or pick the backend`,
        value: m,
        allowed: [`latency.tfjs-${backend}`],
      })
    }
    if (m === 'latency.help' && opts.help === undefined) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: 'latency.help needs a HELP predictor adapted to a device (nas hardware predictor)',
        value: m,
      })
    }
    if (m === 'latency.lut' && opts.table === undefined) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: 'latency.lut needs a latency table (build one with nas hardware lut build)',
        value: m,
      })
    }
  }
  if (opts.table !== undefined && opts.table.space !== opts.space.id) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `the latency table is for space '${opts.table.space}', not '${opts.space.id}'`,
      value: opts.table.space,
      allowed: [opts.space.id],
    })
  }
  const metrics = [...new Set(opts.metrics)]
  const isCheap = (m: string) => m === 'latency.lut' || m === 'latency.help'
  const cheap = metrics.filter(isCheap)
  const built = metrics.filter((m) => !isCheap(m))
  const batch = opts.batch ?? 1
  const cheapOf = (arch: A): Metrics => {
    const out: Metrics = {}
    for (const m of cheap) {
      out[m] =
        m === 'latency.lut' ? predictLatency(opts.table!, opts.space, arch, opts.network) : opts.help!(arch)
    }
    return out
  }
  // one measurement at a time: a second one waits for the first; the first waits for a warm-up
  let queue: Promise<unknown> = Promise.resolve()
  let warm = !metrics.some((m) => m.startsWith('latency.tfjs-'))
  const gate = opts.gate ?? quietGate()
  const measureBuilt = async (arch: A): Promise<Metrics> => {
    if (built.length === 0) return {}
    if (!warm) {
      await warmUpBackend(opts.space, opts.network, {
        seconds: opts.warmupSeconds ?? 3,
        batch,
        ...(opts.build === undefined ? {} : { build: opts.build }),
      })
      warm = true
    }
    const model = opts.build?.(arch) ?? buildModel(opts.space, arch, opts.network)
    try {
      const out: Metrics = {}
      for (const m of built) {
        if (m === 'size.bytes') out[m] = weightBytes(model).float32
        else if (m === 'memory.peak') out[m] = (await measureMemory(model, { batch })).peakTensorBytes
        else
          out[m] = (
            await gate.run(
              () =>
                measureLatency(model, {
                  batch,
                  runs: opts.runs ?? 30,
                  warmup: opts.warmup ?? 10,
                  passes: Math.min(3, opts.runs ?? 30),
                }),
              (r) => r.median,
            )
          ).median
      }
      return out
    } finally {
      model.dispose()
    }
  }
  return {
    metrics,
    cheap,
    cheapOf,
    measure(arch) {
      const run = queue.then(() => measureBuilt(arch))
      queue = run.catch(() => undefined)
      return run.then((m) => ({ ...cheapOf(arch), ...m }))
    },
  }
}

/**
 * An evaluator that adds hardware metrics to another's: the inner evaluation first, then the
 * measurement (so a failed evaluation measures nothing). Its info lists both evaluators' metrics, the
 * table's latency among the cheap ones.
 * @since 0.1.0
 * @category hardware
 */
export function withHardwareMetrics<A>(
  evaluator: Evaluator<A>,
  info: EvaluatorInfo,
  hardware: ReturnType<typeof hardwareMetrics<A>>,
): { evaluator: Evaluator<A>; info: EvaluatorInfo } {
  return {
    evaluator: async (arch, ctx) => {
      const metrics = await evaluator(arch, ctx)
      return { ...metrics, ...(await hardware.measure(arch)) }
    },
    info: {
      ...info,
      metrics: [...info.metrics, ...hardware.metrics],
      cheapMetrics: [...(info.cheapMetrics ?? []), ...hardware.cheap],
      // latency is measured as written: dead operations still run
      functionalCache: false,
    },
  }
}
