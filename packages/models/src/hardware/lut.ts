import {
  LATENCY_TABLE_FORMAT,
  LATENCY_TABLE_VERSION,
  NasError,
  Rng,
  kendallTau,
  predictFromTable,
  type LatencyTable,
} from '@nasjs/core'
import type { FbnetArch, Nb201Arch, OfaArch, SearchSpace } from '@nasjs/search-space'
import { FBNET_OPS, OFA_EXPANDS, OFA_KERNELS } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { buildModel, type NetworkOptions } from '../build.js'
import { fbnetBlocks } from '../fbnet.js'
import { mbSegments } from '../mbconv.js'
import { nb201Blocks } from '../nb201.js'
import { ofaMbv3Network, type OfaMbv3NetworkOptions } from '../ofa-mbv3.js'
import type { LatencyBlockSpec } from './block-spec.js'
import { measureLatency, quietGate, randomInput, robustSummary, type QuietGate } from './measure.js'

/**
 * The spaces whose networks a latency table can decompose into blocks.
 * @since 0.1.0
 */
export const LATENCY_TABLE_SPACES = ['nb201', 'ofa-mbv3', 'fbnet'] as const

function unsupported(id: string): NasError {
  return new NasError({
    code: 'NOT_REGISTERED',
    message: `no latency-table decomposition for space '${id}'; spaces with one: ${LATENCY_TABLE_SPACES.join(', ')}`,
    value: id,
    allowed: LATENCY_TABLE_SPACES,
  })
}

/**
 * The blocks of `arch`'s network as a latency table keys them, with how many times each runs:
 * NB201's stem, reductions, head and the cells' operations, sums, zero nodes and kept dead nodes at
 * each stage's size; the stem, every MBConv layer and the head of `ofa-mbv3` and `fbnet` networks,
 * each keyed by its channels, kernel, stride, activation and input size (`fbnet` by layer index and
operation, as FBNet's own table: `layer<l>:<op>`, `stem`, `head`).
 * @since 0.1.0
 * @category hardware
 */
export function latencyBlocks<A>(
  space: SearchSpace<A>,
  arch: A,
  network?: NetworkOptions,
): LatencyBlockSpec[] {
  const a = space.validate(arch)
  if (space.id === 'nb201') return nb201Blocks(a as Nb201Arch, network)
  if (space.id === 'ofa-mbv3') return merge(mbSegments(ofaMbv3Network(a as OfaArch, network)))
  if (space.id === 'fbnet') return merge(fbnetBlocks(a as FbnetArch, network))
  throw unsupported(space.id)
}

/** Blocks with equal keys as one, their counts summed. */
function merge(blocks: readonly LatencyBlockSpec[]): LatencyBlockSpec[] {
  const out = new Map<string, LatencyBlockSpec>()
  for (const b of blocks) {
    const prev = out.get(b.key)
    out.set(b.key, prev === undefined ? b : { ...prev, count: prev.count + b.count })
  }
  return [...out.values()]
}

/**
 * Architectures whose blocks together are every block the space's networks can have (for `ofa-mbv3`,
 * at each of `resolutions`): every NB201 cell; every uniform OFA network (one kernel and expansion
 * everywhere, four blocks a stage), since a block's context is its stage and whether it is the stage's
 * first; one uniform FBNet network per operation.
 * @since 0.1.0
 * @category hardware
 */
export function coverArchitectures<A>(
  space: SearchSpace<A>,
  opts: { readonly resolutions?: readonly number[] } = {},
): A[] {
  if (space.id === 'nb201') return [...space.enumerate!()]
  if (space.id === 'ofa-mbv3') {
    const out: A[] = []
    for (const resolution of opts.resolutions ?? [224]) {
      for (const kernel of OFA_KERNELS) {
        for (const expand of OFA_EXPANDS) {
          const stage = Array.from({ length: 4 }, () => ({ kernel, expand }))
          out.push(space.validate({ resolution, stages: [stage, stage, stage, stage, stage] }))
        }
      }
    }
    return out
  }
  if (space.id === 'fbnet')
    return FBNET_OPS.map((op) => space.validate(Array.from({ length: 22 }, () => op) as unknown as A))
  throw unsupported(space.id)
}

