import { NasError, Rng, kendallTau, spearmanRho } from '@nasjs/core'
import type { FeatureMatrix, FitOptions, Predictor } from './types.js'

/**
 * Root mean squared error between predictions and targets.
 * @example rmse([1, 2], [1, 4]) // 1.414...
 * @since 0.1.0
 * @category metrics
 */
export function rmse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  if (pred.length !== target.length || pred.length === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `rmse needs two non-empty samples of equal length, got ${pred.length} and ${target.length}`,
      value: [pred.length, target.length],
    })
  }
  let s = 0
  for (let i = 0; i < pred.length; i++) s += (pred[i]! - target[i]!) ** 2
  return Math.sqrt(s / pred.length)
}

/**
 * A predictor entry of the harness: a label for the table and the predictor; `features`, when
 * given, selects this entry's own feature matrix (e.g. a different encoding) by key of
 * {@link HarnessOptions.features}.
 * @since 0.1.0
 */
export interface HarnessEntry {
  readonly label: string
  readonly predictor: Predictor
  readonly features?: string
  /** Extra fit options, e.g. `pretrain` data for FBNetV3-style pretraining. */
  readonly fitOptions?: Omit<FitOptions, 'rng'>
}

/**
 * Options of {@link runPredictorHarness}.
 * @since 0.1.0
 */
export interface HarnessOptions {
  readonly entries: readonly HarnessEntry[]
  /** Feature matrices of the whole pool by name; every matrix has one row per pool architecture. */
  readonly features: Readonly<Record<string, FeatureMatrix>>
  /** The name in `features` used by entries without their own. */
  readonly defaultFeatures: string
  /** Targets of the whole pool (e.g. validation accuracy), one per row. */
  readonly y: ArrayLike<number>
  readonly trainSizes: readonly number[]
  readonly testSize: number
  readonly seeds: readonly number[]
  /** Called after each fit, e.g. for progress output. */
  readonly onResult?: (row: HarnessRow) => void
}

/**
 * One fit of the harness.
 * @since 0.1.0
 */
export interface HarnessRow {
  readonly label: string
  readonly n: number
  readonly seed: number
  readonly kendallTau: number
  readonly spearmanRho: number
  readonly rmse: number
  /** Wall-clock milliseconds of `fit` and of predicting the test set. */
  readonly fitMs: number
  readonly predictMs: number
}

/**
 * The predictor-evaluation protocol of White et al. (2021, "How powerful are performance
 * predictors in neural architecture search?"): per seed, a random test set of `testSize`
 * architectures and nested random training sets of each size from the rest; every predictor is fit
 * on each training set and scored on the test set (Kendall tau, Spearman rho, RMSE, fit and predict
 * time).
 *
 * @example
 * ```ts
 * const rows = await runPredictorHarness({ entries: [{ label: 'ridge', predictor: ridge() }],
 *   features: { onehot: X }, defaultFeatures: 'onehot', y, trainSizes: [20, 100], testSize: 1000, seeds: [0, 1] })
 * console.log(formatHarnessTable(summarizeHarness(rows)))
 * ```
 * @since 0.1.0
 * @category metrics
 */
