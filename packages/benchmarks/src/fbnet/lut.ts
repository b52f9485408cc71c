import {
  LATENCY_TABLE_FORMAT,
  LATENCY_TABLE_VERSION,
  NasError,
  Rng,
  kendallTau,
  type LatencyTable,
} from '@nasjs/core'

import { FBNET_LAYERS, FBNET_OPS } from '@nasjs/search-space'

import { FBNET_SETTINGS, parseFbnetArch, type FbnetArchLike, type FbnetLatencyBenchmark } from './fbnet.js'

const NOPS = FBNET_OPS.length
const REF = NOPS - 1 // `skip` is the reference op: its entries are 0 and the bias absorbs it
const NFEAT = 1 + FBNET_LAYERS * (NOPS - 1)

/**
 * A per-layer, per-op latency lookup table (the ProxylessNAS / Once-for-All idea): the latency of
 * a network is predicted as a fixed overhead (stem, head, ...) plus one table entry per layer for the
 * block chosen there. Entries are in ms; `skip` entries are 0 (the reference op).
 * @since 0.1.0
 */
export interface LatencyLut {
  readonly setting: string
  /** Fixed overhead in ms: the predicted latency of the all-`skip` network. */
  readonly bias: number
  /** `table[layer][op]` in ms, ops in `FBNET_OPS` order (`@nasjs/search-space`). */
  readonly table: readonly (readonly number[])[]
  /** The number of architectures it was fitted on. */
  readonly trainSize: number
  /** The predicted latency (ms) of any FBNet architecture. */
  predict(arch: FbnetArchLike): number
}

/**
 * How well a LUT predicts held-out architectures.
 * @since 0.1.0
 */
export interface LutReport {
  readonly setting: string
  readonly trainSize: number
  readonly testSize: number
  /** Coefficient of determination on the training set. */
  readonly r2Train: number
  /** Coefficient of determination on the held-out set: `1 - SS_res / SS_tot`. */
  readonly r2: number
  /** Kendall's tau between predicted and measured latency on the held-out set. */
  readonly kendallTau: number
  /** Root mean squared error (ms) and mean absolute percentage error (%) on the held-out set. */
  readonly rmse: number
  readonly mape: number
}

/**
 * Options of {@link fitLatencyLuts}.
 * @since 0.1.0
 */
export interface FitLutOptions {
  /** Sample indices to fit on (default: all 5,000). */
  readonly train?: readonly number[]
  /** Settings to fit (default: all 27). */
  readonly settings?: readonly string[]
  /** L2 penalty on the table entries (default 0: ordinary least squares). */
  readonly ridge?: number
}

/** Cholesky factor (lower, row-major n x n) of a symmetric matrix, or `undefined` if not positive definite. */
function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!
      if (i === j) {
        if (!(s > 1e-12 * Math.max(1, a[i * n + i]!))) return undefined
        l[i * n + i] = Math.sqrt(s)
      } else l[i * n + j] = s / l[j * n + j]!
    }
  }
  return l
}

function cholSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = b[i]!
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!
    y[i] = s / l[i * n + i]!
  }
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!
    x[i] = s / l[i * n + i]!
  }
  return x
}

function features(ops: ArrayLike<number>, offset: number, out: number[]): number[] {
  out.length = 0
  out.push(0)
  for (let l = 0; l < FBNET_LAYERS; l++) {
    const o = ops[offset + l]!
    if (o !== REF) out.push(1 + l * (NOPS - 1) + o)
  }
  return out
}

function makeLut(setting: string, coef: Float64Array, trainSize: number): LatencyLut {
  const table = Array.from({ length: FBNET_LAYERS }, (_, l) =>
    Object.freeze(Array.from({ length: NOPS }, (_, o) => (o === REF ? 0 : coef[1 + l * (NOPS - 1) + o]!))),
  )
  const bias = coef[0]!
  return Object.freeze({
    setting,
    bias,
    table: Object.freeze(table),
    trainSize,
    predict(arch: FbnetArchLike): number {
      const ops = parseFbnetArch(arch)
      let s = bias
      for (let l = 0; l < FBNET_LAYERS; l++) s += table[l]![ops[l]!]!
      return s
    },
  })
}

/**
 * Fits one latency LUT per device setting by (optionally ridge-regularised) least squares on the
 * measured FBNet latencies: `latency ~ bias + sum_l table[l][op_l]`, with `skip` as the reference op
 * of each layer so the design has full rank. All settings share one Cholesky factorisation of the
 * normal equations (177 unknowns).
 *
 * @example
 * ```ts
 * const [lut] = fitLatencyLuts(loadFbnet(), { settings: ['pixel3'] })
 * lut.predict('k3_e1 k3_e1 ... skip') // ms
 * ```
 * @since 0.1.0
 */