/** `arch` at `resolution` (ofa-mbv3), unchanged for other spaces. */
function atResolution<A>(space: SearchSpace<A>, arch: A, resolution: number | undefined): A {
  if (space.id !== 'ofa-mbv3' || resolution === undefined) return arch
  return space.validate({ ...(arch as OfaArch), resolution })
}

/**
 * Options of {@link measureBlock}.
 * @since 0.1.0
 */
export interface MeasureBlockOptions {
  readonly batch?: number
  /** Untimed rounds first (5). */
  readonly warmup?: number
  /** Timed rounds (30): each times the block's model and the base model once, in turn. */
  readonly runs?: number
  /**
   * A block whose output has its input's shape is measured as a chain of this many copies, each
   * fed by the one before as in a network, and the time divided by it (8): a steady state, and a
   * signal `chain` times larger than the timer's noise. Other blocks are measured once.
   */
  readonly chain?: number
  readonly seed?: number
}

/** Whether the block's output has its input's shape, so copies of it can feed each other. */
function chainable(spec: LatencyBlockSpec): boolean {
  const input = tfl.input({ shape: [...spec.inputShape] })
  // applying layers creates their weights: the model owns them, and disposing it frees them
  const model = tfl.model({ inputs: input, outputs: spec.apply(input, 0) })
  const out = model.outputs[0]!.shape
  model.dispose()
  return out.length === 4 && out.slice(1).join('x') === spec.inputShape.join('x')
}

/**
 * Latency of one block alone, in the place it has in a network: the block is built on an input of
 * its shape behind one identity layer (a block that keeps its input's shape as a chain of `chain`
 * copies, each feeding the next) and timed against that identity layer alone, in alternating
 * rounds, so the cost of calling a model cancels and slow drifts of the machine hit both; the
 * difference of each round, divided by the copies, is summarised robustly.
 * @since 0.1.0
 * @category hardware
 */
export async function measureBlock(
  spec: LatencyBlockSpec,
  opts: MeasureBlockOptions = {},
): Promise<{
  readonly ms: number
  readonly spread: number
  readonly copies: number
  /** Median time of the block's own model (ms), for choosing between repeats. */
  readonly blockMs: number
}> {
  const batch = opts.batch ?? 1
  const seed = opts.seed ?? 0
  const copies = chainable(spec) ? Math.max(1, opts.chain ?? 8) : 1
  const model = (n: number) => {
    const input = tfl.input({ shape: [...spec.inputShape] })
    let x = tfl.layers.activation({ activation: 'linear' }).apply(input) as tfl.SymbolicTensor
    for (let i = 0; i < n; i++) x = spec.apply(x, seed + i)
    return tfl.model({ inputs: input, outputs: x })
  }
  const [withBlock, base] = [model(copies), model(0)]
  const x = randomInput(batch, spec.inputShape, seed)
  const time = async (m: tfl.LayersModel) => {
    const t0 = performance.now()
    const y = m.predict(x) as tf.Tensor
    await y.data()
    const t = performance.now() - t0
    y.dispose()
    return t
  }
  try {
    for (let i = 0; i < (opts.warmup ?? 5); i++) {
      await time(withBlock)
      await time(base)
    }
    const diffs: number[] = []
    const blockTimes: number[] = []
    for (let i = 0; i < (opts.runs ?? 30); i++) {
      // alternate which goes first, so neither always runs right after the other
      let a: number
      let b: number
      if (i % 2 === 0) {
        a = await time(withBlock)
        b = await time(base)
      } else {
        b = await time(base)
        a = await time(withBlock)
      }
      diffs.push((a - b) / copies)
      blockTimes.push(a)
    }
    const s = robustSummary(diffs)
    return { ms: s.median, spread: s.mad, copies, blockMs: robustSummary(blockTimes).median }
  } finally {
    x.dispose()
    withBlock.dispose()
    base.dispose()
  }
}

/**
 * Progress of {@link buildLatencyTable} and {@link checkLatencyTable}.
 * @since 0.1.0
 */