export async function runPredictorHarness(opts: HarnessOptions): Promise<HarnessRow[]> {
  const pool = opts.y.length
  const maxN = Math.max(...opts.trainSizes)
  if (opts.testSize + maxN > pool) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the pool has ${pool} architectures, fewer than testSize ${opts.testSize} + the largest train size ${maxN}`,
      value: opts.testSize + maxN,
      allowed: [`<= ${pool}`],
    })
  }
  for (const [name, X] of Object.entries(opts.features)) {
    if (X.length !== pool) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `features '${name}' has ${X.length} rows but y has ${pool}`,
        value: X.length,
        allowed: [pool],
      })
    }
  }
  const rows: HarnessRow[] = []
  for (const seed of opts.seeds) {
    const order = new Rng(seed).shuffle(Array.from({ length: pool }, (_, i) => i))
    const test = order.slice(0, opts.testSize)
    const yTest = test.map((i) => opts.y[i]!)
    for (const n of opts.trainSizes) {
      const train = order.slice(opts.testSize, opts.testSize + n)
      const yTrain = train.map((i) => opts.y[i]!)
      for (const e of opts.entries) {
        const key = e.features ?? opts.defaultFeatures
        const X = opts.features[key]
        if (X === undefined) {
          throw new NasError({
            code: 'NOT_REGISTERED',
            message: `entry '${e.label}' asks for features '${key}'; expected one of ${Object.keys(opts.features).join(', ')}`,
            value: key,
            allowed: Object.keys(opts.features),
          })
        }
        const t0 = performance.now()
        const fitted = await e.predictor.fit(
          train.map((i) => X[i]!),
          yTrain,
          { ...e.fitOptions, rng: new Rng(seed * 7919 + n) },
        )
        const t1 = performance.now()
        const pred = fitted.predict(test.map((i) => X[i]!))
        const t2 = performance.now()
        fitted.dispose()
        const row: HarnessRow = {
          label: e.label,
          n,
          seed,
          kendallTau: kendallTau(pred.mean, yTest),
          spearmanRho: spearmanRho(pred.mean, yTest),
          rmse: rmse(pred.mean, yTest),
          fitMs: t1 - t0,
          predictMs: t2 - t1,
        }
        rows.push(row)
        opts.onResult?.(row)
      }
    }
  }
  return rows
}

/**
 * Harness rows averaged over seeds (mean and standard deviation of Kendall tau; means of the rest).
 * @since 0.1.0
 */
export interface HarnessSummary {
  readonly label: string
  readonly n: number
  readonly seeds: number
  readonly kendallTau: number
  readonly kendallTauStd: number
  readonly spearmanRho: number
  readonly rmse: number
  readonly fitMs: number
  readonly predictMs: number
}

/**
 * Averages harness rows over seeds, per (label, n), in first-seen order.
 * @since 0.1.0
 * @category metrics
 */
export function summarizeHarness(rows: readonly HarnessRow[]): HarnessSummary[] {
  const groups = new Map<string, HarnessRow[]>()
  for (const r of rows) {
    const k = `${r.label}\u0000${r.n}`
    const g = groups.get(k)
    if (g) g.push(r)
    else groups.set(k, [r])
  }
  const mean = (g: HarnessRow[], f: (r: HarnessRow) => number) => g.reduce((s, r) => s + f(r), 0) / g.length
  return [...groups.values()].map((g) => {
    const tau = mean(g, (r) => r.kendallTau)
    const sd = Math.sqrt(mean(g, (r) => (r.kendallTau - tau) ** 2))
    return {
      label: g[0]!.label,
      n: g[0]!.n,
      seeds: g.length,
      kendallTau: tau,
      kendallTauStd: sd,
      spearmanRho: mean(g, (r) => r.spearmanRho),
      rmse: mean(g, (r) => r.rmse),
      fitMs: mean(g, (r) => r.fitMs),
      predictMs: mean(g, (r) => r.predictMs),
    }
  })
}

/**
 * A markdown table of a harness summary: one row per predictor and training size.
 * @since 0.1.0
 * @category metrics
 */
export function formatHarnessTable(summary: readonly HarnessSummary[]): string {
  const lines = [
    '| predictor | n | Kendall tau | Spearman rho | RMSE | fit ms | predict ms (1k) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const s of summary) {
    lines.push(
      `| ${s.label} | ${s.n} | ${s.kendallTau.toFixed(3)} ± ${s.kendallTauStd.toFixed(3)} | ${s.spearmanRho.toFixed(3)} | ${s.rmse.toFixed(2)} | ${fmtMs(s.fitMs)} | ${fmtMs(s.predictMs)} |`,
    )
  }
  return lines.join('\n')
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1))
