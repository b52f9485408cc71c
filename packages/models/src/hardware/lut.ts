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
import { measureLatency, randomInput, robustSummary } from './measure.js'

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
  readonly seed?: number
}

/**
 * Latency of one block alone, in the place it has in a network: the block is built on an input of
 * its shape behind one identity layer, and timed against that identity layer alone, in alternating
 * rounds, so the cost of calling a model cancels and slow drifts of the machine hit both; the
 * difference of each round is summarised robustly.
 * @since 0.1.0
 * @category hardware
 */
export async function measureBlock(
  spec: LatencyBlockSpec,
  opts: MeasureBlockOptions = {},
): Promise<{ readonly ms: number; readonly spread: number }> {
  const batch = opts.batch ?? 1
  const seed = opts.seed ?? 0
  const model = (withBlock: boolean) => {
    const input = tfl.input({ shape: [...spec.inputShape] })
    const base = tfl.layers.activation({ activation: 'linear' }).apply(input) as tfl.SymbolicTensor
    return tfl.model({ inputs: input, outputs: withBlock ? spec.apply(base, seed) : base })
  }
  const [withBlock, base] = [model(true), model(false)]
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
      diffs.push(a - b)
    }
    const s = robustSummary(diffs)
    return { ms: s.median, spread: s.mad }
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
  /** Whole networks measured to fit the overhead (10). */
  readonly calibrate?: number
  readonly seed?: number
  /** What the header says about the device; the current backend's name by default. */
  readonly device?: Partial<LatencyTable['device']>
  /** Extra library versions for the header. */
  readonly versions?: Readonly<Record<string, string>>
  readonly onProgress?: (p: LatencyProgress) => void
  readonly signal?: AbortSignal
}

const aborted = (signal: AbortSignal | undefined) => {
  if (signal?.aborted === true)
    throw new NasError({ code: 'ABORTED', message: 'latency measurement stopped' })
}

/** Whole-network latency (ms, median) of `arch`, built with `network`. */
async function networkLatency<A>(
  space: SearchSpace<A>,
  arch: A,
  network: NetworkOptions | undefined,
  batch: number,
  runs: number,
): Promise<number> {
  const model = buildModel(space, arch, network)
  try {
    return (await measureLatency(model, { batch, warmup: 5, runs })).median
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
 * Builds a latency lookup table on the current TF.js backend (ProxylessNAS / Once-for-All style):
 * every block the space's networks can have ({@link coverArchitectures}) is measured alone in its
 * context ({@link measureBlock}), blocks that contain others have those subtracted, and the fixed
 * overhead is fitted as the median, over `calibrate` random networks measured whole, of measured
 * minus summed latency. The table's header records the space, the setting, the device and the
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
  const specs = new Map<string, LatencyBlockSpec>()
  for (const arch of coverArchitectures(
    space,
    opts.resolutions === undefined ? {} : { resolutions: opts.resolutions },
  )) {
    for (const b of latencyBlocks(space, arch, network)) if (!specs.has(b.key)) specs.set(b.key, b)
  }
  const measured = new Map<string, { ms: number; spread: number }>()
  let done = 0
  for (const spec of specs.values()) {
    aborted(opts.signal)
    const m = await measureBlock(spec, {
      batch,
      seed,
      ...(opts.runs === undefined ? {} : { runs: opts.runs }),
    })
    measured.set(spec.key, m)
    opts.onProgress?.({ phase: 'blocks', done: ++done, total: specs.size, item: spec.key, ms: m.ms })
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
    entries[spec.key] = { ms: m.ms - inner, spread: m.spread, context: { inputShape: [h, w, c] } }
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
  const calibrate = opts.calibrate ?? 10
  const residuals: number[] = []
  const archs = sampleArchs(space, calibrate, seed + 1, opts.resolutions)
  for (const [i, arch] of archs.entries()) {
    aborted(opts.signal)
    const ms = await networkLatency(space, arch, network, batch, 20)
    residuals.push(ms - predictLatency(table, space, arch))
    opts.onProgress?.({ phase: 'calibrate', done: i + 1, total: calibrate, item: space.format(arch), ms })
  }
  const overhead = residuals.length === 0 ? 0 : robustSummary(residuals).median
  return { ...table, overhead, fit: { networks: residuals.length } }
}

/**
 * The latency `table` predicts for `arch` (ms): its overhead plus its blocks' entries, with the
 * network built as the table's setting says. A table of another space, or one missing a block of this
 * network (built for another resolution or width), is a `NasError`.
 * @since 0.1.0
 * @category hardware
 */
export function predictLatency<A>(table: LatencyTable, space: SearchSpace<A>, arch: A): number {
  if (table.space !== space.id) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `the latency table is for space '${table.space}', not '${space.id}'`,
      value: space.id,
      allowed: [table.space],
    })
  }
  const network = table.setting.network as NetworkOptions | undefined
  return predictFromTable(
    table,
    latencyBlocks(space, arch, network).map((b) => ({ key: b.key, count: b.count })),
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
    readonly onProgress?: (p: LatencyProgress) => void
    readonly signal?: AbortSignal
  } = {},
): Promise<LatencyTableCheck> {
  const n = opts.sample ?? 100
  const archs = sampleArchs(space, n, opts.seed ?? 12345, opts.resolutions)
  const network = table.setting.network as NetworkOptions | undefined
  const rows: { arch: string; measured: number; predicted: number }[] = []
  for (const [i, arch] of archs.entries()) {
    aborted(opts.signal)
    const predicted = predictLatency(table, space, arch)
    const measured = await networkLatency(space, arch, network, table.setting.batch, opts.runs ?? 20)
    rows.push({ arch: space.format(arch), measured, predicted })
    opts.onProgress?.({ phase: 'check', done: i + 1, total: n, item: space.format(arch), ms: measured })
  }
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