export interface LatencyProgress {
  readonly phase: 'blocks' | 'calibrate' | 'check'
  readonly done: number
  readonly total: number
  /** The block or architecture just measured, and its latency (ms). */
  readonly item: string
  readonly ms: number
}

/**
 * Options of {@link buildLatencyTable}.
 * @since 0.1.0
 */
export interface BuildLatencyTableOptions {
  /** Builder options of the networks (e.g. NB201's channels); the builder's defaults otherwise. */
  readonly network?: NetworkOptions
  /** `ofa-mbv3`: the input resolutions to cover (224). */
  readonly resolutions?: readonly number[]
  readonly batch?: number
  /** Timed rounds per block (30). */
  readonly runs?: number
  /** Copies of a shape-keeping block measured in a chain (8; see {@link measureBlock}). */
  readonly chain?: number
  /**
   * Every block and calibration network is measured this many times, in rounds one after another,
   * and its lowest kept (2): a slow spell of a shared machine only ever adds time.
   */
  readonly rounds?: number
  /** Whole networks measured to fit the overhead and scale (20). */
  readonly calibrate?: number
  readonly seed?: number
  /** What the header says about the device; the current backend's name by default. */
  readonly device?: Partial<LatencyTable['device']>
  /** Extra library versions for the header. */
  readonly versions?: Readonly<Record<string, string>>
  /** Seconds of random networks run before anything is timed ({@link warmUpBackend}; 3). */
  readonly warmupSeconds?: number
  /** The guard against a busy machine (a new `quietGate()` by default). */
  readonly gate?: QuietGate
  readonly onProgress?: (p: LatencyProgress) => void
  readonly signal?: AbortSignal
}

const aborted = (signal: AbortSignal | undefined) => {
  if (signal?.aborted === true)
    throw new NasError({ code: 'ABORTED', message: 'latency measurement stopped' })
}

/** Whole-network latency (ms) of `arch`, built with `network`: the lowest median of 3 passes, on a quiet machine. */
async function networkLatency<A>(
  space: SearchSpace<A>,
  arch: A,
  network: NetworkOptions | undefined,
  batch: number,
  runs: number,
  gate: QuietGate,
): Promise<number> {
  const model = buildModel(space, arch, network)
  try {
    const m = await gate.run(
      () => measureLatency(model, { batch, warmup: 10, runs, passes: 3 }),
      (r) => r.median,
    )
    return m.median
  } finally {
    model.dispose()
  }
}

/** `n` seeded random architectures, spread over `resolutions` for ofa-mbv3. */
function sampleArchs<A>(
  space: SearchSpace<A>,
  n: number,
  seed: number,
  resolutions: readonly number[] | undefined,
): A[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, (_, i) =>
    atResolution(
      space,
      space.sample(rng),
      resolutions === undefined ? undefined : resolutions[i % resolutions.length],
    ),
  )
}

/**
 * Runs random networks of the space for `seconds` so that the JavaScript engine has compiled TF.js's
 * own code paths (layer calls, kernel dispatch) before anything is timed: the first seconds of a
 * process run them unoptimised, which makes small blocks look several times slower than they are.
 * @since 0.1.0
 * @category hardware
 */
export async function warmUpBackend<A>(
  space: SearchSpace<A>,
  network: NetworkOptions | undefined,
  opts: {
    readonly seconds?: number
    readonly batch?: number
    readonly seed?: number
    readonly resolutions?: readonly number[]
    /** Builds the networks run (default: `buildModel` of the space). */
    readonly build?: (arch: A) => tfl.LayersModel
  } = {},
): Promise<void> {
  const end = performance.now() + 1000 * (opts.seconds ?? 3)
  const rng = new Rng(opts.seed ?? 99)
  const batch = opts.batch ?? 1
  while (performance.now() < end) {
    const res = opts.resolutions?.[rng.int(opts.resolutions.length)]
    const arch = atResolution(space, space.sample(rng), res)
    const model = opts.build?.(arch) ?? buildModel(space, arch, network)
    try {
      const shape = model.inputs[0]!.shape.slice(1) as number[]
      const x = randomInput(batch, shape)
      try {
        for (let i = 0; i < 10 && performance.now() < end; i++) {
          const y = model.predict(x) as tf.Tensor
          await y.data()
          y.dispose()
        }
      } finally {
        x.dispose()
      }
    } finally {
      model.dispose()
    }
  }
}