export function fitLatencyLuts(bench: FbnetLatencyBenchmark, opts: FitLutOptions = {}): LatencyLut[] {
  const train = opts.train ?? Array.from({ length: bench.size }, (_, i) => i)
  const settings = opts.settings ?? FBNET_SETTINGS
  const cols = settings.map((s) => bench.column(s))
  if (train.length < NFEAT) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `fitting a ${NFEAT}-entry latency LUT needs at least ${NFEAT} training architectures, got ${train.length}`,
      value: train.length,
    })
  }
  for (const i of train) {
    if (!Number.isInteger(i) || i < 0 || i >= bench.size) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `training index ${i} is outside 0..${bench.size - 1}`,
        value: i,
      })
    }
  }
  const g = new Float64Array(NFEAT * NFEAT)
  const rhs = cols.map(() => new Float64Array(NFEAT))
  const f: number[] = []
  for (const i of train) {
    features(bench.ops, i * FBNET_LAYERS, f)
    for (const a of f) for (const b of f) g[a * NFEAT + b]! += 1
    cols.forEach((c, s) => {
      const y = c[i]!
      for (const a of f) rhs[s]![a]! += y
    })
  }
  const solve = (ridge: number) => {
    const m = g.slice()
    for (let a = 1; a < NFEAT; a++) m[a * NFEAT + a]! += ridge
    return cholesky(m, NFEAT)
  }
  const ridge = opts.ridge ?? 0
  let l = solve(ridge)
  if (l === undefined && ridge === 0) l = solve(1e-8 * train.length) // an op never chosen at some layer
  if (l === undefined) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message:
        'the latency LUT design is singular; pass a positive ridge or more varied training architectures',
    })
  }
  return settings.map((s, k) => makeLut(s, cholSolve(l, NFEAT, rhs[k]!), train.length))
}

/**
 * {@link fitLatencyLuts} for one setting.
 * @since 0.1.0
 */
export function fitLatencyLut(
  bench: FbnetLatencyBenchmark,
  setting: string,
  opts: Omit<FitLutOptions, 'settings'> = {},
): LatencyLut {
  return fitLatencyLuts(bench, { ...opts, settings: [setting] })[0]!
}

const r2 = (y: readonly number[], p: readonly number[]) => {
  const mean = y.reduce((a, b) => a + b, 0) / y.length
  let res = 0
  let tot = 0
  for (let i = 0; i < y.length; i++) {
    res += (y[i]! - p[i]!) ** 2
    tot += (y[i]! - mean) ** 2
  }
  return tot > 0 ? 1 - res / tot : 0
}

/**
 * Fits LUTs on a random split and scores them on the held-out architectures, per device setting:
 * R^2, Kendall's tau, RMSE and MAPE.
 *
 * @example
 * ```ts
 * for (const r of evaluateLatencyLuts(loadFbnet(), { seed: 0 })) console.log(r.setting, r.r2, r.kendallTau)
 * ```
 * @since 0.1.0
 */
export function evaluateLatencyLuts(
  bench: FbnetLatencyBenchmark,
  opts: {
    readonly testFraction?: number
    readonly seed?: number
    readonly settings?: readonly string[]
    readonly ridge?: number
  } = {},
): LutReport[] {
  const frac = opts.testFraction ?? 0.2
  if (!(frac > 0 && frac < 1)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `testFraction must be in (0, 1), got ${frac}`,
      value: frac,
    })
  }
  const order = new Rng(opts.seed ?? 0).shuffle(Array.from({ length: bench.size }, (_, i) => i))
  const nTest = Math.round(bench.size * frac)
  const test = order.slice(0, nTest)
  const train = order.slice(nTest)
  const luts = fitLatencyLuts(bench, {
    train,
    ...(opts.settings !== undefined ? { settings: opts.settings } : {}),
    ...(opts.ridge !== undefined ? { ridge: opts.ridge } : {}),
  })
  return luts.map((lut) => {
    const col = bench.column(lut.setting)
    const predictIdx = (i: number) => lut.predict(bench.archAt(i))
    const yTr = train.map((i) => col[i]!)
    const pTr = train.map(predictIdx)
    const y = test.map((i) => col[i]!)
    const p = test.map(predictIdx)
    let se = 0
    let ape = 0
    for (let i = 0; i < y.length; i++) {
      se += (y[i]! - p[i]!) ** 2
      ape += Math.abs((y[i]! - p[i]!) / y[i]!)
    }
    return {
      setting: lut.setting,
      trainSize: train.length,
      testSize: test.length,
      r2Train: r2(yTr, pTr),
      r2: r2(y, p),
      kendallTau: kendallTau(p, y),
      rmse: Math.sqrt(se / y.length),
      mape: (100 * ape) / y.length,
    }
  })
}

/**
 * A fitted FBNet LUT in the latency-table format every nasjs latency table shares (`LatencyTable` of
 * `@nasjs/core`), so `predictLatency` of `@nasjs/models` and the `latency.lut` objective read it as they
 * read a table measured here. Its keys are FBNet's own: `layer<l>:<op>` (the entries of
 * `lut.table`, `skip` 0), with `stem` and `head` at 0 because the bias holds them.
 *
 * @example
 * ```ts
 * const table = latencyTableOfLut(fitLatencyLut(loadFbnet(), 'pixel3_1'))
 * writeFileSync('pixel3.json', JSON.stringify(table))
 * ```
 * @since 0.1.0
 */
export function latencyTableOfLut(lut: LatencyLut): LatencyTable {
  // only the GPU settings end in a batch size (essential_ph_1 is a phone, gold_6226 a CPU)
  const m = /^(1080ti|2080ti|titan_rtx|titanx|titanxp)_(\d+)$/.exec(lut.setting)
  const entries: LatencyTable['entries'] = { stem: { ms: 0 }, head: { ms: 0 } }
  lut.table.forEach((row, l) => row.forEach((ms, o) => (entries[`layer${l}:${FBNET_OPS[o]!}`] = { ms })))
  return {
    format: LATENCY_TABLE_FORMAT,
    version: LATENCY_TABLE_VERSION,
    space: 'fbnet',
    source: 'fitted',
    device: {
      name: m?.[1] ?? lut.setting,
      description: `fitted by least squares to HELP's measured FBNet latencies (${lut.setting})`,
    },
    versions: { data: 'help_fbnet_latency_27devices' },
    setting: { batch: m === null ? 1 : Number(m[2]) },
    unit: 'ms',
    overhead: lut.bias,
    entries,
    fit: { networks: lut.trainSize },
  }
}
