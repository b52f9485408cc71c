import { memorySnapshot } from '@nasjs/backend'
import { NasError, Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'

/**
 * A robust summary of repeated timings: outliers (farther from the median than `k` scaled median
 * absolute deviations, as a context switch or a garbage collection makes them) are left out, and the
 * rest are summarised.
 * @since 0.1.0
 * @category hardware
 */
export interface TimingSummary {
  /** Median of the kept timings (ms): the figure to report. */
  readonly median: number
  readonly mean: number
  readonly min: number
  readonly max: number
  /** 10th and 90th percentiles of the kept timings. */
  readonly p10: number
  readonly p90: number
  /** Median absolute deviation of all timings from their median (ms, unscaled). */
  readonly mad: number
  /** Timings taken, and how many of them were rejected as outliers. */
  readonly runs: number
  readonly rejected: number
}

/** The `q` quantile (0..1) of sorted values, linearly interpolated. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/**
 * Summarises timings robustly: the median and median absolute deviation (MAD) of all of them; those
 * farther than `k` · 1.4826 · MAD from the median (`k` 3.5, Iglewicz and Hoaglin's cut-off) are
 * rejected; the median, mean, extremes and 10th/90th percentiles are of the rest.
 * @example
 * ```ts
 * robustSummary([1.0, 1.1, 0.9, 1.0, 25]) // { median: 1, rejected: 1, ... }
 * ```
 * @since 0.1.0
 * @category hardware
 */
export function robustSummary(samples: readonly number[], k = 3.5): TimingSummary {
  if (samples.length === 0 || samples.some((s) => !Number.isFinite(s))) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a timing summary needs at least one finite timing, got [${samples.slice(0, 5).join(', ')}${samples.length > 5 ? ', ...' : ''}]`,
      value: samples.length,
    })
  }
  const sorted = [...samples].sort((a, b) => a - b)
  const med = quantile(sorted, 0.5)
  const mad = quantile(
    sorted.map((s) => Math.abs(s - med)).sort((a, b) => a - b),
    0.5,
  )
  const limit = k * 1.4826 * mad
  const kept = mad === 0 ? sorted : sorted.filter((s) => Math.abs(s - med) <= limit)
  return {
    median: quantile(kept, 0.5),
    mean: kept.reduce((a, b) => a + b, 0) / kept.length,
    min: kept[0]!,
    max: kept[kept.length - 1]!,
    p10: quantile(kept, 0.1),
    p90: quantile(kept, 0.9),
    mad,
    runs: samples.length,
    rejected: samples.length - kept.length,
  }
}

/**
 * Options of {@link measureLatency}.
 * @since 0.1.0
 */
export interface MeasureLatencyOptions {
  /** Examples per inference (1). */
  readonly batch?: number
  /** Input shape without the batch (the model's own by default). */
  readonly inputShape?: readonly number[]
  /** Untimed inferences first, so that kernels are compiled and caches warm (10). */
  readonly warmup?: number
  /** Timed inferences (30). */
  readonly runs?: number
  /**
   * Split the timed inferences into this many passes, one after another, and report as `median` the
   * lowest of the passes' medians (1: one pass). Another process or a garbage collection can only
   * slow a pass down, never speed it up, so the lowest median is the one least disturbed: the figure
   * that repeats on a shared machine.
   */
  readonly passes?: number
  /** Stop timing after this many seconds even if fewer runs were taken (at least 3 are). */
  readonly maxSeconds?: number
  /** Seed of the random input (0). */
  readonly seed?: number
  /** The clock in ms (`performance.now`); tests pass their own. */
  readonly clock?: () => number
}

/**
 * A latency measurement: the robust summary of the timed inferences, with what was measured.
 * @since 0.1.0
 */
export interface LatencyMeasurement extends TimingSummary {
  readonly backend: string
  readonly batch: number
  readonly inputShape: readonly number[]
  /** Every timing (ms), in order. */
  readonly samples: readonly number[]
  /** The median of each pass, when there were several (`median` is the lowest). */
  readonly passMedians?: readonly number[]
}

/** Something to time: a model, or a function running one inference on the input and returning its output. */
export type LatencySubject = tfl.LayersModel | ((x: tf.Tensor) => tf.Tensor | tf.Tensor[])

const isModel = (s: LatencySubject): s is tfl.LayersModel => typeof s !== 'function'

function inputShapeOf(subject: LatencySubject, given: readonly number[] | undefined): number[] {
  if (given !== undefined) {
    if (given.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `inputShape must be positive integers, got [${given.join(', ')}]`,
        value: given,
      })
    }
    return [...given]
  }
  if (!isModel(subject)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: 'timing a function needs its inputShape',
    })
  }
  const shape = subject.inputs[0]!.shape.slice(1)
  if (shape.some((d) => d === null)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `the model's input shape [${shape.join(', ')}] has free dimensions; give inputShape`,
      value: shape,
    })
  }
  return shape as number[]
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${name} must be an integer >= ${min}, got ${v}`,
      value: v,
      allowed: [`integer >= ${min}`],
    })
  }
  return v
}

/** A seeded standard-normal input of `[batch, ...shape]`. */
export function randomInput(batch: number, shape: readonly number[], seed = 0): tf.Tensor {
  const n = batch * shape.reduce((a, b) => a * b, 1)
  const rng = new Rng(seed)
  const values = new Float32Array(n)
  for (let i = 0; i < n; i++) values[i] = rng.normal()
  return tf.tensor(values, [batch, ...shape])
}

/** One inference on `x`, its output read back (so asynchronous backends have finished), all freed. */
async function infer(subject: LatencySubject, x: tf.Tensor): Promise<void> {
  const out = isModel(subject) ? subject.predict(x) : subject(x)
  const outs = Array.isArray(out) ? out : [out]
  await Promise.all(outs.map((t) => t.data()))
  tf.dispose(outs)
}

/**
 * Measures inference latency on the current TF.js backend: a seeded random input, `warmup` untimed
 * inferences, then `runs` timed ones, each until its output is read back; outliers are rejected and
 * the rest summarised ({@link robustSummary}). Nothing is left allocated.
 * @example
 * ```ts
 * const m = await measureLatency(buildModel(nb201, arch), { runs: 50 })
 * console.log(`${m.median.toFixed(2)} ms (p10 ${m.p10.toFixed(2)}, p90 ${m.p90.toFixed(2)})`)
 * ```
 * @since 0.1.0
 * @category hardware
 */
export async function measureLatency(
  subject: LatencySubject,
  opts: MeasureLatencyOptions = {},
): Promise<LatencyMeasurement> {
  const batch = positiveInt('batch', opts.batch ?? 1, 1)
  const warmup = positiveInt('warmup', opts.warmup ?? 10, 0)
  const runs = positiveInt('runs', opts.runs ?? 30, 1)
  const passes = positiveInt('passes', opts.passes ?? 1, 1)
  if (passes > runs) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `passes (${passes}) cannot exceed runs (${runs})`,
      value: passes,
      allowed: [`integer 1..${runs}`],
    })
  }
  const shape = inputShapeOf(subject, opts.inputShape)
  const clock = opts.clock ?? (() => performance.now())
  const maxMs = (opts.maxSeconds ?? Number.POSITIVE_INFINITY) * 1000
  const x = randomInput(batch, shape, opts.seed ?? 0)
  try {
    for (let i = 0; i < warmup; i++) await infer(subject, x)
    const samples: number[] = []
    const start = clock()
    for (let i = 0; i < runs; i++) {
      const t0 = clock()
      await infer(subject, x)
      samples.push(clock() - t0)
      if (i >= 2 && maxMs < Number.POSITIVE_INFINITY && clock() - start > maxMs) break
    }
    const summary = robustSummary(samples)
    if (passes === 1 || samples.length < passes) {
      return { ...summary, backend: tf.getBackend(), batch, inputShape: shape, samples }
    }
    const per = Math.floor(samples.length / passes)
    const passMedians = Array.from(
      { length: passes },
      (_, p) =>
        robustSummary(samples.slice(p * per, p === passes - 1 ? samples.length : (p + 1) * per)).median,
    )
    return {
      ...summary,
      median: Math.min(...passMedians),
      passMedians,
      backend: tf.getBackend(),
      batch,
      inputShape: shape,
      samples,
    }
  } finally {
    x.dispose()
  }
}

/**
 * Cold start: the time to load (or build) a model and run its first inference, as a page or a
 * server process meets it.
 * @since 0.1.0
 */
export interface ColdStart {
  /** Loading or building the model (ms). */
  readonly loadMs: number
  /** The first inference, output read back (ms). */
  readonly firstInferenceMs: number
  readonly totalMs: number
}

/**
 * Measures a cold start: `load` (e.g. `() => tf.loadLayersModel(url)`, or a builder) is timed, then
 * one inference on a seeded random input; the model is disposed afterwards. Only the first call of a
 * process is truly cold (kernels and the backend are set up once); later calls measure a warm
 * backend with a new model.
 * @since 0.1.0
 * @category hardware
 */
export async function measureColdStart(
  load: () => tfl.LayersModel | Promise<tfl.LayersModel>,
  opts: {
    readonly batch?: number
    readonly inputShape?: readonly number[]
    readonly clock?: () => number
  } = {},
): Promise<ColdStart> {
  const clock = opts.clock ?? (() => performance.now())
  const t0 = clock()
  const model = await load()
  const t1 = clock()
  try {
    const x = randomInput(positiveInt('batch', opts.batch ?? 1, 1), inputShapeOf(model, opts.inputShape))
    try {
      await infer(model, x)
    } finally {
      x.dispose()
    }
    const t2 = clock()
    return { loadMs: t1 - t0, firstInferenceMs: t2 - t1, totalMs: t2 - t0 }
  } finally {
    model.dispose()
  }
}

/**
 * Peak memory of one inference.
 * @since 0.1.0
 */
export interface InferenceMemory {
  /**
   * Most bytes of tensors alive at once during the inference beyond those alive before it (the
   * weights and any other model): the input and the activations (TF.js's profiler).
   */
  readonly peakTensorBytes: number
  /** Bytes of the model's weights. */
  readonly weightBytes: number
  /** Size of the wasm heap after the inference (wasm only): it grows to the largest need and never shrinks. */
  readonly wasmHeapBytes?: number
}

/**
 * Measures the peak tensor memory of one inference with TF.js's profiler (on every backend), and the
 * wasm heap on wasm.
 * @since 0.1.0
 * @category hardware
 */
export async function measureMemory(
  model: tfl.LayersModel,
  opts: { readonly batch?: number; readonly inputShape?: readonly number[] } = {},
): Promise<InferenceMemory> {
  const before = tf.memory().numBytes
  const x = randomInput(positiveInt('batch', opts.batch ?? 1, 1), inputShapeOf(model, opts.inputShape))
  try {
    const info = await tf.profile(() => model.predict(x))
    tf.dispose(info.result)
    const heap = memorySnapshot().wasmHeapBytes
    return {
      // the engine counts every tensor alive (the weights, other models): only what this inference added
      peakTensorBytes: info.peakBytes - before,
      weightBytes: weightBytes(model).float32,
      ...(heap === undefined ? {} : { wasmHeapBytes: heap }),
    }
  } finally {
    x.dispose()
  }
}

/**
 * Download size of a model's weights (`weights.bin`) as TF.js stores them: 4 bytes a weight in float32,
 * 2 in float16, 1 in uint8 (TF.js's affine quantization keeps each tensor's minimum and scale in
 * `model.json`, counted in `manifestBytes` as 2 float32 per tensor). Non-trainable weights (BatchNorm
 * statistics) are saved too and counted.
 * @since 0.1.0
 * @category hardware
 */
export function weightBytes(model: tfl.LayersModel): {
  readonly weights: number
  readonly tensors: number
  readonly float32: number
  readonly float16: number
  readonly uint8: number
  readonly manifestBytesUint8: number
} {
  let n = 0
  let tensors = 0
  for (const w of model.weights) {
    n += w.shape.reduce((a: number, b) => a * (b ?? 1), 1)
    tensors++
  }
  return {
    weights: n,
    tensors,
    float32: 4 * n,
    float16: 2 * n,
    uint8: n,
    manifestBytesUint8: 8 * tensors,
  }
}

/**
 * A guard against the slow spells of a shared machine: a fixed probe (a few small convolutions on
 * the current backend) is timed before and after each measurement, and a measurement is trusted only
 * when both probes ran within `tolerance` (1.2) of the fastest probe seen; otherwise it is repeated, up to
 * `retries` times, and the lowest result kept. Another process, a hypervisor or memory reclamation
 * can only slow work down, so the probe's best time is the machine's quiet speed.
 * @since 0.1.0
 * @category hardware
 */
export interface QuietGate {
  /** Times the probe (ms) and updates the fastest seen. */
  probe(): Promise<number>
  /**
   * Runs `measure` until it ran on a quiet machine or the retries are spent: that result, or the one
   * with the lowest `ms` of all tries.
   */
  run<T>(measure: () => Promise<T>, ms: (result: T) => number): Promise<T>
  /** Measurements repeated because the machine was busy, so far. */
  readonly retried: number
  /** The fastest probe seen (ms), or the baseline given: the machine's quiet speed. */
  readonly fastest: number
}

/**
 * Creates a {@link QuietGate}.
 * @example
 * ```ts
 * const gate = quietGate()
 * const m = await gate.run(() => measureLatency(model), (r) => r.median)
 * ```
 * @since 0.1.0
 * @category hardware
 */
export function quietGate(
  opts: {
    readonly tolerance?: number
    readonly retries?: number
    /** The probe (ms); a fixed convolution workload on the current backend by default. */
    readonly probe?: () => Promise<number>
    /**
     * The machine's quiet probe time from earlier processes (see `quietGateForMachine` of
     * `@nasjs/models/node`): without it a process that starts in a slow spell takes that for quiet.
     */
    readonly baseline?: number
    /** Milliseconds to wait before the first repeat, doubled at each further one (250; 0 in tests). */
    readonly pauseMs?: number
    /** Called when a probe is the fastest yet (to remember it). */
    readonly onFastest?: (ms: number) => void
  } = {},
): QuietGate {
  const tolerance = opts.tolerance ?? 1.2
  const retries = opts.retries ?? 4
  if (!Number.isInteger(retries) || retries < 0 || !(tolerance >= 1)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `a quiet gate needs retries an integer >= 0 and tolerance >= 1, got ${retries} and ${tolerance}`,
      value: { retries, tolerance },
    })
  }
  const pause = opts.pauseMs ?? 250
  let fastest = opts.baseline ?? Number.POSITIVE_INFINITY
  let retried = 0
  const timeProbe = async () => {
    if (opts.probe !== undefined) return opts.probe()
    const times: number[] = []
    const [x, w] = tf.tidy(() => [randomInput(1, [32, 32, 16], 1), randomInput(3, [3, 16, 16], 2)])
    try {
      for (let i = 0; i < 11; i++) {
        const t0 = performance.now()
        const y = tf.tidy(() => {
          let h = x as tf.Tensor4D
          for (let k = 0; k < 8; k++) h = tf.relu(tf.conv2d(h, w as tf.Tensor4D, 1, 'same'))
          return h
        })
        await y.data()
        y.dispose()
        times.push(performance.now() - t0)
      }
    } finally {
      tf.dispose([x, w])
    }
    return robustSummary(times.slice(2)).median
  }
  const probe = async () => {
    const t = await timeProbe()
    if (t < fastest) {
      fastest = t
      opts.onFastest?.(t)
    }
    return t
  }
  return {
    probe,
    async run<T>(measure: () => Promise<T>, ms: (result: T) => number): Promise<T> {
      let best: T | undefined
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
          retried++
          // a slow spell lasts seconds: wait some of it out
          if (pause > 0) await new Promise((r) => setTimeout(r, pause * 2 ** (attempt - 1)))
        }
        const before = await probe()
        const result = await measure()
        const after = await probe()
        if (Math.max(before, after) <= tolerance * fastest) return result
        if (best === undefined || ms(result) < ms(best)) best = result
      }
      return best!
    },
    get retried() {
      return retried
    },
    get fastest() {
      return fastest
    },
  }
}