/** `rounds` checked (2 by default). */
function positiveRounds(rounds: number | undefined): number {
  const r = rounds ?? 2
  if (!Number.isInteger(r) || r < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `rounds must be an integer >= 1, got ${r}`,
      value: r,
      allowed: ['integer >= 1'],
    })
  }
  return r
}

/**
 * Measures every architecture once per round, the rounds one after another, and keeps each one's
 * lowest: a slow spell of a shared machine (seconds long here) only ever adds time, and it rarely
 * falls on the same network in two rounds minutes apart.
 */
async function networksInRounds<A>(
  archs: readonly A[],
  rounds: number,
  measure: (arch: A) => Promise<number>,
  progress: (done: number, total: number, arch: A, ms: number) => void,
): Promise<number[]> {
  const best = archs.map(() => Number.POSITIVE_INFINITY)
  let done = 0
  for (let r = 0; r < rounds; r++) {
    for (const [i, arch] of archs.entries()) {
      const ms = await measure(arch)
      best[i] = Math.min(best[i]!, ms)
      progress(++done, rounds * archs.length, arch, ms)
    }
  }
  return best
}

/**
 * Builds a latency lookup table on the current TF.js backend (ProxylessNAS / Once-for-All style):
 * every block the space's networks can have ({@link coverArchitectures}) is measured alone in its
 * context ({@link measureBlock}), blocks that contain others have those subtracted, and the fixed
 * overhead and a scale on the summed entries are fitted by least squares on `calibrate` random
 * networks measured whole ({@link fitOverhead}). The table's header records the space, the setting, the device and the
 * library versions.
 * @example
 * ```ts
 * const table = await buildLatencyTable(nb201, { onProgress: (p) => console.log(p.phase, p.done, p.total) })
 * predictLatency(table, nb201, arch) // ms
 * ```
 * @since 0.1.0
 * @category hardware
 */
export async function buildLatencyTable<A>(
  space: SearchSpace<A>,
  opts: BuildLatencyTableOptions = {},
): Promise<LatencyTable> {
  const batch = opts.batch ?? 1
  const seed = opts.seed ?? 0
  const network = opts.network
  if (
    space.id === 'ofa-mbv3' &&
    opts.resolutions !== undefined &&
    (network as OfaMbv3NetworkOptions | undefined)?.inputShape !== undefined
  ) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: 'give ofa-mbv3 resolutions or a network inputShape, not both',
    })
  }
  // an ofa-mbv3 architecture picks its resolution: the table covers these (224 unless given)
  const resolutions =
    space.id === 'ofa-mbv3' && (network as OfaMbv3NetworkOptions | undefined)?.inputShape === undefined
      ? (opts.resolutions ?? [224])
      : undefined
  const specs = new Map<string, LatencyBlockSpec>()
  for (const arch of coverArchitectures(space, resolutions === undefined ? {} : { resolutions })) {
    for (const b of latencyBlocks(space, arch, network)) if (!specs.has(b.key)) specs.set(b.key, b)
  }
  await warmUpBackend(space, network, {
    seconds: opts.warmupSeconds ?? 3,
    batch,
    ...(resolutions === undefined ? {} : { resolutions }),
  })
  const gate = opts.gate ?? quietGate()
  const measured = new Map<string, { ms: number; spread: number; copies: number; blockMs: number }>()
  let done = 0
  const rounds = positiveRounds(opts.rounds)
  const specList = [...specs.values()]
  for (let r = 0; r < rounds; r++) {
    for (const spec of specList) {
      aborted(opts.signal)
      const m = await gate.run(
        () =>
          measureBlock(spec, {
            batch,
            seed,
            ...(opts.runs === undefined ? {} : { runs: opts.runs }),
            ...(opts.chain === undefined ? {} : { chain: opts.chain }),
          }),
        (r) => r.blockMs,
      )
      // the round whose block model ran fastest: a slow spell only ever adds time (choosing by the
      // difference itself would favour rounds where the base alone was slowed)
      const prev = measured.get(spec.key)
      if (prev === undefined || m.blockMs < prev.blockMs) measured.set(spec.key, m)
      opts.onProgress?.({
        phase: 'blocks',
        done: ++done,
        total: rounds * specList.length,
        item: spec.key,
        ms: m.ms,
      })
    }
  }
  const entries: LatencyTable['entries'] = {}
  for (const spec of specs.values()) {
    const m = measured.get(spec.key)!
    const inner = (spec.contains ?? []).reduce((t, c) => {
      const e = measured.get(c.key)
      if (e === undefined)
        throw new NasError({
          code: 'INTERNAL',
          message: `block ${spec.key} contains ${c.key}, which was not measured`,
        })
      return t + c.count * e.ms
    }, 0)
    const [h, w, c] = spec.inputShape
    entries[spec.key] = {
      ms: m.ms - inner,
      spread: m.spread,
      context: { inputShape: [h, w, c], copies: m.copies },
    }
  }
  const table: LatencyTable = {
    format: LATENCY_TABLE_FORMAT,
    version: LATENCY_TABLE_VERSION,
    space: space.id,
    source: 'measured',
    device: {
      name: `tfjs-${tf.getBackend()}`,
      backend: tf.getBackend(),
      ...opts.device,
    },
    versions: {
      '@tensorflow/tfjs-core': tf.version_core,
      '@tensorflow/tfjs-layers': tfl.version_layers,
      ...opts.versions,
    },
    created: new Date().toISOString(),
    setting: {
      batch,
      ...(network === undefined ? {} : { network: network }),
    },
    unit: 'ms',
    overhead: 0,
    entries,
  }
  const calibrate = opts.calibrate ?? 20
  const archs = sampleArchs(space, calibrate, seed + 1, resolutions)
  const measuredMs = await networksInRounds(
    archs,
    rounds,
    (arch) => networkLatency(space, arch, network, batch, 30, gate),
    (done, total, arch, ms) => {
      aborted(opts.signal)
      opts.onProgress?.({ phase: 'calibrate', done, total, item: space.format(arch), ms })
    },
  )
  const sums = archs.map((arch) => predictLatency(table, space, arch))
  const { overhead, scale } = fitOverhead(sums, measuredMs)
  return { ...table, overhead, ...(scale === 1 ? {} : { scale }), fit: { networks: sums.length } }
}

/**
 * The overhead and scale of `measured ≈ overhead + scale · summed` by least squares over the
 * calibration networks; with fewer than 3 networks, or a scale outside [0.5, 2] (networks too alike
 * to tell a scale from an overhead), the scale is 1 and the overhead the median of measured minus
 * summed.
 * @internal
 */
export function fitOverhead(
  summed: readonly number[],
  measured: readonly number[],
): { overhead: number; scale: number } {
  const n = summed.length
  const median = () => (n === 0 ? 0 : robustSummary(measured.map((m, i) => m - summed[i]!)).median)
  if (n < 3) return { overhead: median(), scale: 1 }
  const mx = summed.reduce((a, b) => a + b, 0) / n
  const my = measured.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (summed[i]! - mx) * (measured[i]! - my)
    sxx += (summed[i]! - mx) ** 2
  }
  const scale = sxx > 0 ? sxy / sxx : Number.NaN
  if (!(scale >= 0.5 && scale <= 2)) return { overhead: median(), scale: 1 }
  return { overhead: my - scale * mx, scale }
}

/**
 * The latency `table` predicts for `arch` (ms): its overhead plus its blocks' entries, with the
 * network built with `network` (the table's own setting when absent): a network of another width,
 * input size or resolution than the table's has blocks the table lacks, which is an error. A table of another space, or one missing a block of this
 * network (built for another resolution or width), is a `NasError`.
 * @since 0.1.0
 * @category hardware
 */
export function predictLatency<A>(
  table: LatencyTable,
  space: SearchSpace<A>,
  arch: A,
  network?: NetworkOptions,
): number {
  if (table.space !== space.id) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `the latency table is for space '${table.space}', not '${space.id}'`,
      value: space.id,
      allowed: [table.space],
    })
  }
  const net = network ?? table.setting.network
  return predictFromTable(
    table,
    latencyBlocks(space, arch, net).map((b) => ({ key: b.key, count: b.count })),
  )
}

/**
 * How well a latency table predicts whole networks measured on the current backend.
 * @since 0.1.0
 */
export interface LatencyTableCheck {
  readonly networks: number
  /** Share of networks predicted within ±10 % of their measured latency. */
  readonly within10: number
  /** Root mean squared error (ms) and mean absolute percentage error (%). */
  readonly rmse: number
  readonly mape: number
  readonly kendallTau: number
  /** Median measured latency (ms), for scale. */
  readonly medianMs: number
  readonly rows: readonly { readonly arch: string; readonly measured: number; readonly predicted: number }[]
}

/**
 * Measures `sample` random networks whole (seeded; spread over `resolutions` for ofa-mbv3) and
 * compares them with the table's predictions.
 * @since 0.1.0
 * @category hardware
 */
export async function checkLatencyTable<A>(
  table: LatencyTable,
  space: SearchSpace<A>,
  opts: {
    readonly sample?: number
    readonly seed?: number
    readonly resolutions?: readonly number[]
    readonly runs?: number
    /** Seconds of random networks run before anything is timed (3). */
    readonly warmupSeconds?: number
    /** Each network measured this many times, in rounds, its lowest kept (2). */
    readonly rounds?: number
    /** The guard against a busy machine (a new `quietGate()` by default). */
    readonly gate?: QuietGate
    readonly onProgress?: (p: LatencyProgress) => void
    readonly signal?: AbortSignal
  } = {},
): Promise<LatencyTableCheck> {
  const n = opts.sample ?? 100
  const resolutions = opts.resolutions ?? table.setting.resolutions
  const archs = sampleArchs(space, n, opts.seed ?? 12345, resolutions)
  const network = table.setting.network as NetworkOptions | undefined
  await warmUpBackend(space, network, {
    seconds: opts.warmupSeconds ?? 3,
    batch: table.setting.batch,
    ...(resolutions === undefined ? {} : { resolutions }),
  })
  const gate = opts.gate ?? quietGate()
  const measured = await networksInRounds(
    archs,
    positiveRounds(opts.rounds),
    (arch) => networkLatency(space, arch, network, table.setting.batch, opts.runs ?? 30, gate),
    (done, total, arch, ms) => {
      aborted(opts.signal)
      opts.onProgress?.({ phase: 'check', done, total, item: space.format(arch), ms })
    },
  )
  const rows = archs.map((arch, i) => ({
    arch: space.format(arch),
    measured: measured[i]!,
    predicted: predictLatency(table, space, arch),
  }))
  return latencyFit(rows)
}

/**
 * Fit statistics of predicted against measured latencies.
 * @since 0.1.0
 * @category hardware
 */
export function latencyFit(
  rows: readonly { readonly arch: string; readonly measured: number; readonly predicted: number }[],
): LatencyTableCheck {
  if (rows.length === 0) {
    throw new NasError({ code: 'INPUT_INVALID', message: 'no measured networks to compare with' })
  }
  const err = rows.map((r) => r.predicted - r.measured)
  const rel = rows.map((r) => Math.abs(r.predicted - r.measured) / r.measured)
  const sorted = rows.map((r) => r.measured).sort((a, b) => a - b)
  return {
    networks: rows.length,
    within10: rel.filter((x) => x <= 0.1).length / rows.length,
    rmse: Math.sqrt(err.reduce((a, e) => a + e * e, 0) / rows.length),
    mape: (100 * rel.reduce((a, b) => a + b, 0)) / rows.length,
    kendallTau:
      rows.length < 2
        ? Number.NaN
        : kendallTau(
            rows.map((r) => r.predicted),
            rows.map((r) => r.measured),
          ),
    medianMs: sorted[sorted.length >> 1]!,
    rows,
  }
}
